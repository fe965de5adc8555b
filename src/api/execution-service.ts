import {
  Client,
  WorkflowExecutionAlreadyStartedError,
  WorkflowNotFoundError,
  WorkflowUpdateFailedError,
  WorkflowUpdateRPCTimeoutOrCancelledError,
  isGrpcDeadlineError,
  type WorkflowExecutionDescription,
  type WorkflowExecutionInfo,
} from '@temporalio/client';
import { ApplicationFailure } from '@temporalio/common';
import { executionInfoFromRaw } from '@temporalio/client/lib/helpers';
import { WorkflowIdReusePolicy } from '@temporalio/common';
import { createHash, randomUUID } from 'node:crypto';
import type { Readable } from 'node:stream';
import type { Config } from '../config';
import { RefusalType } from '../domain/errors';
import { canSee, DEFAULT_TENANT, TENANT_ID, type Principal } from '../domain/tenancy';
import { dependentsOf } from '../domain/plan-graph';
import { isExecutionStatus, isTerminal, type ExecutionStatus, type TaskKind, type TriggeredBy } from '../domain/status';
import type { Alert, AlertRequest } from '../domain/alerts';
import type { Checkpoint, CheckpointList } from '../domain/checkpoints';
import type { ArtifactRef, ExecutionInput, ExecutionSnapshot, StepCheckpoint } from '../domain/types';
import type { ArtifactStore } from '../storage/artifact-store';
import {
  WORKFLOW_TYPE,
  alertsQuery,
  cancelSignal,
  removeAlertUpdate,
  setAlertUpdate,
  checkpointListQuery,
  checkpointUpdate,
  checkpointsQuery,
  executionStatusKey,
  inputUpdate,
  pauseUpdate,
  resumeUpdate,
  snapshotQuery,
  taskKindKey,
  taskSlugKey,
  tenantKey,
  triggeredByKey,
  type InputAnswer,
} from '../workflows/messages';
import { HttpError, invalidTransition, notFound, unprocessable } from './http-error';
import { OPEN_PRINCIPAL } from './key-resolver';
import { executionInputFrom, type Submission } from '../runs/execution-input';
import type { AlertDefaultsStore } from '../db/alert-defaults';
import type { RecoveryStrategyStore } from '../db/recovery-strategies';
import { newSubscriptionSecret, type SubscriptionStore } from '../db/subscriptions';
import { receiverProblem } from '../webhooks/addresses';
import { RecentSnapshots } from './recent-snapshots';
import type { WorkerWatch } from './worker-watch';

export type { IncomingFile, Submission } from '../runs/execution-input';

export interface ExecutionSummary {
  id: string;
  status: ExecutionStatus;
  task: string | null;
  kind: TaskKind | null;
  triggeredBy: TriggeredBy | null;
  createdAt: string | null;
  completedAt: string | null;
}

/**
 * What a running activity reported in its last heartbeat: the tail of a sandbox step's output, or
 * of the text a model is writing (code, the analysis, the plan).
 */
export type LiveOutput =
  | { kind: 'output'; stepId: string; attempt: number; chars: number; tail: string }
  | { kind: 'text'; stepId: string | null; phase: string; attempt: number; chars: number; tail: string };

/** The activities whose heartbeats carry live output or text. */
const LIVE_ACTIVITIES = new Set(['executeCode', 'generateCode', 'analyze', 'plan']);

/** One Temporal run of an execution: the first, then one per restore. */
export interface ExecutionRun {
  runId: string;
  /** 1 for the first run, 2 for the first restore, and so on. */
  run: number;
  status: ExecutionStatus;
  startedAt: string;
  closedAt: string | null;
}

/** The ends of a run that a restore may start again from. */
const RESTORABLE: readonly ExecutionStatus[] = ['failed', 'cancelled', 'timed_out'];
/** Runs GET /api/executions/:id lists, newest kept. */
const MAX_RUNS_LISTED = 100;

interface Memo {
  parentId: string | null;
  /** The run's number, on runs that restore the execution (absent: the first run). */
  run?: number;
  /** Absent in executions started before tenants existed: they belong to the default tenant. */
  tenant?: string;
  task: string | null;
  kind: TaskKind;
  triggeredBy: TriggeredBy;
  createdAt: string;
}

const EXECUTION_ID = /^[A-Za-z0-9][A-Za-z0-9._:-]{0,199}$/;
const QUERY_TIMEOUT_MS = 5000;
/** Updates are answered by a worker; one that polls but does not answer in this time counts as none. */
const UPDATE_TIMEOUT_MS = 15_000;
const MEMO_TASK_CHARS = 500;

export interface ExecutionServiceDeps {
  client: Client;
  store: ArtifactStore;
  config: Config;
  /** Subscriptions to execution events: an execution is notified when its tenant has some. */
  subscriptions?: SubscriptionStore | null;
  /** The recovery strategies tenants registered: each execution takes its tenant's when it is submitted. */
  strategies?: RecoveryStrategyStore | null;
  /** Tenants' default alert conditions: each execution takes its tenant's when it is submitted. */
  alertDefaults?: AlertDefaultsStore | null;
  /** Whether a worker polls: without one, reads answer at once from what the gateway knows. */
  workers?: WorkerWatch | null;
  /** The last snapshots read, shared by the services of every principal. */
  recent?: RecentSnapshots;
}

