import {
  ActivityCancellationType,
  ActivityFailure,
  ApplicationFailure,
  CancellationScope,
  allHandlersFinished,
  condition,
  isCancellation,
  log,
  patched,
  proxyActivities,
  setHandler,
  sleep,
  upsertSearchAttributes,
  type ActivityOptions,
} from '@temporalio/workflow';
import type { Activities } from '../activities';
import { answerProblem, readBudget, readRecovery, type Answer } from '../domain/answers';
import { ErrorType } from '../domain/errors';
import { can, type ExecutionEvent } from '../domain/execution-machine';
import { ExecutionRecord } from '../domain/execution-record';
import { orderSteps } from '../domain/plan-graph';
import { isRecoverable, REGENERATE_HINTS, strategyFor } from '../domain/recovery';
import type {
  ArtifactRef,
  Awaiting,
  ExecuteOutcome,
  ExecutionInput,
  ExecutionSnapshot,
  Plan,
  PlanStep,
} from '../domain/types';
import {
  cancelSignal,
  checkpointsQuery,
  executionStatusKey,
  inputUpdate,
  pauseUpdate,
  resumeUpdate,
  snapshotQuery,
  statusQuery,
} from './messages';

/** Model calls: transient endpoint faults are retried with backoff; refusals are not. */
export const LLM_ACTIVITY: ActivityOptions = {
  startToCloseTimeout: '3 minutes',
  retry: {
    initialInterval: '1 second',
    backoffCoefficient: 2,
    maximumInterval: '30 seconds',
    maximumAttempts: 5,
    nonRetryableErrorTypes: [ErrorType.LLM_ERROR, ErrorType.MODEL_NOT_CONFIGURED],
  },
  cancellationType: ActivityCancellationType.TRY_CANCEL,
};

/** Quick local checks. */
export const CHECK_ACTIVITY: ActivityOptions = {
  startToCloseTimeout: '30 seconds',
  retry: { maximumAttempts: 3 },
};

/**
 * Sandbox runs heartbeat, so a lost worker is noticed within the heartbeat timeout and the run
 * retried elsewhere; on cancellation the workflow waits until the sandbox is really gone.
 */
export function sandboxActivity(stepTimeoutMs: number): ActivityOptions {
  return {
    startToCloseTimeout: stepTimeoutMs + 60_000,
    heartbeatTimeout: '15 seconds',
    retry: {
      initialInterval: '1 second',
      backoffCoefficient: 2,
      maximumAttempts: 4,
      nonRetryableErrorTypes: [ErrorType.ARTIFACT_MISSING, ErrorType.VALIDATION_ERROR],
    },
    cancellationType: ActivityCancellationType.WAIT_CANCELLATION_COMPLETED,
  };
}

const llm = proxyActivities<Activities>(LLM_ACTIVITY);
const checks = proxyActivities<Activities>(CHECK_ACTIVITY);

const CODE_STEP: PlanStep = { id: 'main', title: 'Run the given code', description: '', dependsOn: [] };

/** A question to a person went unanswered for longer than `inputTimeoutMs`. */
class InputExpired extends Error {}

/** A person chose to stop the execution (at a budget question). */
class StoppedByPerson extends Error {}

interface AttemptFailure {
  ok: false;
  code: ErrorType;
  message: string;
  stdout: string;
}

type StepOutcome = { ok: true; files: ArtifactRef[] } | { ok: 'skipped'; dependents: 'skip' | 'run' } | AttemptFailure;

/**
 * One execution of a task: plan, then for each step generate, validate and run code (again with the
 * error as context after a failed run), then analyze. The state machine lives in ExecutionRecord;
 * this function only sequences activities and answers signals, updates and queries.
 */
export async function executionWorkflow(input: ExecutionInput): Promise<ExecutionSnapshot> {
  return new Execution(input).run();
}

class Execution {
  private readonly record: ExecutionRecord;
  private readonly sandbox: Pick<Activities, 'executeCode'>;
  private readonly main = new CancellationScope();
  private cancelReason: string | null = null;
  private timedOut = false;
  private question: Awaiting | null = null;
  private answer: Answer | null = null;
  private budgetUsd: number | null;

  constructor(private readonly input: ExecutionInput) {
    this.record = new ExecutionRecord(input, () => new Date());
    this.budgetUsd = input.options.budgetUsd;
    this.sandbox = proxyActivities<Activities>(sandboxActivity(input.options.stepTimeoutMs));
    this.registerHandlers();
  }

