import {
  CancellationScope,
  allHandlersFinished,
  condition,
  getExternalWorkflowHandle,
  isCancellation,
  log,
  patched,
  proxyActivities,
  setHandler,
  sleep,
  workflowInfo,
} from '@temporalio/workflow';
import type { Activities } from '../activities';
import { RefusalType, retryCanSucceed } from '../domain/errors';
import type { ExecutionEvent } from '../domain/execution-machine';
import { ExecutionRecord } from '../domain/execution-record';
import type { ExecutionInput, ExecutionSnapshot, ScheduledRunRef } from '../domain/types';
import { CHECK_ACTIVITY, LLM_ACTIVITY, RESOLVE_ACTIVITY, sandboxActivity } from './activity-options';
import type { ExecutionContext, Features } from './context';
import { Control, type Refusal } from './control';
import { Execution } from './execution';
import { AlertWatch } from './alerts';
import { Notifier } from './notifier';
import { releaseSlotSignal, slotGrantedSignal, slotQueuedSignal, slotsWorkflowId } from './slot-messages';
import { DEFAULT_TENANT } from '../domain/tenancy';
import { InputExpired, StoppedByPerson, describeFailure, failureType } from './failures';
import {
  alertSampleSignal,
  alertsQuery,
  cancelSignal,
  checkpointListQuery,
  checkpointUpdate,
  checkpointsQuery,
  inputSignal,
  inputUpdate,
  pauseSignal,
  pauseUpdate,
  removeAlertUpdate,
  resumeSignal,
  resumeUpdate,
  setAlertUpdate,
  snapshotQuery,
  statusQuery,
  type CheckpointRequest,
  type PauseRequest,
  type RemoveAlertRequest,
  type SetAlertRequest,
} from './messages';

const llm = proxyActivities<Activities>(LLM_ACTIVITY);
const checks = proxyActivities<Activities>(CHECK_ACTIVITY);
const runs = proxyActivities<Activities>(RESOLVE_ACTIVITY);

/** The workflow's argument: the id, when given, is ignored in favour of the workflow id. */
export type ExecutionArgument = Omit<ExecutionInput, 'executionId'> & { executionId?: string };

/**
 * One execution of a task. This function wires signals, updates and queries to the execution's
 * record and control, runs the work in a cancellable scope under the deadline, and turns how the
 * work ended into the final state. The work itself is in `Execution` and `StepRunner`; the rules
 * are in src/domain.
 */
export async function executionWorkflow(argument: ExecutionArgument): Promise<ExecutionSnapshot> {
  const features: Features = { core2: patched('core-2'), alerts: patched('alerts') };
  // The workflow id is the execution id, also for runs whose id Temporal chose (schedules).
  const input: ExecutionInput = { ...argument, executionId: workflowInfo().workflowId };
  const record = new ExecutionRecord(input, () => new Date());
  const control = new Control(record, input, features.core2);
  const main = new CancellationScope();
  const notifier = new Notifier(input, record);
  control.onPublish = () => notifier.changed();
  const alerts = features.alerts ? new AlertWatch(input, record, notifier) : null;
  const ctx: ExecutionContext = {
    input,
    record,
    control,
    notifier,
    features,
    alerts,
    llm,
    checks,
    sandbox: proxyActivities<Activities>(
      sandboxActivity(input.options.resources?.timeoutMs ?? input.options.stepTimeoutMs),
    ),
  };
  registerHandlers(ctx, main);
  alerts?.watch().catch((error: unknown) => log.warn('the alert watch stopped', { error: describeFailure(error) }));

  // A schedule's run knows only its task's reference: it resolves the task before it starts.
  if (input.scheduled !== undefined && !(await resolveScheduledRun(ctx, main))) return finish(ctx);
  // With a limit on the tenant's running executions, it waits in `queued` for a slot.
  if (input.slots !== undefined && patched('tenant-slots') && !(await takeSlot(ctx, main))) return finish(ctx);

  control.transition('start', 'a worker took the execution');
  let timedOut = false;
  // The deadline runs outside `main` so it can cancel it.
  sleep(input.options.timeoutMs).then(
    () => {
      if (record.isFinished) return;
      timedOut = true;
      main.cancel();
    },
    () => undefined, // the whole workflow was cancelled: nothing left to time out
  );

  try {
    await main.run(() => new Execution(ctx).run());
  } catch (error) {
    endWith(ctx, error, timedOut);
  }
  return finish(ctx);
}