/**
 * What the gateway does with executions, on top of Temporal: the workflow is the source of truth;
 * this only validates, stores uploads, starts, queries and signals.
 */
export class ExecutionService {
  private readonly client: Client;
  private readonly store: ArtifactStore;
  private readonly config: Config;
  private readonly subscriptions: SubscriptionStore | null;
  private readonly workers: WorkerWatch | null;
  private readonly recent: RecentSnapshots;

  constructor(
    private readonly deps: ExecutionServiceDeps,
    /** Who is asking: what they start is theirs, and another tenant's executions are not found. */
    private readonly principal: Principal = OPEN_PRINCIPAL,
  ) {
    this.client = deps.client;
    this.store = deps.store;
    this.config = deps.config;
    this.subscriptions = deps.subscriptions ?? null;
    this.workers = deps.workers ?? null;
    this.recent = deps.recent ?? new RecentSnapshots();
  }

  /** The same service acting for `principal`, sharing what it has seen. */
  for(principal: Principal): ExecutionService {
    return new ExecutionService({ ...this.deps, recent: this.recent }, principal);
  }

  /** Validates and starts an execution; with an idempotency key, a repeat returns the first one. */
  async submit(submission: Submission): Promise<{
    id: string;
    status: ExecutionStatus;
    created: boolean;
    /** The execution's own subscription (`options.notify`), with its secret when the service made it. */
    notify?: { subscriptionId: string; secret?: string };
  }> {
    const tenant = this.principal.tenant;
    const id = submission.idempotencyKey ? idFromKey(submission.idempotencyKey, tenant) : `exec-${randomUUID()}`;
    const tenantStrategies = (await this.deps.strategies?.list(tenant)) ?? [];
    const tenantAlerts = (await this.deps.alertDefaults?.get(tenant))?.alerts ?? [];
    const input = executionInputFrom(this.config, { ...submission, tenantStrategies, tenantAlerts }, id);
    if (submission.idempotencyKey) {
      const existing = await this.describeOrNull(id);
      if (existing) return { id, status: statusOf(existing), created: false };
    }
    const own = submission.options.notify;
    if (own !== undefined) {
      const problem = receiverProblem(own.url, this.config.webhooks.allowPrivate);
      if (problem !== null) throw unprocessable('INVALID_RECEIVER', `options.notify.url ${problem}.`);
    }
    const files: ArtifactRef[] = [];
    for (const file of submission.files) files.push(await this.store.put(id, 'inputs', file.name, file.data));
    const notify = await this.subscribe(own, id);
    const execution: ExecutionInput = { ...input, files, tenant, ...(notify.input ? { notify: notify.input } : {}) };
    try {
      await this.startWorkflow(execution);
    } catch (error) {
      if (error instanceof WorkflowExecutionAlreadyStartedError && submission.idempotencyKey) {
        const existing = await this.describeOrNull(id);
        return { id, status: existing ? statusOf(existing) : 'queued', created: false };
      }
      throw error;
    }
    return { id, status: 'queued', created: true, ...(notify.answer ? { notify: notify.answer } : {}) };
  }

  /** The execution's own subscription, when it asks for one, and whether its events are sent at all. */
  private async subscribe(own: Submission['options']['notify'], id: string) {
    if (this.subscriptions === null) return {};
    const tenant = this.principal.tenant;
    let answer: { subscriptionId: string; secret?: string } | undefined;
    if (own !== undefined) {
      const secret = own.secret ?? newSubscriptionSecret();
      const made = await this.subscriptions.create({
        tenant,
        url: own.url,
        events: own.events,
        secret,
        executionId: id,
      });
      answer = { subscriptionId: made.id, ...(own.secret === undefined ? { secret } : {}) };
    }
    const notified = answer !== undefined || (await this.subscriptions.any(tenant));
    return { answer, input: notified ? { subscriptionId: answer?.subscriptionId ?? null } : undefined };
  }

  /**
   * Starts the execution's workflow. A first run refuses an id that was ever used (REJECT_DUPLICATE,
   * whatever its runs' ends): that is what makes an idempotency key start at most one execution. A
   * restore starts a new run of the same id (ALLOW_DUPLICATE: our failed executions close as
   * Temporal-completed, which ALLOW_DUPLICATE_FAILED_ONLY would refuse), after the gateway checked
   * that the latest run ended failed, cancelled or timed out; Temporal still refuses it while a run
   * is open.
   */
  private async startWorkflow(execution: ExecutionInput): Promise<string> {
    const memo: Memo = {
      task: execution.task === null ? null : execution.task.slice(0, MEMO_TASK_CHARS),
      kind: execution.kind,
      triggeredBy: execution.triggeredBy,
      createdAt: execution.createdAt,
      parentId: execution.parentId ?? null,
      tenant: execution.tenant ?? DEFAULT_TENANT,
      ...(execution.restore ? { run: execution.restore.run } : {}),
    };
    const handle = await this.client.workflow.start(WORKFLOW_TYPE, {
      taskQueue: this.config.temporal.taskQueue,
      workflowId: execution.executionId,
      args: [execution],
      memo: memo as unknown as Record<string, unknown>,
      workflowIdReusePolicy: execution.restore
        ? WorkflowIdReusePolicy.ALLOW_DUPLICATE
        : WorkflowIdReusePolicy.REJECT_DUPLICATE,
      // The workflow's tasks and, inheriting it, its activities' are dispatched by this key when queued.
      ...(execution.options.resources?.priority === undefined
        ? {}
        : { priority: { priorityKey: execution.options.resources.priority } }),
      typedSearchAttributes: [
        { key: executionStatusKey, value: 'queued' },
        { key: triggeredByKey, value: execution.triggeredBy },
        { key: taskKindKey, value: execution.kind },
        { key: tenantKey, value: execution.tenant ?? DEFAULT_TENANT },
        ...(execution.namedTask ? [{ key: taskSlugKey, value: execution.namedTask.slug }] : []),
      ],
    });
    return handle.firstExecutionRunId;
  }

