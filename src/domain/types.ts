import type { Alert, AlertCondition } from './alerts';
import type { DataProfile } from './data-profile';
import type { ErrorType } from './errors';
import type { Quality } from './quality';
import type { CustomStrategy } from './custom-recovery';
import type { RecoveryPolicy } from './recovery';
import type { ResourceRequirement } from './resources';
import type { SandboxKind } from './sandbox-kinds';
import type { ExecutionStatus, TaskKind, TriggeredBy } from './status';

/**
 * A file in the artifact store. History holds only this reference; the bytes live in the store
 * under `key`, relative to the execution's folder.
 */
export interface ArtifactRef {
  name: string;
  key: string;
  size: number;
  sha256: string;
  contentType: string;
}

export interface PlanStep {
  id: string;
  title: string;
  description: string;
  dependsOn: string[];
  /** How this step answers failed attempts, per error code; overrides the execution's policy. */
  recovery?: RecoveryPolicy;
}

export interface Plan {
  steps: PlanStep[];
}

/** What happens after the last failed attempt of a step: fail, or ask a person for a hint or code. */
export type OnExhausted = 'fail' | 'ask';

/** Prices used for the cost metric, fixed when the execution is submitted. */
export interface Prices {
  /** US dollars per million prompt tokens. */
  promptPerMillion: number;
  /** US dollars per million completion tokens. */
  completionPerMillion: number;
  /** US dollars per second of sandbox wall time. */
  sandboxPerSecond: number;
}

export interface ExecutionOptions {
  maxAttempts: number;
  timeoutMs: number;
  stepTimeoutMs: number;
  requireApproval: boolean;
  budgetUsd: number | null;
  sandbox: SandboxKind;
  model: string;
  onExhausted: OnExhausted;
  /** How long a question to a person (approval, recovery) may stay unanswered. */
  inputTimeoutMs: number;
  /**
   * Whether the model may rewrite code the caller sent after it failed. Without it, given code runs
   * as sent and its failure is the step's failure. Absent in executions started before it existed.
   */
  repair?: boolean;
  /** How failed attempts are answered, per error code (defaults: regenerate). */
  recovery?: RecoveryPolicy;
  /**
   * Strategies of one's own (the request's and its task's, then its tenant's), consulted in order
   * before `recovery` and the defaults.
   */
  customRecovery?: CustomStrategy[];
  prices: Prices;
  /** Models asked in order when `model` cannot answer at all (`options.models` after its first). */
  fallbackModels?: string[];
  /** The prices of the fallback models, for the cost of each of their calls. */
  fallbackPrices?: Record<string, Prices>;
  /** What the request asked of the sandbox (`options.resources`), checked against the deployment's maxima. */
  resources?: ResourceRequirement;
  /**
   * The alert conditions the execution watches from its start: its request's, its named task's and
   * its tenant's defaults, in that order. Absent in executions started before alerts existed.
   */
  alerts?: AlertCondition[];
}

/** The workflow's argument. Uploaded files are already in the artifact store. */
export interface ExecutionInput {
  executionId: string;
  task: string | null;
  code: string | null;
  plan: Plan | null;
  files: ArtifactRef[];
  options: ExecutionOptions;
  triggeredBy: TriggeredBy;
  kind: TaskKind;
  /** Whether a model endpoint was configured when the execution was submitted. */
  modelAvailable: boolean;
  createdAt: string;
  /** Code to run first for a step, instead of asking the model (a retry with a person's code). */
  stepCode?: Record<string, string>;
  /** The execution this one retries. */
  parentId?: string | null;
  /** The tenant it belongs to; absent in executions started before tenants existed (the default). */
  tenant?: string;
  /** The named task and version this execution runs, when it was started as one of its runs. */
  namedTask?: NamedTaskRef;
  /** Finished steps taken over from the parent (or the restored checkpoint): no model call and no sandbox run for them. */
  reuse?: Record<string, StepCheckpoint>;
  /** Set on a run that restores the execution in place from a checkpoint of its previous run. */
  restore?: RestoreRef;
  /**
   * Set when a schedule started the execution: the task is resolved again in the first step, and
   * the rest of this input until then is what the task looked like when the schedule was made.
   */
  scheduled?: ScheduledRunRef;
  /**
   * Set when the execution's events are sent to subscribers: its tenant had subscriptions when it
   * was submitted, or it has one of its own (`options.notify`).
   */
  notify?: { subscriptionId: string | null };
  /** Set when the tenant's running executions are limited: the execution waits for a slot first. */
  slots?: { limit: number };
}