  async run(): Promise<ExecutionSnapshot> {
    const { record, input } = this;
    this.transition('start', 'init', 'EXECUTION_STARTED', 'a worker took the execution');

    // The deadline runs outside `main` so it can cancel it.
    sleep(input.options.timeoutMs).then(
      () => {
        if (record.isFinished) return;
        this.timedOut = true;
        this.main.cancel();
      },
      () => undefined, // the whole workflow was cancelled: nothing left to time out
    );

    try {
      await this.main.run(() => this.work());
    } catch (error) {
      if (error instanceof InputExpired) {
        record.timeOut(`no answer within ${input.options.inputTimeoutMs} ms`);
      } else if (error instanceof StoppedByPerson) {
        record.cancel(error.message);
      } else if (isCancellation(error)) {
        if (this.timedOut) record.timeOut(`the execution ran past its ${input.options.timeoutMs} ms deadline`);
        else record.cancel(this.cancelReason ?? 'cancelled through Temporal');
      } else {
        log.error('execution failed unexpectedly', { error: describe(error) });
        record.fail({ code: failureType(error), message: describe(error), stepId: null, recoverable: false });
      }
    }
    this.publishStatus();
    await condition(allHandlersFinished);
    return record.snapshot();
  }

  private registerHandlers(): void {
    const { record } = this;
    setHandler(statusQuery, () => record.current);
    setHandler(snapshotQuery, () => record.snapshot());
    setHandler(checkpointsQuery, () => record.checkpoints());
    setHandler(cancelSignal, ({ reason } = {}) => {
      if (this.cancelReason !== null || record.isFinished) return;
      this.cancelReason = reason?.trim() || 'cancelled on request';
      record.log('info', `cancel requested: ${this.cancelReason}`);
      this.main.cancel();
    });
    setHandler(
      pauseUpdate,
      ({ reason } = {}) => {
        this.transition('pause', 'pause', 'EXECUTION_PAUSED', reason?.trim() || 'paused on request');
        return record.current;
      },
      { validator: (_request?: { reason?: string }) => this.refuseUnless('pause') },
    );
    setHandler(
      resumeUpdate,
      ({ reason } = {}) => {
        this.transition('resume', 'resume', 'EXECUTION_RESUMED', reason?.trim() || 'resumed on request');
        return record.current;
      },
      { validator: (_request?: { reason?: string }) => this.refuseUnless('resume') },
    );
    setHandler(
      inputUpdate,
      (answer) => {
        this.answer = answer;
        return record.current;
      },
      {
        validator: (answer) => {
          if (record.current !== 'awaiting_input' || this.question === null || this.answer !== null) {
            throw ApplicationFailure.nonRetryable(
              `cannot answer an execution that is ${record.current}`,
              'INVALID_STATE_TRANSITION',
            );
          }
          const problem = answerProblem(this.question.kind, answer ?? {}, this.input.modelAvailable);
          if (problem !== null) throw ApplicationFailure.nonRetryable(problem, 'INVALID_INPUT');
        },
      },
    );
  }

  private refuseUnless(event: ExecutionEvent): void {
    if (!can(this.record.current, event)) {
      throw ApplicationFailure.nonRetryable(
        `cannot ${event} an execution that is ${this.record.current}`,
        'INVALID_STATE_TRANSITION',
      );
    }
  }

  private transition(
    event: ExecutionEvent,
    type: Parameters<ExecutionRecord['apply']>[1],
    name: string,
    description: string,
    data?: Record<string, unknown>,
  ): void {
    this.record.apply(event, type, name, description, data);
    this.publishStatus();
  }

  private publishStatus(): void {
    upsertSearchAttributes([{ key: executionStatusKey, value: this.record.current }]);
  }

  /** Waits while the execution is paused; called before anything new starts. */
  private async gate(): Promise<void> {
    if (this.record.current === 'paused') await condition(() => this.record.current !== 'paused');
  }