  /**
   * The execution's snapshot: from the live workflow, or from its result once it has ended. When no
   * worker can answer, at once the last snapshot seen (or what Temporal records), marked stale.
   */
  async get(id: string): Promise<ExecutionSnapshot> {
    return this.snapshotOf(id, await this.describe(id));
  }

  /** The snapshot of the latest run, with that run's id and every run of the execution. */
  async detail(id: string): Promise<ExecutionSnapshot & { runId: string; runs: ExecutionRun[] }> {
    const description = await this.describe(id);
    const [snapshot, runs] = await Promise.all([this.snapshotOf(id, description), this.runsOf(id, description)]);
    return { ...snapshot, runId: description.runId, runs };
  }

  private async snapshotOf(id: string, description: WorkflowExecutionDescription): Promise<ExecutionSnapshot> {
    // The run described: a restore that starts meanwhile must not make this wait for the new run's end.
    const handle = this.client.workflow.getHandle(id, description.runId);
    if (description.status.name === 'COMPLETED') {
      this.recent.forget(id);
      type Later = 'resourceEfficiency' | 'throughput' | 'qualityScore' | 'quality';
      const result = (await handle.result()) as Omit<ExecutionSnapshot, 'dataProfile' | 'metrics'> &
        Partial<Pick<ExecutionSnapshot, 'dataProfile'>> & {
          metrics: Omit<ExecutionSnapshot['metrics'], Later> & Partial<Pick<ExecutionSnapshot['metrics'], Later>>;
        };
      // Executions that ended before data profiles and these metrics existed have none of them.
      return {
        ...result,
        dataProfile: result.dataProfile ?? null,
        metrics: { resourceEfficiency: null, throughput: null, qualityScore: null, quality: null, ...result.metrics },
      };
    }
    if (description.status.name !== 'RUNNING') {
      this.recent.forget(id);
      return fallbackSnapshot(id, description);
    }
    if (this.workers !== null && !(await this.workers.polling())) return this.stale(id, description);
    try {
      return await this.recent.read(id, () => this.bounded(QUERY_TIMEOUT_MS, () => handle.query(snapshotQuery)));
    } catch (error) {
      // Temporal has just described the execution as running, so a query that fails for any other
      // reason than its being gone (past the deadline, or cut short while the worker does not
      // answer) is answered with what the gateway last saw, marked stale, never with a 500.
      if (error instanceof WorkflowNotFoundError) throw error;
      return this.stale(id, description);
    }
  }

  private stale(id: string, description: WorkflowExecutionDescription): ExecutionSnapshot {
    return { ...(this.recent.last(id) ?? fallbackSnapshot(id, description)), stale: true };
  }

  /**
   * Runs a call to Temporal with a deadline, so that nothing of it (a retry included) outlives the
   * answer; past the deadline, a QueryTimeout.
   */
  private async bounded<T>(ms: number, call: () => Promise<T>): Promise<T> {
    try {
      return await this.client.withDeadline(Date.now() + ms, call);
    } catch (error) {
      if (isGrpcDeadlineError(error) || error instanceof WorkflowUpdateRPCTimeoutOrCancelledError) {
        throw new QueryTimeout('no answer in time');
      }
      throw error;
    }
  }

  async status(id: string): Promise<ExecutionStatus> {
    return statusOf(await this.describe(id));
  }

  /** Asks the workflow to stop; 409 when it has already ended. */
  async cancel(id: string, reason: string | undefined): Promise<void> {
    const description = await this.describe(id);
    const status = statusOf(description);
    if (description.status.name !== 'RUNNING' || isTerminal(status)) {
      throw invalidTransition(`cannot cancel an execution that is ${status}`, { status });
    }
    await this.client.workflow.getHandle(id).signal(cancelSignal, { reason, by: this.principal.keyId });
  }