/** Publishes the final state and returns the snapshot, once every handler has returned. */
async function finish({
  record,
  control,
  notifier,
  input,
  slotRequested,
  alerts,
}: ExecutionContext): Promise<ExecutionSnapshot> {
  // The last evaluation: what stopped holding with the end (a step's clock) is resolved first.
  alerts?.stop();
  control.publishStatus();
  if (slotRequested === true) await giveBackSlot(input);
  await notifier.started();
  await condition(allHandlersFinished);
  return record.snapshot();
}

/** Turns what stopped the work (a failure, a cancellation, the deadline) into the final state. */
function endWith({ record, control, input, features }: ExecutionContext, error: unknown, timedOut: boolean): void {
  if (error instanceof InputExpired) {
    record.timeOut(`no answer within ${input.options.inputTimeoutMs} ms`);
  } else if (error instanceof StoppedByPerson) {
    record.cancel(error.message);
  } else if (isCancellation(error) || (features.core2 && (timedOut || control.cancelReason !== null))) {
    // A stop was asked for: an activity that then failed otherwise (its worker gone, so it timed out
    // instead of acknowledging the cancel) does not turn the stop into a failure.
    if (timedOut) record.timeOut(`the execution ran past its ${input.options.timeoutMs} ms deadline`);
    else record.cancel(control.cancelReason ?? 'cancelled through Temporal');
  } else {
    const code = failureType(error);
    log.error('execution failed unexpectedly', { error: describeFailure(error) });
    record.fail({
      code,
      message: describeFailure(error),
      stepId: null,
      recoverable: features.core2 && retryCanSucceed(code, record.hasPlan),
      ...(features.core2 ? { context: { stepId: null, errorCode: code } } : {}),
    });
  }
}

/**
 * Waits in `queued` until the tenant's slots workflow grants a slot; false when the execution ended
 * meanwhile (cancelled while it waited).
 */
async function takeSlot(ctx: ExecutionContext, main: CancellationScope): Promise<boolean> {
  const { input, record } = ctx;
  const tenant = input.tenant ?? DEFAULT_TENANT;
  let granted = false;
  let waited = false;
  setHandler(slotGrantedSignal, () => {
    granted = true;
  });
  setHandler(slotQueuedSignal, ({ position, running, limit }) => {
    if (granted) return;
    waited = true;
    const description = `waiting for a running slot: ${running} of ${limit} in use for tenant ${tenant}, place ${position}`;
    record.addEvent('wait', 'WAITING_FOR_SLOT', description, null, { position, running, limit });
    record.log('info', description);
  });
  ctx.slotRequested = true;
  try {
    await main.run(async () => {
      const limit = (input.slots as { limit: number }).limit;
      await runs.requestSlot({ tenant, executionId: input.executionId, limit });
      await condition(() => granted);
    });
  } catch (error) {
    endWith(ctx, error, false);
    return false;
  }
  if (waited) record.addEvent('wait', 'SLOT_GRANTED', 'a running slot is free: the execution starts', null);
  return true;
}

/** Gives the slot (or the place in the queue) back; the slots workflow may be gone, which frees it too. */
async function giveBackSlot(input: ExecutionInput): Promise<void> {
  const slots = getExternalWorkflowHandle(slotsWorkflowId(input.tenant ?? DEFAULT_TENANT));
  await CancellationScope.nonCancellable(() =>
    slots.signal(releaseSlotSignal, { executionId: input.executionId }),
  ).catch((error: unknown) => log.warn('the running slot could not be given back', { error: String(error) }));
}

/**
 * Resolves the named task of a schedule's run into its input, checked like a run started by hand;
 * false when the execution has ended instead (the task is gone or refuses the inputs, or a cancel).
 */
async function resolveScheduledRun(ctx: ExecutionContext, main: CancellationScope): Promise<boolean> {
  const { input, record } = ctx;
  const scheduled = input.scheduled as ScheduledRunRef;
  try {
    const resolved = await main.run(() => runs.resolveScheduledRun({ executionId: input.executionId, scheduled }));
    if (!resolved.ok) {
      const context = { stepId: null, errorCode: resolved.code };
      record.fail({ code: resolved.code, message: resolved.message, stepId: null, recoverable: false, context });
      return false;
    }
    Object.assign(input, resolved.input, { executionId: input.executionId });
    ctx.alerts?.adopt(input.options.alerts ?? []);
    ctx.sandbox = proxyActivities<Activities>(
      sandboxActivity(input.options.resources?.timeoutMs ?? input.options.stepTimeoutMs),
    );
    const version = input.namedTask?.version ?? scheduled.version;
    record.log('info', `schedule ${scheduled.scheduleId} runs task ${scheduled.slug} at version ${version}`);
    return true;
  } catch (error) {
    endWith(ctx, error, false);
    return false;
  }
}