  /** Waits in `awaiting_input` for a person's answer, at most `inputTimeoutMs`. */
  private async ask(kind: Awaiting['kind'], prompt: string, stepId: string | null): Promise<Answer> {
    // Parallel steps take turns: one question at a time.
    await condition(() => this.question === null);
    await this.gate();
    this.question = { kind, prompt, since: new Date().toISOString() };
    this.answer = null;
    this.record.setAwaiting(this.question);
    this.transition('await_input', 'wait', 'EXECUTION_PAUSED', prompt, { awaiting: kind, stepId });
    const answered = await condition(() => this.answer !== null, this.input.options.inputTimeoutMs);
    if (!answered) throw new InputExpired();
    const answer = this.takeAnswer();
    this.question = null;
    this.answer = null;
    this.record.setAwaiting(null);
    this.transition('input_received', 'resume', 'EXECUTION_RESUMED', `answered: ${kind}`, { awaiting: kind });
    return answer;
  }

  private takeAnswer(): Answer {
    const answer = this.answer ?? {};
    this.answer = null;
    return answer;
  }

  private async work(): Promise<void> {
    const { record, input } = this;
    this.transition('run', 'step', 'TASK_STARTED', 'work began');

    const plan = await this.makePlan();
    record.setPlan(plan);
    if (input.parentId) {
      const reused = Object.keys(input.reuse ?? {});
      record.addEvent('step', 'RECOVERY_INITIATED', `retrying execution ${input.parentId}`, null, {
        strategy: 'restore',
        parentId: input.parentId,
        reused,
        withCode: Object.keys(input.stepCode ?? {}),
      });
    }

    if (input.options.requireApproval) {
      const answer = await this.ask('approval', `Approve the plan of ${plan.steps.length} step(s)?`, null);
      if (answer.approve !== true) {
        const why = typeof answer.input === 'string' && answer.input.trim() !== '' ? `: ${answer.input.trim()}` : '';
        record.cancel(`the plan was rejected${why}`);
        return;
      }
      record.log('info', 'the plan was approved');
    }

    const failure = await this.runSteps(plan);

    const canAnalyze = input.modelAvailable && input.task !== null;
    if (failure === null) {
      const outputs = record.outputs();
      let analysis: string | null = null;
      if (canAnalyze) {
        await this.gate();
        await this.withinBudget('a model call', null);
        record.setPhase('analyzing', null);
        const stdout = record
          .snapshot()
          .steps.map((step) => step.attempts.find((attempt) => attempt.status === 'succeeded')?.stdout ?? '')
          .join('\n');
        const answer = await llm.analyze({
          executionId: input.executionId,
          task: input.task as string,
          plan,
          outcome: 'succeeded',
          stdout,
          results: outputs.data === null ? [] : [String(outputs.data)],
          files: outputs.files.map((file) => file.name),
          error: null,
          model: input.options.model,
        });
        record.addTokens(answer.usage);
        analysis = answer.analysis;
      }
      await this.gate();
      record.succeed({ analysis, outputs: { plots: outputs.plots, data: outputs.data }, files: outputs.files });
      return;
    }

    let message = failure.outcome.message;
    if (canAnalyze) {
      await this.gate();
      await this.withinBudget('a model call', null);
      record.setPhase('analyzing', null);
      const answer = await llm.analyze({
        executionId: input.executionId,
        task: input.task as string,
        plan,
        outcome: 'failed',
        stdout: failure.outcome.stdout,
        results: [],
        files: [],
        error: failure.outcome.message,
        model: input.options.model,
      });
      record.addTokens(answer.usage);
      message = answer.analysis;
    }
    await this.gate();
    record.fail({ code: failure.outcome.code, message, stepId: failure.stepId, recoverable: false });
  }