  /**
   * Removes an execution that has ended: its files, then its history. One that is still active is
   * refused (409) unless `force`: Temporal then terminates it and removes it as it closes. Temporal
   * removes a history in the background (a closed one within about a minute): `historyDeleted`
   * says whether it was already gone when this answered.
   */
  async remove(
    id: string,
    force: boolean,
  ): Promise<{ filesRemoved: number; terminated: boolean; historyDeleted: boolean }> {
    const description = await this.describe(id);
    // Only executions: never the service's own workflows (a tenant's slots, deliveries).
    if (description.type !== WORKFLOW_TYPE) throw notFound(`no execution with id ${id}`);
    const active = description.status.name === 'RUNNING';
    if (active && !force) {
      const status = statusOf(description);
      throw invalidTransition(
        `cannot delete an execution that is ${status}: cancel it and wait for its end, or pass ?force=true to terminate it`,
        { status },
      );
    }
    const filesRemoved = await this.store.deleteAll(id);
    this.recent.forget(id);
    // Each run of an execution restored in place is a history of its own: the earlier ones go too.
    const earlier = (await this.runsOf(id, description)).filter((run) => run.runId !== description.runId);
    for (const run of earlier) {
      await this.client.workflowService.deleteWorkflowExecution({
        namespace: this.config.temporal.namespace,
        workflowExecution: { workflowId: id, runId: run.runId },
      });
    }
    await this.client.workflowService.deleteWorkflowExecution({
      namespace: this.config.temporal.namespace,
      workflowExecution: { workflowId: id },
    });
    let historyDeleted = false;
    for (let i = 0; i < 20 && !historyDeleted; i++) {
      historyDeleted = (await this.describeOrNull(id)) === null;
      if (!historyDeleted) await new Promise((resolve) => setTimeout(resolve, 100));
    }
    return { filesRemoved, terminated: active, historyDeleted };
  }

  /** The finished steps of an execution, which a retry can reuse. */
  private async finishedSteps(id: string): Promise<StepCheckpoint[]> {
    await this.describe(id);
    try {
      return await this.bounded(QUERY_TIMEOUT_MS, () => this.client.workflow.getHandle(id).query(checkpointsQuery));
    } catch (error) {
      if (error instanceof QueryTimeout) throw workerUnavailable();
      throw error;
    }
  }

  /** The checkpoints of the execution's latest run, with the finished steps they name. */
  async checkpoints(id: string): Promise<CheckpointList> {
    const description = await this.describe(id);
    return this.checkpointsOf(id, description.runId);
  }

  private async checkpointsOf(id: string, runId: string): Promise<CheckpointList> {
    try {
      return await this.bounded(QUERY_TIMEOUT_MS, () =>
        this.client.workflow.getHandle(id, runId).query(checkpointListQuery),
      );
    } catch (error) {
      if (error instanceof QueryTimeout) throw workerUnavailable();
      throw error;
    }
  }

  /**
   * Records the active execution's finished steps as a checkpoint now (an update the workflow
   * answers); 409 once it has ended.
   */
  async createCheckpoint(id: string): Promise<Checkpoint> {
    const description = await this.describe(id);
    const made = await this.update(id, () =>
      this.client.workflow
        .getHandle(id, description.runId)
        .executeUpdate(checkpointUpdate, { args: [{ by: this.principal.keyId }] }),
    );
    const { checkpoints } = await this.checkpointsOf(id, description.runId);
    const checkpoint = checkpoints.find((candidate) => candidate.id === made.id);
    if (checkpoint === undefined) throw new Error(`checkpoint ${made.id} was made but is not listed`);
    return checkpoint;
  }

  /** The alerts of the execution's latest run, each with where its condition stands. */
  async alerts(id: string): Promise<Alert[]> {
    const description = await this.describe(id);
    try {
      return await this.bounded(QUERY_TIMEOUT_MS, () =>
        this.client.workflow.getHandle(id, description.runId).query(alertsQuery),
      );
    } catch (error) {
      if (error instanceof QueryTimeout) throw workerUnavailable();
      throw error;
    }
  }

  /** Watches one more condition on the active execution (a workflow update); 409 once it has ended. */
  async setAlert(id: string, request: AlertRequest): Promise<Alert> {
    const description = await this.describe(id);
    return this.update(id, () =>
      this.client.workflow
        .getHandle(id, description.runId)
        .executeUpdate(setAlertUpdate, { args: [{ ...request, by: this.principal.keyId }] }),
    );
  }

  /** Stops watching a condition of the active execution; 404 for an id it does not watch. */
  async removeAlert(id: string, alertId: string): Promise<Alert> {
    const description = await this.describe(id);
    return this.update(id, () =>
      this.client.workflow
        .getHandle(id, description.runId)
        .executeUpdate(removeAlertUpdate, { args: [{ alertId, by: this.principal.keyId }] }),
    );
  }