/** An event of an execution, as it is sent to the tenant's subscriptions. */
export interface ExecutionNotification {
  /** Unique per execution and event: `<executionId>:<n>`. */
  id: string;
  type: 'status' | 'awaiting_input' | 'completed' | 'alert';
  executionId: string;
  tenant: string;
  occurredAt: string;
  data: Record<string, unknown>;
}

/** Who wrote an attempt's code: the caller's request, the model, or a person answering a question. */
export type AttemptAuthor = 'caller' | 'model' | 'person';

/**
 * What a schedule's run starts from: the task of a tenant, the version pinned when the schedule was
 * made (or the latest at each run), and the inputs. The run resolves it in its first step.
 */
export interface ScheduledRunRef {
  scheduleId: string;
  tenant: string;
  slug: string;
  version: number | 'latest';
  inputs: Record<string, unknown>;
}

/** A version of a named task (`/api/tasks/:slug`). */
export interface NamedTaskRef {
  slug: string;
  version: number;
}

/**
 * What a run that restores an execution starts from: the checkpoint, the run it belongs to, and the
 * data profile that run made (so the files are not profiled again).
 */
export interface RestoreRef {
  checkpointId: string;
  previousRunId: string;
  /** This run's number: 2 for the first restore, and so on. */
  run: number;
  dataProfile?: DataProfile | null;
}

/** A finished step, kept so that a later execution (or run) can build on it instead of doing it again. */
export interface StepCheckpoint {
  stepId: string;
  attempt: number;
  at: string;
  /** Absent in checkpoints made before authors were recorded. */
  author?: AttemptAuthor;
  code: string;
  stdout: string;
  files: ArtifactRef[];
  results: RunResult[];
}

export interface TokenUsage {
  prompt: number;
  completion: number;
}

/** One answered call to the model, as the timeline shows it. */
export interface ModelCall {
  purpose: 'plan' | 'code' | 'analysis';
  model: string;
  prompt: number;
  completion: number;
  latencyMs: number;
  /** How JSON was asked for, on calls that wanted JSON. */
  format?: 'json_schema' | 'json_object' | 'text';
  /** The endpoint gave no token counts: they are estimated from characters. */
  estimated?: true;
}

/** Python's exception, as the sandbox reports it. */
export interface CodeError {
  name: string;
  value: string;
  traceback: string;
}

export interface ResourceUsage {
  cpuMs: number;
  peakMemoryBytes: number;
  wallMs: number;
}

/**
 * One sandbox run as an allocation record (the seed's `ResourceUsage` fields). Absent from the
 * entries of executions that ended before allocations had ids.
 */
export interface AllocationUsage {
  /** The allocation's id, as RESOURCE_ALLOCATED and RESOURCE_RELEASED carry it. */
  resourceId: string;
  resourceType: 'sandbox';
  sandbox: SandboxKind;
  /** Seconds of sandbox wall time. */
  amountUsed: number;
  /** `amountUsed` at the execution's sandbox price per second, US dollars. */
  cost: number;
  /** Workflow time of the allocation and of its release (ISO 8601). */
  startTime: string;
  endTime: string;
  /** Cores the run was given: 1, since no backend here gives a run more (see src/domain/resources.ts). */
  cores: number;
  /** CPU time over wall time times `cores`; null for a run of no measurable time. */
  efficiency: number | null;
}

/** One rich result of a run: a figure, the value of the trailing expression, … */
export interface RunResult {
  text?: string;
  html?: string;
  markdown?: string;
  json?: unknown;
  png?: ArtifactRef;
  jpeg?: ArtifactRef;
  svg?: string;
  isMainResult: boolean;
}

/** What one sandbox run of one attempt produced, with large data already in the store. */
export interface ExecuteOutcome {
  ok: boolean;
  errorType: ErrorType | null;
  error: CodeError | null;
  stdout: string;
  stderr: string;
  results: RunResult[];
  files: ArtifactRef[];
  usage: ResourceUsage;
  /** Typed messages the code sent with the `ml` helpers. */
  messages?: Array<{ level: MessageLevel; message: string }>;
}

export type AttemptStatus = 'succeeded' | 'failed';

export interface StepAttempt {
  n: number;
  status: AttemptStatus;
  /** Taken over from the parent execution's checkpoint rather than run again. */
  reused?: boolean;
  author: AttemptAuthor;
  code: string;
  stdout: string;
  stderr: string;
  error: { code: ErrorType; message: string; traceback?: string } | null;
  durationMs: number;
  files: ArtifactRef[];
  results: RunResult[];
}

