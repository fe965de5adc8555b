import { CancellationScope, isCancellation, patched, sleep } from '@temporalio/workflow';
import type { ValidationReport } from '../activities/code-validator';
import { decideAfterFailure } from '../domain/attempt-policy';
import { applicableStrategy } from '../domain/custom-recovery';
import { clip } from '../domain/clip';
import { ErrorType } from '../domain/errors';
import { dependentsOf, inputsOf, isReady, orderSteps } from '../domain/plan-graph';
import { readRecovery } from '../domain/questions';
import { REGENERATE_HINTS, isRecoverable } from '../domain/recovery';
import { allocationId } from '../domain/resources';
import { runFailure, validationFailure } from '../domain/run-failure';
import type { ArtifactRef, AttemptAuthor, Plan, PlanStep } from '../domain/types';
import type { ExecutionContext } from './context';
import { failureType, thrownStepFailure } from './failures';

/** Failed attempts the model is shown when it writes a step's code again, newest last, each cut. */
const PREVIOUS_ATTEMPTS = 2;
const PREVIOUS_CODE_CHARS = 6_000;
const PREVIOUS_ERROR_CHARS = 2_000;

/** The last failure of a step that failed, with what helps a person decide what to do next. */
export interface StepFailure {
  stepId: string;
  code: ErrorType;
  message: string;
  stdout: string;
  /** The attempt that failed last (0 when none was made). */
  attempt: number;
  /** The recovery strategy that gave up, when one did. */
  strategy: string | null;
}

type StepOutcome =
  | { ok: true; files: ArtifactRef[] }
  | { ok: 'skipped'; dependents: 'skip' | 'run' }
  | { ok: false; failure: StepFailure; abort: boolean };

/** How one attempt ended: its files, or its failure and what it printed. */
type AttemptResult =
  { ok: true; files: ArtifactRef[] } | { ok: false; failed: { code: ErrorType; message: string }; stdout: string };

/** Code to run next, and who wrote it. */
interface NextCode {
  code: string;
  author: AttemptAuthor;
}

/** Given code already checked while the execution was starting, so its first attempt skips the check. */
export interface Prevalidated {
  code: string;
  report: ValidationReport;
}

/**
 * Runs a plan's steps: the scheduler (each step as soon as the steps it depends on are done, so
 * independent steps run in parallel) and, per step, the attempt loop that applies the domain's
 * decision table after each failed attempt.
 */
export class StepRunner {
  constructor(private readonly ctx: ExecutionContext) {}