  /**
   * Restores a failed, cancelled or timed-out execution in place from one of its latest run's
   * checkpoints: a new Temporal run of the same workflow id, with the run's input, that takes over
   * the checkpoint's finished steps (no model call, no sandbox run) and runs the rest, the step
   * that stopped the execution first with `code` when given.
   */
  async restore(
    id: string,
    checkpointId: string,
    code: string | undefined,
  ): Promise<{ id: string; runId: string; run: number; previousRunId: string }> {
    const description = await this.describe(id);
    if (description.type !== WORKFLOW_TYPE) throw notFound(`no execution with id ${id}`);
    const status = statusOf(description);
    if (description.status.name === 'RUNNING' || !RESTORABLE.includes(status)) {
      throw invalidTransition(
        `cannot restore an execution that is ${status}: only a failed, cancelled or timed-out one can be restored`,
        { status },
      );
    }
    const previousRunId = description.runId;
    const { checkpoints, steps } = await this.checkpointsOf(id, previousRunId);
    const checkpoint = checkpoints.find((candidate) => candidate.id === checkpointId);
    if (checkpoint === undefined) {
      throw unprocessable('UNKNOWN_CHECKPOINT', `The latest run of ${id} has no checkpoint "${checkpointId}".`, {
        checkpoints: checkpoints.map((candidate) => candidate.id),
      });
    }
    const handle = this.client.workflow.getHandle(id, previousRunId);
    const snapshot =
      description.status.name === 'COMPLETED'
        ? ((await handle.result()) as ExecutionSnapshot)
        : await this.bounded(QUERY_TIMEOUT_MS, () => handle.query(snapshotQuery));
    const original = await this.startInput(id, previousRunId);
    const failedStep = snapshot.error?.stepId ?? null;
    if (code !== undefined && (failedStep === null || checkpoint.state.completedTasks.includes(failedStep))) {
      throw unprocessable(
        'NO_FAILED_STEP',
        'The execution did not stop in a step the checkpoint leaves to run, so `code` has no step to go to.',
      );
    }
    if (code === undefined && original.code === null && !this.config.llm.configured) {
      throw unprocessable(
        'MODEL_NOT_CONFIGURED',
        'Running the remaining steps needs a language model, and none is configured: send `code`, or set OPENAI_API_KEY.',
        { variables: ['OPENAI_API_KEY', 'OPENAI_BASE_URL', 'LLM_MODEL'] },
      );
    }
    const byStep = new Map(steps.map((step) => [step.stepId, step]));
    const reuse: Record<string, StepCheckpoint> = {};
    for (const stepId of checkpoint.state.completedTasks) {
      const step = byStep.get(stepId);
      if (step !== undefined) reuse[stepId] = step;
    }
    const run = (original.restore?.run ?? 1) + 1;
    // A schedule's run resolved its task already: the new run takes what it resolved, not the reference.
    const { scheduled: _resolved, ...kept } = original;
    const input: ExecutionInput = {
      ...kept,
      executionId: id,
      task: snapshot.task,
      // Given code stays the run's only step; a plan the model made is kept, so nothing is planned again.
      plan: original.code !== null ? original.plan : (snapshot.plan ?? original.plan),
      files: snapshot.inputs,
      options: snapshot.options ?? original.options,
      ...(snapshot.namedTask ? { namedTask: snapshot.namedTask } : {}),
      modelAvailable: this.config.llm.configured,
      reuse,
      ...(code === undefined ? {} : { stepCode: { ...original.stepCode, [failedStep as string]: code } }),
      restore: { checkpointId, previousRunId, run, dataProfile: snapshot.dataProfile },
    };
    let runId: string;
    try {
      runId = await this.startWorkflow(input);
    } catch (error) {
      if (error instanceof WorkflowExecutionAlreadyStartedError) {
        throw invalidTransition(`execution ${id} has a run that is active already`, { status: await this.status(id) });
      }
      throw error;
    }
    this.recent.forget(id);
    return { id, runId, run, previousRunId };
  }

  /** The argument a run of the execution was started with, from the first event of its history. */
  private async startInput(id: string, runId: string): Promise<ExecutionInput> {
    const { history } = await this.client.workflowService.getWorkflowExecutionHistory({
      namespace: this.config.temporal.namespace,
      execution: { workflowId: id, runId },
      maximumPageSize: 1,
    });
    const payload = history?.events?.[0]?.workflowExecutionStartedEventAttributes?.input?.payloads?.[0];
    if (!payload) throw new Error(`the history of ${id} (run ${runId}) has no start input`);
    return this.client.options.loadedDataConverter.payloadConverter.fromPayload<ExecutionInput>(payload);
  }

  /**
   * The runs of an execution, oldest first: the latest from its description, earlier ones (only
   * executions that were restored have any) from Temporal visibility.
   */
  private async runsOf(id: string, latest: WorkflowExecutionDescription): Promise<ExecutionRun[]> {
    const current = runOf(latest);
    if (current.run === 1) return [current];
    const response = await this.client.workflowService.listWorkflowExecutions({
      namespace: this.config.temporal.namespace,
      query: `WorkflowId = '${checkId(id)}'`,
      pageSize: MAX_RUNS_LISTED,
    });
    const runs = new Map<string, ExecutionRun>();
    for (const raw of response.executions ?? []) {
      const info = await executionInfoFromRaw(
        raw,
        this.client.options.loadedDataConverter,
        raw,
        this.config.temporal.namespace,
      );
      if (info.type === WORKFLOW_TYPE) runs.set(info.runId, runOf(info));
    }
    // Visibility may not show the newest run yet; the description always does.
    runs.set(current.runId, current);
    return [...runs.values()].sort((a, b) => a.run - b.run || a.startedAt.localeCompare(b.startedAt));
  }