function registerHandlers(ctx: ExecutionContext, main: CancellationScope): void {
  const { record, control, features } = ctx;
  setHandler(statusQuery, () => record.current);
  setHandler(snapshotQuery, () => record.snapshot());
  setHandler(checkpointsQuery, () => record.checkpoints());
  setHandler(checkpointListQuery, () => record.checkpointList());
  // Only an update that arrives records anything, so histories without one replay as before.
  setHandler(checkpointUpdate, (request) => record.checkpointOnDemand(request?.by ?? null), {
    validator: (_request?: CheckpointRequest) => {
      const refusal = record.checkpointRefusal();
      Control.refuse(refusal === null ? null : { type: RefusalType.INVALID_STATE_TRANSITION, message: refusal });
    },
  });
  registerAlertHandlers(ctx);
  setHandler(cancelSignal, ({ reason, by } = {}) => {
    if (control.cancelReason !== null || record.isFinished) return;
    control.cancelReason = reason?.trim() || 'cancelled on request';
    record.log('info', `cancel requested${by ? ` by ${by}` : ''}: ${control.cancelReason}`);
    main.cancel();
  });

  const steer = (event: ExecutionEvent & ('pause' | 'resume'), request: PauseRequest = {}) => {
    const fallback = event === 'pause' ? 'paused on request' : 'resumed on request';
    control.transition(event, request.reason?.trim() || fallback, request.by ? { by: request.by } : undefined);
    return record.current;
  };
  setHandler(pauseUpdate, (request) => steer('pause', request), {
    validator: (_request?: PauseRequest) => Control.refuse(control.refusalOf('pause')),
  });
  setHandler(resumeUpdate, (request) => steer('resume', request), {
    validator: (_request?: PauseRequest) => Control.refuse(control.refusalOf('resume')),
  });
  setHandler(
    inputUpdate,
    (answer) => {
      control.takeAnswer(answer);
      return record.current;
    },
    { validator: (answer) => Control.refuse(control.answerRefusal(answer ?? {})) },
  );

  // Executions started before the signals existed keep them buffered, as they were then.
  if (!features.core2) return;
  const refused = (signal: string, refusal: Refusal) => {
    record.addEvent('error', 'SIGNAL_REFUSED', `${signal} signal refused: ${refusal.message}`, null, {
      signal,
      refusal: refusal.type,
    });
    record.log('warning', `the ${signal} signal was refused: ${refusal.message}`);
  };
  for (const [signal, event] of [
    [pauseSignal, 'pause'],
    [resumeSignal, 'resume'],
  ] as const) {
    setHandler(signal, (request) => {
      const refusal = control.refusalOf(event);
      if (refusal === null) steer(event, request ?? {});
      else refused(event, refusal);
    });
  }
  setHandler(inputSignal, (answer) => {
    const refusal = control.answerRefusal(answer ?? {});
    if (refusal === null) control.takeAnswer(answer);
    else refused('input', refusal);
  });
}

/** The alerts' query, updates and the sandbox's signal; the updates refuse executions started before alerts. */
function registerAlertHandlers({ alerts, record }: ExecutionContext): void {
  setHandler(alertsQuery, () => alerts?.list() ?? []);
  const before = `this execution started before alerts existed (it is ${record.current})`;
  setHandler(setAlertUpdate, ({ by, ...request }) => (alerts as AlertWatch).add(request, by ?? null), {
    validator: (request: SetAlertRequest) => {
      if (alerts === null) return Control.refuse({ type: RefusalType.INVALID_STATE_TRANSITION, message: before });
      const refusal = alerts.addRefusal(request ?? {});
      if (refusal === null) return;
      const type = record.isFinished ? RefusalType.INVALID_STATE_TRANSITION : RefusalType.INVALID_INPUT;
      Control.refuse({ type, message: refusal });
    },
  });
  setHandler(removeAlertUpdate, ({ alertId, by }) => (alerts as AlertWatch).remove(alertId, by ?? null), {
    validator: (request: RemoveAlertRequest) => {
      if (alerts === null) return Control.refuse({ type: RefusalType.INVALID_STATE_TRANSITION, message: before });
      if (!alerts.has(request?.alertId)) {
        Control.refuse({ type: RefusalType.UNKNOWN_ALERT, message: `no alert ${String(request?.alertId)}` });
      }
    },
  });
  setHandler(alertSampleSignal, ({ stepId, transitions }) => alerts?.takeSampled(stepId, transitions ?? []));
}