  /**
   * Runs the plan's steps, each as soon as the steps it depends on are done, so independent steps
   * run in parallel. A step gets the uploaded files and every file its ancestors wrote. After a
   * failed step nothing new starts; steps already running finish, so their outputs are kept.
   */
  private async runSteps(plan: Plan): Promise<{ stepId: string; outcome: AttemptFailure } | null> {
    const { record, input } = this;
    const order = orderSteps(plan) ?? plan.steps;
    const byId = new Map(plan.steps.map((step) => [step.id, step]));
    const produced = new Map<string, ArtifactRef[]>();
    const running = new Map<string, Promise<void>>();
    const branching = plan.steps.length > 1;
    // Executions started before steps ran in parallel replay one step at a time.
    const parallel = patched('parallel-steps');
    let failure: { stepId: string; outcome: AttemptFailure } | null = null;

    const ancestors = (stepId: string, seen = new Set<string>()): Set<string> => {
      for (const dependency of byId.get(stepId)?.dependsOn ?? []) {
        if (!seen.has(dependency)) {
          seen.add(dependency);
          ancestors(dependency, seen);
        }
      }
      return seen;
    };
    const inputsOf = (step: PlanStep): ArtifactRef[] => {
      const files = new Map(input.files.map((file) => [file.name, file]));
      for (const earlier of order) {
        if (!ancestors(step.id).has(earlier.id)) continue;
        for (const file of produced.get(earlier.id) ?? []) files.set(file.name, file);
      }
      return [...files.values()];
    };

    // Steps after a skipped one count as done, without running and without outputs.
    const skipDependents = (stepId: string) => {
      for (const step of order) {
        if (produced.has(step.id) || running.has(step.id) || !ancestors(step.id).has(stepId)) continue;
        record.skipStep(step.id);
        produced.set(step.id, []);
      }
    };

    for (;;) {
      if (failure === null) {
        for (const step of order) {
          if (!parallel && running.size > 0) break;
          if (produced.has(step.id) || running.has(step.id)) continue;
          if (!step.dependsOn.every((dependency) => produced.has(dependency))) continue;
          // In plan order a reused step comes before its dependents, so they start in this same pass.
          const reused = input.reuse?.[step.id];
          if (reused) {
            record.reuse(reused);
            produced.set(step.id, reused.files);
            continue;
          }
          if (branching) record.addEvent('init_branch', 'TASK_STARTED', `branch ${step.id} started`, step.id);
          const branch = this.runStep(plan, step, inputsOf(step)).then((outcome) => {
            running.delete(step.id);
            if (branching) {
              record.addEvent('finish_branch', 'TASK_COMPLETED', `branch ${step.id} ended`, step.id, {
                ok: outcome.ok === true,
              });
            }
            if (outcome.ok === true) produced.set(step.id, outcome.files);
            else if (outcome.ok === 'skipped') {
              produced.set(step.id, []);
              if (outcome.dependents === 'skip') skipDependents(step.id);
            } else failure ??= { stepId: step.id, outcome };
          });
          running.set(step.id, branch);
        }
      }
      if (running.size === 0) break;
      await Promise.race(running.values());
    }
    if (failure === null && produced.size < plan.steps.length) {
      const missing = plan.steps.filter((step) => !produced.has(step.id)).map((step) => step.id);
      return {
        stepId: missing[0],
        outcome: {
          ok: false,
          code: ErrorType.INTERNAL,
          message: `steps never became ready: ${missing.join(', ')}`,
          stdout: '',
        },
      };
    }
    return failure;
  }

  private async makePlan(): Promise<Plan> {
    const { record, input } = this;
    if (input.plan !== null) return input.plan;
    if (input.code !== null || input.task === null) return { steps: [CODE_STEP] };
    await this.gate();
    await this.withinBudget('a model call', null);
    record.setPhase('planning', null);
    record.addEvent('step', 'TASK_STARTED', 'planning', null);
    const answer = await llm.plan({
      executionId: input.executionId,
      task: input.task,
      files: input.files,
      model: input.options.model,
    });
    record.addTokens(answer.usage);
    record.addEvent('step', 'TASK_COMPLETED', `planned ${answer.plan.steps.length} step(s)`, null);
    return answer.plan;
  }