  /**
   * Starts a new execution that retries `parentId` from `fromStep`: every finished step that does not
   * depend on `fromStep` is reused (files copied, no model call, no sandbox run); `fromStep` runs
   * first with `code` when given.
   */
  async retry(parentId: string, fromStep: string, code: string | undefined): Promise<{ id: string }> {
    const parent = await this.get(parentId);
    if (!isTerminal(parent.status)) {
      throw invalidTransition(`cannot retry an execution that is ${parent.status}; cancel it first`, {
        status: parent.status,
      });
    }
    if (parent.plan === null || parent.options === null) {
      throw unprocessable('NOT_RETRYABLE', 'This execution never got a plan, so there is nothing to retry from.');
    }
    const plan = parent.plan;
    if (!plan.steps.some((step) => step.id === fromStep)) {
      throw unprocessable('UNKNOWN_STEP', `The plan has no step "${fromStep}".`, {
        steps: plan.steps.map((step) => step.id),
      });
    }
    if (code === undefined && !this.config.llm.configured) {
      throw unprocessable(
        'MODEL_NOT_CONFIGURED',
        'Running the step again needs a language model, and none is configured: send `code` for it, or set OPENAI_API_KEY.',
        { variables: ['OPENAI_API_KEY', 'OPENAI_BASE_URL', 'LLM_MODEL'] },
      );
    }
    const redo = dependentsOf(plan, fromStep);
    const reuse: Record<string, StepCheckpoint> = {};
    for (const checkpoint of await this.finishedSteps(parentId)) {
      if (!redo.has(checkpoint.stepId)) reuse[checkpoint.stepId] = checkpoint;
    }
    const id = `exec-${randomUUID()}`;
    for (const file of [...parent.inputs, ...Object.values(reuse).flatMap((checkpoint) => checkpoint.files)]) {
      await this.store.copy(parentId, file.key, id);
    }
    const input: ExecutionInput = {
      executionId: id,
      task: parent.task,
      code: null,
      plan,
      files: parent.inputs,
      options: parent.options,
      triggeredBy: parent.triggeredBy,
      kind: parent.kind,
      modelAvailable: this.config.llm.configured,
      createdAt: new Date().toISOString(),
      parentId,
      reuse,
      tenant: parent.tenant,
      ...(code === undefined ? {} : { stepCode: { [fromStep]: code } }),
    };
    const notify = await this.subscribe(undefined, id);
    if (notify.input) input.notify = notify.input;
    await this.startWorkflow(input);
    return { id };
  }

  /** Pauses a running execution after its current activity; 409 unless it is running. */
  async pause(id: string, reason: string | undefined): Promise<ExecutionStatus> {
    return this.update(id, () =>
      this.client.workflow.getHandle(id).executeUpdate(pauseUpdate, { args: [{ reason, by: this.principal.keyId }] }),
    );
  }

  /** Resumes a paused execution; 409 unless it is paused. */
  async resume(id: string, reason: string | undefined): Promise<ExecutionStatus> {
    return this.update(id, () =>
      this.client.workflow.getHandle(id).executeUpdate(resumeUpdate, { args: [{ reason, by: this.principal.keyId }] }),
    );
  }

  /** Answers the question an execution waits on; 409 unless it is awaiting input, 422 for a wrong answer. */
  async answer(id: string, answer: InputAnswer): Promise<ExecutionStatus> {
    return this.update(id, () =>
      this.client.workflow
        .getHandle(id)
        .executeUpdate(inputUpdate, { args: [{ ...answer, by: this.principal.keyId }] }),
    );
  }

  /**
   * What the running activities (sandbox steps, model calls that stream) have reported so far, from
   * their heartbeat details: one entry per activity that reported, none when nothing runs.
   */
  async liveOutput(id: string): Promise<LiveOutput[]> {
    const description = await this.describe(id);
    const converter = this.client.options.loadedDataConverter.payloadConverter;
    const live: LiveOutput[] = [];
    for (const activity of description.raw.pendingActivities ?? []) {
      const type = activity.activityType?.name ?? '';
      const payload = activity.heartbeatDetails?.payloads?.[0];
      if (!LIVE_ACTIVITIES.has(type) || !payload) continue;
      const details = converter.fromPayload<Record<string, unknown>>(payload);
      if (typeof details?.tail !== 'string') continue;
      if (details.kind === 'text' && typeof details.chars === 'number') {
        live.push({
          kind: 'text',
          stepId: typeof details.stepId === 'string' ? details.stepId : null,
          phase: String(details.phase ?? ''),
          attempt: Number(details.attempt ?? 0),
          chars: details.chars,
          tail: details.tail,
        });
      } else if (typeof details.stdoutChars === 'number') {
        live.push({
          kind: 'output',
          stepId: String(details.stepId ?? ''),
          attempt: Number(details.attempt ?? 0),
          chars: details.stdoutChars,
          tail: details.tail,
        });
      }
    }
    return live;
  }

  private async update<T = ExecutionStatus>(id: string, send: () => Promise<T>): Promise<T> {
    const description = await this.describe(id);
    if (description.status.name !== 'RUNNING') {
      const status = statusOf(description);
      throw invalidTransition(`the execution is ${status}`, { status });
    }
    if (this.workers !== null && !(await this.workers.polling())) throw workerUnavailable();
    try {
      return await this.bounded(UPDATE_TIMEOUT_MS, send);
    } catch (error) {
      if (error instanceof QueryTimeout) throw workerUnavailable();
      if (error instanceof WorkflowUpdateFailedError && error.cause instanceof ApplicationFailure) {
        if (error.cause.type === RefusalType.INVALID_STATE_TRANSITION) {
          throw invalidTransition(error.cause.message, { status: await this.status(id) });
        }
        if (error.cause.type === RefusalType.HISTORY_LIMIT) {
          throw new HttpError(409, 'HISTORY_LIMIT', error.cause.message, { status: await this.status(id) });
        }
        if (error.cause.type === RefusalType.INVALID_INPUT) throw unprocessable('INVALID_INPUT', error.cause.message);
        if (error.cause.type === RefusalType.UNKNOWN_ALERT) throw notFound(error.cause.message);
      }
      throw error;
    }
  }