  /**
   * Runs every step; resolves with the first failed step, or null when all succeeded or were skipped.
   * A step gets the uploaded files and every file its ancestors wrote. After a failed step nothing
   * new starts and the steps already running finish, so their outputs are kept; after a thrown
   * failure or an abort, the steps running beside it are cancelled (their sandboxes killed) and
   * awaited, then the failure is thrown or returned.
   */
  async runAll(plan: Plan, prevalidated: Prevalidated | null): Promise<StepFailure | null> {
    const { record, input, features } = this.ctx;
    const order = orderSteps(plan) ?? plan.steps;
    const produced = new Map<string, ArtifactRef[]>();
    const running = new Map<string, Promise<void>>();
    const scopes = new Map<string, CancellationScope>();
    const branching = plan.steps.length > 1;
    // Executions started before steps ran in parallel replay one step at a time.
    const parallel = patched('parallel-steps');
    let failure: StepFailure | null = null;
    let thrown: { error: unknown; stepId: string } | null = null;
    let stoppedBy: string | null = null;

    const stopOthers = (stepId: string) => {
      if (stoppedBy !== null) return;
      stoppedBy = stepId;
      for (const scope of scopes.values()) scope.cancel();
    };

    // Steps after a skipped one count as done, without running and without outputs.
    const skipDependents = (stepId: string) => {
      for (const id of dependentsOf(plan, stepId)) {
        if (id === stepId || produced.has(id) || running.has(id)) continue;
        record.skipStep(id);
        produced.set(id, []);
      }
    };

    const settle = (step: PlanStep, outcome: StepOutcome) => {
      running.delete(step.id);
      scopes.delete(step.id);
      if (branching) {
        record.addEvent('finish_branch', 'TASK_COMPLETED', `branch ${step.id} ended`, step.id, {
          ok: outcome.ok === true,
        });
      }
      if (outcome.ok === true) produced.set(step.id, outcome.files);
      else if (outcome.ok === 'skipped') {
        produced.set(step.id, []);
        if (outcome.dependents === 'skip') skipDependents(step.id);
      } else {
        failure ??= outcome.failure;
        if (outcome.abort && features.core2) stopOthers(step.id);
      }
    };

    const broke = (step: PlanStep, error: unknown) => {
      running.delete(step.id);
      scopes.delete(step.id);
      if (stoppedBy !== null && isCancellation(error)) {
        record.addEvent(
          'error',
          'TASK_FAILED',
          `step ${step.id} was stopped: step ${stoppedBy} ended the run`,
          step.id,
        );
        return;
      }
      thrown ??= { error, stepId: step.id };
      stopOthers(step.id);
    };

    for (;;) {
      if (failure === null && thrown === null) {
        // One pass in plan order: a reused step comes before its dependents, so they start in this same pass.
        for (const step of order) {
          if (!parallel && running.size > 0) break;
          if (!isReady(step, produced, running)) continue;
          const reused = input.reuse?.[step.id];
          if (reused) {
            record.reuse(reused, input.restore?.checkpointId);
            produced.set(step.id, reused.files);
            continue;
          }
          if (branching) record.addEvent('init_branch', 'TASK_STARTED', `branch ${step.id} started`, step.id);
          const files = inputsOf(plan, step.id, input.files, produced);
          const first = prevalidated;
          prevalidated = null;
          let branch: Promise<void>;
          if (features.core2) {
            const scope = new CancellationScope();
            scopes.set(step.id, scope);
            branch = scope
              .run(() => this.runStep(plan, step, files, first))
              .then(
                (outcome) => settle(step, outcome),
                (error: unknown) => broke(step, error),
              );
          } else {
            // Before branch scopes, a thrown failure rejected the whole run at once.
            branch = this.runStep(plan, step, files, first).then((outcome) => settle(step, outcome));
          }
          running.set(step.id, branch);
        }
      }
      if (running.size === 0) break;
      await Promise.race(running.values());
    }
    const broken = thrown as { error: unknown; stepId: string } | null;
    if (broken !== null) throw broken.error;
    if (failure === null && produced.size < plan.steps.length) {
      const missing = plan.steps.filter((step) => !produced.has(step.id)).map((step) => step.id);
      return {
        stepId: missing[0],
        code: ErrorType.INTERNAL,
        message: `steps never became ready: ${missing.join(', ')}`,
        stdout: '',
        attempt: 0,
        strategy: null,
      };
    }
    return failure;
  }

