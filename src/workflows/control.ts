import { ApplicationFailure, condition, upsertSearchAttributes, workflowInfo } from '@temporalio/workflow';
import { budgetQuestion } from '../domain/budget';
import { RefusalType } from '../domain/errors';
import { can, transition, type ExecutionEvent } from '../domain/execution-machine';
import { historyPressure } from '../domain/history-budget';
import type { ExecutionRecord } from '../domain/execution-record';
import { answerProblem, readBudget, type Answer } from '../domain/questions';
import type { Awaiting, ExecutionInput } from '../domain/types';
import { InputExpired, StoppedByPerson } from './failures';
import { executionStatusKey } from './messages';

/** A control message the current state does not allow, or an answer that does not fit the question. */
export interface Refusal {
  type: RefusalType;
  message: string;
}

/**
 * The state a person steers: the pause gate, the question waiting for an answer, the budget, the
 * cancel reason. Plain code: the workflow file wires signals and updates to it; the execution and
 * the step runner wait on it.
 */
export class Control {
  cancelReason: string | null = null;
  /** Told after every published state change (the execution's subscribers are notified from it). */
  onPublish: (() => void) | null = null;
  private question: Awaiting | null = null;
  private answer: Answer | null = null;
  private answeredBy: string | null = null;
  /** A budget a person raised; until then the input's (which a schedule's run resolves first). */
  private raisedBudgetUsd: number | null | undefined = undefined;

  constructor(
    private readonly record: ExecutionRecord,
    private readonly input: ExecutionInput,
    /** Whether the history guard applies (executions started by the reshaped core). */
    private readonly guardHistory: boolean,
  ) {}

  private get budgetUsd(): number | null {
    return this.raisedBudgetUsd === undefined ? this.input.options.budgetUsd : this.raisedBudgetUsd;
  }

  /** Applies `event` to the record and publishes the new status to visibility. */
  transition(event: ExecutionEvent, description: string, data?: Record<string, unknown>): void {
    this.record.apply(event, description, data);
    this.publishStatus();
  }

  publishStatus(): void {
    upsertSearchAttributes([{ key: executionStatusKey, value: this.record.current }]);
    this.onPublish?.();
  }

  /** Why `event` is not allowed now, or null when it is. */
  refusalOf(event: ExecutionEvent): Refusal | null {
    const outcome = transition(this.record.current, event);
    if (!outcome.ok) return { type: RefusalType.INVALID_STATE_TRANSITION, message: outcome.reason };
    // A pause would not end the execution, only lengthen a history near its limit.
    const pressure = event === 'pause' ? this.historyPressure() : null;
    return pressure === null ? null : { type: RefusalType.HISTORY_LIMIT, message: `cannot pause: ${pressure}` };
  }

  /** Why the execution must not take on more work (its history is near Temporal's limit), or null. */
  historyPressure(): string | null {
    if (!this.guardHistory) return null;
    const { historyLength, historySize } = workflowInfo();
    return historyPressure({ length: historyLength, bytes: historySize });
  }

  /** Why `answer` cannot be taken now, or null when it can. */
  answerRefusal(answer: Answer): Refusal | null {
    if (this.record.current !== 'awaiting_input' || this.question === null || this.answer !== null) {
      return {
        type: RefusalType.INVALID_STATE_TRANSITION,
        message: `cannot answer an execution that is ${this.record.current}`,
      };
    }
    const problem = answerProblem(this.question.kind, answer ?? {}, this.input.modelAvailable);
    return problem === null ? null : { type: RefusalType.INVALID_INPUT, message: problem };
  }

  /** Takes an answer that `answerRefusal` accepted; the waiting `ask` returns it. */
  takeAnswer(answer: Answer & { by?: string }): void {
    const { by, ...rest } = answer;
    this.answer = rest;
    this.answeredBy = typeof by === 'string' ? by : null;
  }

  /** Throws the refusal as the failure an update's validator answers with. */
  static refuse(refusal: Refusal | null): void {
    if (refusal !== null) throw ApplicationFailure.nonRetryable(refusal.message, refusal.type);
  }

  /** Waits while the execution is paused; called before anything new starts. */
  async gate(): Promise<void> {
    if (this.record.current === 'paused') await condition(() => this.record.current !== 'paused');
  }

  /** Waits in `awaiting_input` for a person's answer, at most `inputTimeoutMs`. */
  async ask(kind: Awaiting['kind'], prompt: string, stepId: string | null): Promise<Answer> {
    // Parallel steps take turns: one question at a time.
    await condition(() => this.question === null);
    await this.gate();
    this.question = { kind, prompt, since: new Date().toISOString() };
    this.answer = null;
    this.record.setAwaiting(this.question);
    this.transition('await_input', prompt, { awaiting: kind, stepId });
    const answered = await condition(() => this.answer !== null, this.input.options.inputTimeoutMs);
    if (!answered) throw new InputExpired();
    const answer = this.answer ?? {};
    this.question = null;
    this.answer = null;
    this.record.setAwaiting(null);
    this.transition('input_received', `answered: ${kind}`, {
      awaiting: kind,
      ...(this.answeredBy === null ? {} : { by: this.answeredBy }),
    });
    this.answeredBy = null;
    return answer;
  }

  /**
   * Before a model call or a sandbox run: when the cost so far plus an estimate of this one would
   * pass the budget, waits in `awaiting_input` for a raise, or stops the execution.
   */
  async withinBudget(what: 'a model call' | 'a sandbox run', stepId: string | null): Promise<void> {
    for (;;) {
      const prompt = budgetQuestion({
        budgetUsd: this.budgetUsd,
        spentUsd: this.record.spentUsd(),
        estimateUsd: this.record.estimateUsd(what === 'a model call' ? 'model' : 'sandbox'),
        what,
      });
      if (prompt === null) return;
      const raised = readBudget(await this.ask('budget', prompt, stepId));
      if (raised === null) throw new StoppedByPerson('stopped at the budget');
      this.record.log('info', `budget raised from $${this.budgetUsd} to $${raised}`, stepId);
      this.raisedBudgetUsd = raised;
    }
  }

  /**
   * Called before the first model call or sandbox run of a step: a `starting` execution becomes
   * `running`. Refused given code therefore fails the execution while it is still starting.
   */
  beginRunning(): void {
    if (can(this.record.current, 'run')) this.transition('run', 'steps begin');
  }
}