export type StepStatus = 'pending' | 'running' | 'succeeded' | 'failed' | 'skipped';

export interface StepState {
  id: string;
  status: StepStatus;
  attempts: StepAttempt[];
}

export type TimelineType =
  | 'init'
  | 'step'
  | 'wait'
  | 'resume'
  | 'pause'
  | 'error'
  | 'finish'
  | 'cancelled'
  | 'timeout'
  | 'init_branch'
  | 'finish_branch';

export interface TimelineEvent {
  seq: number;
  type: TimelineType;
  event: string;
  at: string;
  stepId: string | null;
  description: string;
  data?: Record<string, unknown>;
}

/** The levels of the service's messages and of the `ml` helpers (`ml.success`, `ml.danger` among them). */
export const MESSAGE_LEVELS = ['debug', 'info', 'success', 'warning', 'danger', 'error'] as const;
export type MessageLevel = (typeof MESSAGE_LEVELS)[number];

export interface ExecutionMessage {
  seq: number;
  level: MessageLevel;
  message: string;
  at: string;
  stepId: string | null;
  /** On the warning of a triggered alert: the alert as it stood then. */
  alert?: Alert;
}

export type Phase =
  'queued' | 'profiling' | 'planning' | 'generating' | 'validating' | 'executing' | 'analyzing' | 'done';

export interface Progress {
  percentage: number;
  completedSteps: number;
  totalSteps: number;
  currentPhase: Phase;
  currentStep: string | null;
  estimatedTimeRemainingMs: number | null;
}

export interface ExecutionError {
  code: ErrorType;
  message: string;
  stepId: string | null;
  /** True when a retry from a step can succeed: the failure was of code or data, not of configuration. */
  recoverable: boolean;
  at: string;
  /** What helps a person decide what to do next. */
  context?: ErrorContext;
}

export interface ErrorContext {
  stepId: string | null;
  /** The attempt that failed last, when a step failed. */
  attempt?: number;
  /** The error code of the last failed attempt or activity. */
  errorCode: ErrorType;
  /** The recovery strategy that gave up, when one did. */
  strategy?: string;
}

export interface ExecutionResult {
  analysis: string | null;
  outputs: { plots: ArtifactRef[]; data: unknown };
  files: ArtifactRef[];
}

export interface ExecutionMetrics {
  totalDurationMs: number;
  /** Total minus the time spent paused or waiting for a person. */
  effectiveDurationMs: number;
  tokens: TokenUsage;
  costUsd: number;
  sandboxSeconds: number;
  attempts: number;
  successRate: number;
  errorRate: number;
  /** CPU time over wall time of the sandbox runs (one core each); null before the first run. */
  resourceEfficiency: number | null;
  /** Succeeded steps per second of effective time; null for executions that ended before it was measured. */
  throughput: number | null;
  /** `quality.score`, once a succeeded execution has its analysis; else null. */
  qualityScore: number | null;
  quality: Quality | null;
}

export interface Awaiting {
  kind: 'approval' | 'input' | 'recovery' | 'budget';
  prompt: string;
  since: string;
}

/** The whole visible state of one execution: the `snapshot` query and GET /api/executions/:id. */
export interface ExecutionSnapshot {
  id: string;
  parentId: string | null;
  tenant: string;
  namedTask: NamedTaskRef | null;
  /** The schedule that started the execution, or null. */
  scheduleId: string | null;
  /** Null only when the workflow could not be asked (the gateway then knows little). */
  options: ExecutionOptions | null;
  /**
   * Set by the gateway, never by the workflow, when no worker could answer: the snapshot is the last
   * one the gateway saw of this execution, or else what Temporal itself records of it.
   */
  stale?: true;
  /** The uploaded files. */
  inputs: ArtifactRef[];
  /** What the sandbox found in the uploaded files (format, shape, column types), once profiled. */
  dataProfile: DataProfile | null;
  /** Grows with every change; timeline events and messages carry the value it had when they were added. */
  seq: number;
  status: ExecutionStatus;
  task: string | null;
  kind: TaskKind;
  triggeredBy: TriggeredBy;
  createdAt: string;
  startedAt: string | null;
  completedAt: string | null;
  plan: Plan | null;
  steps: StepState[];
  progress: Progress;
  awaiting: Awaiting | null;
  result: ExecutionResult | null;
  error: ExecutionError | null;
  metrics: ExecutionMetrics;
  resourceUsage: Array<ResourceUsage & { stepId: string; attempt: number } & Partial<AllocationUsage>>;
  timeline: TimelineEvent[];
  messages: ExecutionMessage[];
}