  /** One step: attempts until one succeeds, or the decision table gives up, skips or aborts. */
  private async runStep(
    plan: Plan,
    step: PlanStep,
    files: ArtifactRef[],
    prevalidated: Prevalidated | null,
  ): Promise<StepOutcome> {
    const { record, input, control, features } = this.ctx;
    const { options } = input;
    record.startStep(step.id);
    let previousAttempts: Array<{ code: string; error: string }> = [];
    const hints: string[] = [];
    const personCode = input.stepCode?.[step.id];
    const given = personCode ?? (input.plan === null ? input.code : null);
    // Code the caller sent runs as sent; the model may rewrite it only when the request asks for it.
    const canRewrite = features.core2 ? input.modelAvailable && (given === null || options.repair === true) : true;
    let attemptsLeft = !features.core2 && given !== null && !input.modelAvailable ? 1 : options.maxAttempts;
    let next: NextCode | null = given === null ? null : { code: given, author: personCode ? 'person' : 'caller' };
    let model = options.model;
    let askNow = false;
    const retries = new Map<string, number>();
    const customUses = new Map<string, number>();
    let last: StepFailure = {
      stepId: step.id,
      code: ErrorType.INTERNAL,
      message: 'no attempt was made',
      stdout: '',
      attempt: 0,
      strategy: null,
    };

    for (let n = 1; ; n++) {
      const pressure = n > 1 ? control.historyPressure() : null;
      if (pressure !== null) {
        record.log('warning', `step ${step.id} stops: ${pressure}`, step.id);
        record.finishStep(step.id, 'failed');
        const failure = { ...last, code: ErrorType.HISTORY_LIMIT, message: `The step stopped: ${pressure}.` };
        return { ok: false, failure, abort: false };
      }
      if (attemptsLeft === 0 || askNow) {
        if (options.onExhausted !== 'ask' && !askNow) break;
        askNow = false;
        const answer = await control.ask(
          'recovery',
          `Step "${step.id}" failed ${n - 1} time(s); last error: ${last.message.slice(0, 500)}. ` +
            'Send a hint or corrected code, or give up.',
          step.id,
        );
        const recovery = readRecovery(answer);
        if (recovery === null || recovery.kind === 'give_up') break;
        this.recovering(step.id, recovery.kind === 'hint' ? 'hint' : 'code', 'a person answered', { by: 'person' });
        if (recovery.kind === 'hint') hints.push(recovery.hint);
        else next = { code: recovery.code, author: 'person' };
        attemptsLeft = 1;
      }
      attemptsLeft--;

      // Null while the model writes the code: a thrown failure then leaves no code to run again.
      let current: NextCode | null = null;
      let tried: AttemptResult;
      let thrown: unknown = null;
      try {
        if (next !== null) {
          current = next;
          next = null;
        } else {
          const written = await this.writeCode(plan, step, files, previousAttempts, hints, model);
          current = { code: written, author: 'model' };
        }
        const checked = prevalidated?.code === current.code ? prevalidated : null;
        prevalidated = null;
        tried = await this.attempt(step.id, n, current, files, checked);
      } catch (error) {
        const caught = this.answerable(error, customUses);
        if (caught === null) throw error;
        thrown = error;
        tried = { ok: false, failed: caught, stdout: '' };
        if (current !== null) this.recordThrownRun(step.id, current, caught);
      }
      if (tried.ok) {
        record.finishStep(step.id, 'succeeded');
        record.checkpoint(step.id);
        return { ok: true, files: tried.files };
      }
      const { failed, stdout } = tried;
      const code = current?.code ?? '';

      const used = retries.get(failed.code) ?? 0;
      const decision = decideAfterFailure({
        errorCode: failed.code,
        stepPolicy: step.recovery,
        executionPolicy: options.recovery,
        attemptsLeft,
        retriesUsed: used,
        canRewrite,
        onExhausted: options.onExhausted,
        ...(options.customRecovery?.length
          ? { custom: { strategies: options.customRecovery, message: failed.message, usesInStep: customUses } }
          : {}),
      });
      const own = decision.custom;
      // A thrown failure that no strategy of one's own takes up fails the execution, as before.
      if (thrown !== null && !own) throw thrown;
      if (own) customUses.set(own.id, (customUses.get(own.id) ?? 0) + 1);
      // A strategy of one's own is named on each timeline event it causes.
      const recover = (strategy: string, description: string, data?: Record<string, unknown>) =>
        this.recovering(
          step.id,
          strategy,
          own ? `${description} (strategy "${own.name}")` : description,
          own ? { ...data, customStrategy: own.id, customStrategyName: own.name } : data,
        );
      last = { stepId: step.id, ...failed, stdout, attempt: n, strategy: decision.strategy };
      // The model sees every failed attempt when it writes the code again, unless the step starts afresh.
      // Only the latest few, cut, so that each model call's input stays small in history.
      const remember = () => {
        if (!isRecoverable(failed.code)) return;
        const error = `${clip(failed.message, PREVIOUS_ERROR_CHARS)}\n\nHint: ${REGENERATE_HINTS[failed.code]}`;
        previousAttempts = [...previousAttempts, { code: clip(code, PREVIOUS_CODE_CHARS), error }].slice(
          -PREVIOUS_ATTEMPTS,
        );
      };
      switch (decision.action) {
        case 'give_up':
          record.finishStep(step.id, 'failed');
          return { ok: false, failure: last, abort: false };
        case 'abort':
          recover('abort', `${failed.code}: the execution stops`);
          record.finishStep(step.id, 'failed');
          return { ok: false, failure: last, abort: true };
        case 'skip':
          recover('skip', `${failed.code}: the step is skipped`, { dependents: decision.dependents });
          record.skipStep(step.id);
          return { ok: 'skipped', dependents: decision.dependents };
        case 'ask':
          if (decision.because === 'strategy') recover('ask', `${failed.code}: a person decides`);
          remember();
          askNow = true;
          break;
        case 'rerun':
          if (!own) retries.set(failed.code, used + 1);
          recover(
            'retry',
            current === null
              ? `${failed.code}: the model is asked again in ${decision.backoffMs} ms`
              : `${failed.code}: the same code runs again in ${decision.backoffMs} ms`,
            features.core2 ? { backoffMs: decision.backoffMs } : undefined,
          );
          await sleep(decision.backoffMs);
          next = current;
          break;
        case 'run':
          recover('fallback', `${failed.code}: running the fallback code`);
          remember();
          next = { code: decision.code, author: 'caller' };
          if (decision.model) model = decision.model;
          break;
        case 'regenerate':
          if (decision.fresh) {
            recover('restore', `${failed.code}: the step starts afresh from its inputs`);
            previousAttempts = [];
            break;
          }
          remember();
          if (decision.model) {
            recover('fallback', `${failed.code}: trying model ${decision.model}`);
            model = decision.model;
          }
          recover('regenerate', `${failed.code}: the model writes the code again with the error`);
          break;
        default: {
          const unreachable: never = decision;
          throw new Error(`unknown decision ${JSON.stringify(unreachable)}`);
        }
      }
    }
    record.finishStep(step.id, 'failed');
    return { ok: false, failure: last, abort: false };
  }