  /** Waits for the end of the execution and returns its final snapshot. */
  async waitForEnd(id: string): Promise<ExecutionSnapshot> {
    await this.client.workflow.getHandle(checkId(id)).result();
    return this.get(id);
  }

  async list(filter: {
    status?: ExecutionStatus;
    triggeredBy?: TriggeredBy;
    /** Only for the operator: one tenant's executions. */
    tenant?: string;
    /** The runs of one named task. */
    task?: string;
    pageSize: number;
    nextPageToken?: string;
  }): Promise<{ executions: ExecutionSummary[]; nextPageToken: string | null }> {
    const clauses = [`WorkflowType = '${WORKFLOW_TYPE}'`];
    const tenant = this.principal.operator ? (filter.tenant ?? null) : this.principal.tenant;
    if (tenant !== null) clauses.push(tenantClause(tenant));
    if (filter.status) clauses.push(`ExecutionState = '${filter.status}'`);
    if (filter.triggeredBy) clauses.push(`TriggeredBy = '${filter.triggeredBy}'`);
    if (filter.task) clauses.push(`TaskSlug = '${filter.task}'`);
    const query = clauses.join(' AND ');
    const token = filter.nextPageToken ? readPageToken(filter.nextPageToken, query) : undefined;
    const response = await this.client.workflowService.listWorkflowExecutions({
      namespace: this.config.temporal.namespace,
      query,
      pageSize: filter.pageSize,
      nextPageToken: token,
    });
    // An execution restored in place has a run per restore; the page shows its newest (they come newest first).
    const seen = new Set<string>();
    const latestRuns = (response.executions ?? []).filter((raw) => {
      const workflowId = raw.execution?.workflowId ?? '';
      if (seen.has(workflowId)) return false;
      seen.add(workflowId);
      return true;
    });
    const executions = await Promise.all(
      latestRuns.map(async (raw) => {
        const info = await executionInfoFromRaw(
          raw,
          this.client.options.loadedDataConverter,
          raw,
          this.config.temporal.namespace,
        );
        const memo = (info.memo ?? {}) as Partial<Memo>;
        const status = info.typedSearchAttributes.get(executionStatusKey);
        return {
          id: info.workflowId,
          status: isExecutionStatus(status) ? status : temporalStatus(info.status.name),
          task: memo.task ?? null,
          kind: memo.kind ?? null,
          triggeredBy: memo.triggeredBy ?? null,
          createdAt: memo.createdAt ?? info.startTime.toISOString(),
          completedAt: info.closeTime?.toISOString() ?? null,
        };
      }),
    );
    const next = response.nextPageToken;
    return {
      executions,
      nextPageToken: next && next.length > 0 ? writePageToken(next, query) : null,
    };
  }

  /** An artifact of an execution as a stream, with its size; 404 when there is none. */
  async artifact(id: string, key: string): Promise<{ stream: Readable; size: number }> {
    await this.describe(id);
    const info = await this.store.stat(id, key);
    if (info === null) throw notFound(`execution ${id} has no file ${key}`);
    return { stream: await this.store.readStream(id, key), size: info.size };
  }

  async read(id: string, key: string): Promise<Buffer> {
    return this.store.read(id, key);
  }

  /** The execution's description; 404 when there is none, or it is another tenant's. */
  private async describe(id: string): Promise<WorkflowExecutionDescription> {
    const description = await this.describeOrNull(checkId(id));
    if (!description || !canSee(this.principal, tenantOf(description))) throw notFound(`no execution with id ${id}`);
    return description;
  }

  private async describeOrNull(id: string): Promise<WorkflowExecutionDescription | null> {
    try {
      return await this.client.workflow.getHandle(id).describe();
    } catch (error) {
      if (error instanceof WorkflowNotFoundError) return null;
      throw error;
    }
  }
}

/**
 * The page token a client gets: the server's token with a checksum over it and the list's query.
 * Temporal answers a token it did not make with a retried UNKNOWN error (about 20 s, then a 500), so
 * the gateway refuses a mangled token, or one from another filter, itself with a 400.
 */
function writePageToken(serverToken: Uint8Array, query: string): string {
  const token = Buffer.from(serverToken).toString('base64url');
  return `${token}.${pageTokenSum(token, query)}`;
}

function readPageToken(clientToken: string, query: string): Buffer {
  const [token, sum, ...rest] = clientToken.split('.');
  if (!token || rest.length > 0 || sum !== pageTokenSum(token, query)) {
    throw new HttpError(
      400,
      'BAD_REQUEST',
      'nextPageToken is not valid: pass the one the previous page returned, with the same filters.',
    );
  }
  return Buffer.from(token, 'base64url');
}

function pageTokenSum(token: string, query: string): string {
  return createHash('sha256').update(`${query}\n${token}`).digest('base64url').slice(0, 16);
}