  private async runStep(plan: Plan, step: PlanStep, files: ArtifactRef[]): Promise<StepOutcome> {
    const { record, input } = this;
    record.startStep(step.id);
    let previousAttempts: Array<{ code: string; error: string }> = [];
    const hints: string[] = [];
    let last: AttemptFailure = { ok: false, code: ErrorType.INTERNAL, message: 'no attempt was made', stdout: '' };
    // Given code gets one run; with a model it may then be regenerated like generated code.
    const given = input.stepCode?.[step.id] ?? (input.plan === null ? input.code : null);
    let attemptsLeft = given !== null && !input.modelAvailable ? 1 : input.options.maxAttempts;
    let nextCode: string | null = given;
    let model = input.options.model;
    let mustAsk = false;
    const retries = new Map<string, number>();

    for (let n = 1; ; n++) {
      if (attemptsLeft === 0 || mustAsk) {
        if (input.options.onExhausted !== 'ask' && !mustAsk) break;
        mustAsk = false;
        const answer = await this.ask(
          'recovery',
          `Step "${step.id}" failed ${n - 1} time(s); last error: ${last.message.slice(0, 500)}. ` +
            'Send a hint or corrected code, or give up.',
          step.id,
        );
        const recovery = readRecovery(answer);
        if (recovery === null || recovery.kind === 'give_up') break;
        this.recovering(step.id, recovery.kind === 'hint' ? 'hint' : 'code', 'a person answered', {
          by: 'person',
        });
        if (recovery.kind === 'hint') hints.push(recovery.hint);
        else nextCode = recovery.code;
        attemptsLeft = 1;
      }
      attemptsLeft--;

      let code: string;
      if (nextCode !== null) {
        code = nextCode;
        nextCode = null;
      } else {
        await this.gate();
        await this.withinBudget('a model call', step.id);
        record.setPhase('generating', step.id);
        const generated = await llm.generateCode({
          executionId: input.executionId,
          task: input.task,
          plan,
          step,
          files,
          previousAttempts,
          hints,
          model,
        });
        record.addTokens(generated.usage);
        code = generated.code;
      }

      await this.gate();
      record.setPhase('validating', step.id);
      const report = await checks.validateCode({ code });
      let failure: AttemptFailure;
      if (!report.ok) {
        const message = `The code was refused before running: ${report.problems.join('; ')}`;
        record.recordAttempt(step.id, {
          status: 'failed',
          code,
          stdout: '',
          stderr: '',
          error: { code: ErrorType.VALIDATION_ERROR, message },
          durationMs: 0,
          files: [],
          results: [],
        });
        failure = { ok: false, code: ErrorType.VALIDATION_ERROR, message, stdout: '' };
      } else {
        await this.gate();
        await this.withinBudget('a sandbox run', step.id);
        record.setPhase('executing', step.id);
        record.addEvent('step', 'RESOURCE_ALLOCATED', `sandbox run ${n} of step ${step.id}`, step.id, {
          sandbox: input.options.sandbox,
        });
        const outcome = await this.sandbox.executeCode({
          executionId: input.executionId,
          stepId: step.id,
          attempt: n,
          code,
          files,
          timeoutMs: input.options.stepTimeoutMs,
          sandbox: input.options.sandbox,
        });
        record.addEvent('step', 'RESOURCE_RELEASED', `sandbox run ${n} of step ${step.id} ended`, step.id, {
          wallMs: outcome.usage.wallMs,
        });
        for (const message of outcome.messages ?? []) record.log(message.level, message.message, step.id);
        const message = outcome.ok ? null : attemptError(outcome);
        const errorCode = outcome.errorType ?? ErrorType.CODE_ERROR;
        record.recordAttempt(
          step.id,
          {
            status: outcome.ok ? 'succeeded' : 'failed',
            code,
            stdout: outcome.stdout,
            stderr: outcome.stderr,
            error: message === null ? null : { code: errorCode, message, traceback: outcome.error?.traceback },
            durationMs: outcome.usage.wallMs,
            files: outcome.files,
            results: outcome.results,
          },
          outcome.usage,
        );
        if (message === null) {
          record.finishStep(step.id, 'succeeded');
          record.checkpoint(step.id);
          return { ok: true, files: outcome.files };
        }
        failure = { ok: false, code: errorCode, message, stdout: outcome.stdout };
      }
      last = failure;

      // The failed attempt is answered by the strategy set for its error code.
      if (!isRecoverable(failure.code)) break;
      const strategy = strategyFor(failure.code, step.recovery, input.options.recovery);
      switch (strategy.strategy) {
        case 'abort':
          this.recovering(step.id, 'abort', `${failure.code}: the execution stops`);
          record.finishStep(step.id, 'failed');
          return last;
        case 'skip':
          this.recovering(step.id, 'skip', `${failure.code}: the step is skipped`, {
            dependents: strategy.dependents ?? 'skip',
          });
          record.skipStep(step.id);
          return { ok: 'skipped', dependents: strategy.dependents ?? 'skip' };
        case 'ask':
          this.recovering(step.id, 'ask', `${failure.code}: a person decides`);
          mustAsk = true;
          attemptsLeft = 0;
          continue;
        case 'retry': {
          const used = retries.get(failure.code) ?? 0;
          if (used < (strategy.maxRetries ?? 2) && attemptsLeft > 0) {
            retries.set(failure.code, used + 1);
            const backoffMs = (strategy.backoffMs ?? 1000) * 2 ** used;
            this.recovering(step.id, 'retry', `${failure.code}: the same code runs again in ${backoffMs} ms`);
            await sleep(backoffMs);
            nextCode = code;
            continue;
          }
          break;
        }
        case 'restore':
          if (attemptsLeft > 0) {
            this.recovering(step.id, 'restore', `${failure.code}: the step starts afresh from its inputs`);
            previousAttempts = [];
            continue;
          }
          break;
        case 'fallback':
          if (attemptsLeft > 0) {
            this.recovering(
              step.id,
              'fallback',
              strategy.code
                ? `${failure.code}: running the fallback code`
                : `${failure.code}: trying model ${strategy.model}`,
            );
            if (strategy.code) nextCode = strategy.code;
            if (strategy.model) model = strategy.model;
          }
          break;
        case 'regenerate':
          break;
        default: {
          const unreachable: never = strategy;
          throw new Error(`unknown strategy ${JSON.stringify(unreachable)}`);
        }
      }
      previousAttempts.push({ code, error: `${failure.message}\n\nHint: ${REGENERATE_HINTS[failure.code]}` });
      if (attemptsLeft > 0 && nextCode === null) {
        this.recovering(step.id, 'regenerate', `${failure.code}: the model writes the code again with the error`);
      }
    }
    record.finishStep(step.id, 'failed');
    return last;
  }