  /** The model writes the step's code, with the failed attempts and a person's hints as context. */
  private async writeCode(
    plan: Plan,
    step: PlanStep,
    files: ArtifactRef[],
    previousAttempts: Array<{ code: string; error: string }>,
    hints: string[],
    model: string,
  ): Promise<string> {
    const { record, input, control, llm } = this.ctx;
    await control.gate();
    await control.withinBudget('a model call', step.id);
    control.beginRunning();
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
      fallbackModels: input.options.fallbackModels,
      ...(this.ctx.profile ? { profile: this.ctx.profile } : {}),
    });
    record.addModelOutcome(generated, step.id);
    return generated.code;
  }

  /**
   * One attempt of `code`: the check (unless it was made while starting), then the sandbox run.
   * Records the attempt; resolves with its files, or with its failure.
   */
  private async attempt(
    stepId: string,
    n: number,
    { code, author }: NextCode,
    files: ArtifactRef[],
    prevalidated: Prevalidated | null,
  ): Promise<AttemptResult> {
    const { record, input, control, checks, sandbox } = this.ctx;
    const { options } = input;
    let report: ValidationReport;
    if (prevalidated !== null) {
      report = prevalidated.report;
    } else {
      await control.gate();
      record.setPhase('validating', stepId);
      report = await checks.validateCode({ code, sandbox: this.ctx.input.options.sandbox });
    }
    if (!report.ok) {
      const failed = validationFailure(report.problems);
      this.recordUnrun(stepId, { code, author }, failed);
      return { ok: false, failed, stdout: '' };
    }
    await control.gate();
    await control.withinBudget('a sandbox run', stepId);
    control.beginRunning();
    record.setPhase('executing', stepId);
    // Neither the id nor the limits change the commands the workflow sends, so no patch is needed.
    // A restored run's allocations carry its run number, as its files do.
    const run = input.restore?.run;
    const resourceId = allocationId(run === undefined ? input.executionId : `${input.executionId}/${run}`, stepId, n);
    const asked = options.resources ?? {};
    const timeoutMs = asked.timeoutMs ?? options.stepTimeoutMs;
    const startTime = new Date().toISOString();
    record.addEvent('step', 'RESOURCE_ALLOCATED', `sandbox run ${n} of step ${stepId}`, stepId, {
      resourceId,
      sandbox: options.sandbox,
      author,
      resources: { ...options.resources, timeoutMs },
    });
    const sampledAlerts = this.ctx.alerts?.sampled() ?? [];
    let outcome: Awaited<ReturnType<typeof sandbox.executeCode>>;
    try {
      outcome = await sandbox.executeCode({
        executionId: input.executionId,
        stepId,
        attempt: n,
        code,
        files,
        timeoutMs,
        sandbox: options.sandbox,
        ...(run === undefined ? {} : { run }),
        ...(sampledAlerts.length > 0 ? { alerts: sampledAlerts } : {}),
        ...(asked.memoryMb === undefined && asked.diskMb === undefined
          ? {}
          : { limits: { memoryMb: asked.memoryMb, diskMb: asked.diskMb } }),
      });
    } catch (error) {
      // What was given is released when the run throws or is cancelled too.
      const why = isCancellation(error) ? 'was cancelled' : 'could not be made';
      record.addEvent('step', 'RESOURCE_RELEASED', `sandbox run ${n} of step ${stepId} ${why}`, stepId, {
        resourceId,
        error: isCancellation(error) ? ErrorType.CANCELLED : failureType(error),
      });
      throw error;
    } finally {
      // Nothing uses CPU or memory once the run is over: its firing alerts resolve.
      this.ctx.alerts?.sandboxEnded(stepId);
    }
    record.addEvent('step', 'RESOURCE_RELEASED', `sandbox run ${n} of step ${stepId} ended`, stepId, {
      resourceId,
      wallMs: outcome.usage.wallMs,
      cpuMs: outcome.usage.cpuMs,
      peakMemoryBytes: outcome.usage.peakMemoryBytes,
    });
    for (const message of outcome.messages ?? []) record.log(message.level, message.message, stepId);
    const failed = runFailure(outcome);
    record.recordAttempt(
      stepId,
      {
        status: failed === null ? 'succeeded' : 'failed',
        author,
        code,
        stdout: outcome.stdout,
        stderr: outcome.stderr,
        error: failed === null ? null : { ...failed, traceback: outcome.error?.traceback },
        durationMs: outcome.usage.wallMs,
        files: outcome.files,
        results: outcome.results,
      },
      outcome.usage,
      { resourceId, sandbox: options.sandbox, startTime },
    );
    return failed === null ? { ok: true, files: outcome.files } : { ok: false, failed, stdout: outcome.stdout };
  }

  /**
   * The failure a step's model call or sandbox run threw, when a strategy of one's own may answer
   * it; null otherwise, and for executions that started before thrown failures reached strategies.
   */
  private answerable(
    error: unknown,
    usesInStep: ReadonlyMap<string, number>,
  ): { code: ErrorType; message: string } | null {
    const strategies = this.ctx.input.options.customRecovery;
    if (!strategies?.length) return null;
    const failed = thrownStepFailure(error);
    if (failed === null || applicableStrategy(strategies, failed.code, failed.message, usesInStep) === null)
      return null;
    return patched('thrown-to-strategies') ? failed : null;
  }

  /** A sandbox run that could not be made, as a failed attempt of the step. */
  private recordThrownRun(stepId: string, next: NextCode, failed: { code: ErrorType; message: string }) {
    if (failed.code === ErrorType.SANDBOX_UNAVAILABLE) this.recordUnrun(stepId, next, failed);
  }

  /** An attempt whose code never ran (refused by the check, or no sandbox to be had), failed. */
  private recordUnrun(stepId: string, { code, author }: NextCode, failed: { code: ErrorType; message: string }) {
    this.ctx.record.recordAttempt(stepId, {
      status: 'failed',
      author,
      code,
      stdout: '',
      stderr: '',
      error: failed,
      durationMs: 0,
      files: [],
      results: [],
    });
  }

  /** Puts the use of a recovery strategy on the timeline. */
  private recovering(stepId: string, strategy: string, description: string, data?: Record<string, unknown>): void {
    this.ctx.record.addEvent('step', 'RECOVERY_INITIATED', description, stepId, { strategy, ...data });
  }
}