class QueryTimeout extends Error {}

function workerUnavailable(): HttpError {
  return new HttpError(
    503,
    'WORKER_UNAVAILABLE',
    'No worker answered in time: is a worker running for this task queue?',
  );
}

function checkId(id: string): string {
  if (!EXECUTION_ID.test(id)) throw notFound(`no execution with id ${id}`);
  return id;
}

/** Execution ids from idempotency keys: readable when the key is safe, hashed otherwise. */
/**
 * The execution id an idempotency key stands for, within its tenant: the default tenant keeps the ids
 * its keys had before tenants existed; other tenants' ids are derived from tenant and key together.
 */
function idFromKey(key: string, tenant: string): string {
  if (tenant !== DEFAULT_TENANT) {
    return `exec-${createHash('sha256').update(`${tenant}\n${key}`).digest('hex').slice(0, 40)}`;
  }
  const safe = /^[A-Za-z0-9._:-]{1,100}$/.test(key);
  return `exec-${safe ? key : createHash('sha256').update(key).digest('hex').slice(0, 40)}`;
}

/** The tenant an execution belongs to: its search attribute, else (older executions) the default. */
function tenantOf(description: WorkflowExecutionDescription): string {
  const tenant = description.typedSearchAttributes.get(tenantKey);
  return typeof tenant === 'string' && tenant !== '' ? tenant : DEFAULT_TENANT;
}

/** The visibility clause for one tenant's executions; the default tenant's include the older ones. */
function tenantClause(tenant: string): string {
  if (!TENANT_ID.test(tenant)) throw new HttpError(400, 'BAD_REQUEST', `"${tenant}" is not a tenant id.`);
  return tenant === DEFAULT_TENANT ? `(Tenant = '${tenant}' OR Tenant IS NULL)` : `Tenant = '${tenant}'`;
}

/** The parts of a run's description, or of its visibility entry, that say how it stands. */
type RunInfo = Pick<
  WorkflowExecutionInfo,
  'runId' | 'status' | 'typedSearchAttributes' | 'memo' | 'startTime' | 'closeTime'
>;

function statusOf(description: RunInfo): ExecutionStatus {
  const fromAttribute = description.typedSearchAttributes.get(executionStatusKey);
  const temporal = temporalStatus(description.status.name);
  // A workflow closed by Temporal itself (terminated, timed out) never saw its own last transition.
  if (description.status.name !== 'RUNNING' && description.status.name !== 'COMPLETED') return temporal;
  return isExecutionStatus(fromAttribute) ? fromAttribute : temporal;
}

function temporalStatus(name: string): ExecutionStatus {
  switch (name) {
    case 'RUNNING':
      return 'running';
    case 'COMPLETED':
      return 'succeeded';
    case 'CANCELLED':
      return 'cancelled';
    case 'TIMED_OUT':
      return 'timed_out';
    default:
      return 'failed';
  }
}

/** One run as GET /api/executions/:id lists it. */
function runOf(info: RunInfo): ExecutionRun {
  const memo = (info.memo ?? {}) as Partial<Memo>;
  return {
    runId: info.runId,
    run: memo.run ?? 1,
    status: statusOf(info),
    startedAt: info.startTime.toISOString(),
    closedAt: info.closeTime?.toISOString() ?? null,
  };
}

/** What can be said of an execution whose workflow cannot answer a query right now. */
function fallbackSnapshot(id: string, description: WorkflowExecutionDescription): ExecutionSnapshot {
  const memo = (description.memo ?? {}) as Partial<Memo>;
  const status = statusOf(description);
  return {
    id,
    parentId: memo.parentId ?? null,
    options: null,
    dataProfile: null,
    inputs: [],
    seq: 0,
    status,
    task: memo.task ?? null,
    kind: memo.kind ?? 'task',
    triggeredBy: memo.triggeredBy ?? 'api',
    tenant: memo.tenant ?? DEFAULT_TENANT,
    namedTask: null,
    scheduleId: null,
    createdAt: memo.createdAt ?? description.startTime.toISOString(),
    startedAt: null,
    completedAt: description.closeTime?.toISOString() ?? null,
    plan: null,
    steps: [],
    progress: {
      percentage: 0,
      completedSteps: 0,
      totalSteps: 0,
      currentPhase: status === 'queued' ? 'queued' : 'done',
      currentStep: null,
      estimatedTimeRemainingMs: null,
    },
    awaiting: null,
    result: null,
    error:
      description.status.name === 'RUNNING'
        ? null
        : {
            code: 'INTERNAL',
            message: `The workflow ended as ${description.status.name.toLowerCase()} in Temporal.`,
            stepId: null,
            recoverable: false,
            at: description.closeTime?.toISOString() ?? new Date().toISOString(),
          },
    metrics: {
      totalDurationMs: 0,
      effectiveDurationMs: 0,
      tokens: { prompt: 0, completion: 0 },
      costUsd: 0,
      sandboxSeconds: 0,
      attempts: 0,
      successRate: 0,
      errorRate: 0,
      resourceEfficiency: null,
      throughput: null,
      qualityScore: null,
      quality: null,
    },
    resourceUsage: [],
    timeline: [],
    messages: [],
  };
}
