import {
  ActivityCancellationType,
  ActivityFailure,
  ApplicationFailure,
  CancellationScope,
  isCancellation,
  log,
  proxyActivities,
  setHandler,
  sleep,
  upsertSearchAttributes,
  type ActivityOptions,
} from '@temporalio/workflow';
import type { Activities } from '../activities';
import { ErrorType } from '../domain/errors';
import { ExecutionRecord } from '../domain/execution-record';
import { orderSteps } from '../domain/plan-graph';
import type { ArtifactRef, ExecuteOutcome, ExecutionInput, ExecutionSnapshot, Plan, PlanStep } from '../domain/types';
import { cancelSignal, executionStatusKey, snapshotQuery, statusQuery } from './messages';

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

/**
 * One execution of a task: plan, then for each step generate, validate and run code (again with the
 * error as context after a failed run), then analyze. The state machine lives in ExecutionRecord;
 * this function only sequences activities and answers signals and queries.
 */
export async function executionWorkflow(input: ExecutionInput): Promise<ExecutionSnapshot> {
  const record = new ExecutionRecord(input, () => new Date());
  const sandbox = proxyActivities<Activities>(sandboxActivity(input.options.stepTimeoutMs));
  const main = new CancellationScope();
  let cancelReason: string | null = null;
  let timedOut = false;

  const publishStatus = () => upsertSearchAttributes([{ key: executionStatusKey, value: record.current }]);

  setHandler(statusQuery, () => record.current);
  setHandler(snapshotQuery, () => record.snapshot());
  setHandler(cancelSignal, ({ reason }) => {
    if (cancelReason !== null || record.snapshot().completedAt !== null) return;
    cancelReason = reason?.trim() || 'cancelled on request';
    record.log('info', `cancel requested: ${cancelReason}`);
    main.cancel();
  });

  record.apply('start', 'init', 'EXECUTION_STARTED', 'a worker took the execution');
  publishStatus();

  // The deadline runs outside `main` so it can cancel it.
  sleep(input.options.timeoutMs).then(
    () => {
      if (record.snapshot().completedAt !== null) return;
      timedOut = true;
      main.cancel();
    },
    () => undefined, // the whole workflow was cancelled: nothing left to time out
  );

  try {
    await main.run(() => run(input, record, sandbox, publishStatus));
  } catch (error) {
    if (isCancellation(error)) {
      if (timedOut) record.timeOut(`the execution ran past its ${input.options.timeoutMs} ms deadline`);
      else record.cancel(cancelReason ?? 'cancelled through Temporal');
    } else {
      log.error('execution failed unexpectedly', { error: describe(error) });
      record.fail({ code: failureType(error), message: describe(error), stepId: null, recoverable: false });
    }
  }
  publishStatus();
  return record.snapshot();
}

type SandboxActivities = Pick<Activities, 'executeCode'>;

async function run(
  input: ExecutionInput,
  record: ExecutionRecord,
  sandbox: SandboxActivities,
  publishStatus: () => void,
): Promise<void> {
  record.apply('run', 'step', 'TASK_STARTED', 'work began');
  publishStatus();

  const plan = await makePlan(input, record);
  record.setPlan(plan);

  const produced: ArtifactRef[] = [];
  let failure: { stepId: string; outcome: AttemptFailure } | null = null;
  for (const step of orderSteps(plan) ?? plan.steps) {
    const outcome = await runStep(input, record, sandbox, plan, step, [...input.files, ...produced]);
    if (!outcome.ok) {
      failure = { stepId: step.id, outcome };
      break;
    }
    produced.push(...outcome.files);
  }

  const canAnalyze = input.modelAvailable && input.task !== null;
  if (failure === null) {
    const outputs = record.outputs();
    let analysis: string | null = null;
    if (canAnalyze) {
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
    record.succeed({ analysis, outputs: { plots: outputs.plots, data: outputs.data }, files: outputs.files });
    return;
  }

  let message = failure.outcome.message;
  if (canAnalyze) {
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
  record.fail({ code: failure.outcome.code, message, stepId: failure.stepId, recoverable: false });
}

async function makePlan(input: ExecutionInput, record: ExecutionRecord): Promise<Plan> {
  if (input.plan !== null) return input.plan;
  if (input.code !== null || input.task === null) return { steps: [CODE_STEP] };
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

interface AttemptFailure {
  ok: false;
  code: ErrorType;
  message: string;
  stdout: string;
}

type StepOutcome = { ok: true; files: ArtifactRef[] } | AttemptFailure;

async function runStep(
  input: ExecutionInput,
  record: ExecutionRecord,
  sandbox: SandboxActivities,
  plan: Plan,
  step: PlanStep,
  files: ArtifactRef[],
): Promise<StepOutcome> {
  record.startStep(step.id);
  const previousAttempts: Array<{ code: string; error: string }> = [];
  let last: AttemptFailure = { ok: false, code: ErrorType.INTERNAL, message: 'no attempt was made', stdout: '' };
  // Given code gets one run; with a model it may then be regenerated like generated code.
  const attempts = input.code !== null && !input.modelAvailable ? 1 : input.options.maxAttempts;

  for (let n = 1; n <= attempts; n++) {
    let code: string;
    if (n === 1 && input.code !== null) {
      code = input.code;
    } else {
      record.setPhase('generating', step.id);
      const generated = await llm.generateCode({
        executionId: input.executionId,
        task: input.task,
        plan,
        step,
        files,
        previousAttempts,
        model: input.options.model,
      });
      record.addTokens(generated.usage);
      code = generated.code;
    }

    record.setPhase('validating', step.id);
    const report = await checks.validateCode({ code });
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
      last = { ok: false, code: ErrorType.VALIDATION_ERROR, message, stdout: '' };
      previousAttempts.push({ code, error: message });
      continue;
    }

    record.setPhase('executing', step.id);
    record.addEvent('step', 'RESOURCE_ALLOCATED', `sandbox run ${n} of step ${step.id}`, step.id, {
      sandbox: input.options.sandbox,
    });
    const outcome = await sandbox.executeCode({
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
    const message = outcome.ok ? null : attemptError(outcome);
    record.recordAttempt(
      step.id,
      {
        status: outcome.ok ? 'succeeded' : 'failed',
        code,
        stdout: outcome.stdout,
        stderr: outcome.stderr,
        error:
          message === null
            ? null
            : { code: outcome.errorType ?? ErrorType.CODE_ERROR, message, traceback: outcome.error?.traceback },
        durationMs: outcome.usage.wallMs,
        files: outcome.files,
        results: outcome.results,
      },
      outcome.usage,
    );
    if (message === null) {
      record.finishStep(step.id, 'succeeded');
      return { ok: true, files: outcome.files };
    }
    last = { ok: false, code: outcome.errorType ?? ErrorType.CODE_ERROR, message, stdout: outcome.stdout };
    previousAttempts.push({ code, error: message });
  }
  record.finishStep(step.id, 'failed');
  return last;
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