  /** Puts the use of a recovery strategy on the timeline. */
  private recovering(stepId: string, strategy: string, description: string, data?: Record<string, unknown>): void {
    this.record.addEvent('step', 'RECOVERY_INITIATED', description, stepId, { strategy, ...data });
  }

  /**
   * Before a model call or a sandbox run: when the cost so far plus an estimate of this one would
   * pass the budget, waits in `awaiting_input` for a raise, or stops the execution.
   */
  private async withinBudget(what: 'a model call' | 'a sandbox run', stepId: string | null): Promise<void> {
    for (;;) {
      if (this.budgetUsd === null) return;
      const spent = this.record.spentUsd();
      const estimate = this.record.estimateUsd(what === 'a model call' ? 'model' : 'sandbox');
      if (spent + estimate <= this.budgetUsd) return;
      const answer = await this.ask(
        'budget',
        `The budget of $${this.budgetUsd.toFixed(4)} would be passed: $${spent.toFixed(4)} spent, ` +
          `${what} estimated at $${estimate.toFixed(4)}. Raise the budget or stop.`,
        stepId,
      );
      const raised = readBudget(answer);
      if (raised === null) throw new StoppedByPerson('stopped at the budget');
      this.record.log('info', `budget raised from $${this.budgetUsd} to $${raised}`, stepId);
      this.budgetUsd = raised;
    }
  }
}

/** The error of a failed run as the model and the person should read it. */
function attemptError(outcome: ExecuteOutcome): string {
  const parts: string[] = [];
  if (outcome.error) {
    parts.push(outcome.error.traceback.trim() || `${outcome.error.name}: ${outcome.error.value}`);
  }
  switch (outcome.errorType) {
    case ErrorType.SANDBOX_TIMEOUT:
      parts.push('The run was stopped because it went past its time limit.');
      break;
    case ErrorType.RESOURCE_EXHAUSTED:
      parts.push('The run was stopped because it used more memory, CPU time or disk than allowed.');
      break;
    case ErrorType.OUTPUT_LIMIT:
      parts.push('The run was stopped because it printed more output than allowed.');
      break;
    default:
      break;
  }
  if (parts.length === 0 && outcome.stderr.trim() !== '') parts.push(outcome.stderr.trim());
  return parts.join('\n') || 'The code failed without an error message.';
}

function failureType(error: unknown): ErrorType {
  const cause = error instanceof ActivityFailure ? error.cause : error;
  if (cause instanceof ApplicationFailure && cause.type && cause.type in ErrorType) return cause.type as ErrorType;
  return ErrorType.INTERNAL;
}

function describe(error: unknown): string {
  if (error instanceof ActivityFailure && error.cause) return error.cause.message;
  return error instanceof Error ? error.message : String(error);
}
