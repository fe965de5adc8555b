import type { Alert, MetricValues } from './alerts';
import {
  MAX_ON_DEMAND_CHECKPOINTS,
  boundedVariables,
  checkpointId,
  type Checkpoint,
  type CheckpointList,
  type CheckpointReason,
  type TaskState,
} from './checkpoints';
import { clip } from './clip';
import type { DataProfile } from './data-profile';
import { DEFAULT_TENANT } from './tenancy';
import { can, EVENT_RECORDS, transition, type ExecutionEvent } from './execution-machine';
import { costUsd } from './pricing';
import { qualityOf, type Quality } from './quality';
import { efficiency } from './resources';
import type { SandboxKind } from './sandbox-kinds';
import { isTerminal, type ExecutionStatus } from './status';
import type {
  ArtifactRef,
  Awaiting,
  ExecutionError,
  ExecutionInput,
  ExecutionMessage,
  ExecutionResult,
  ExecutionSnapshot,
  MessageLevel,
  ModelCall,
  Phase,
  Plan,
  ResourceUsage,
  StepAttempt,
  StepCheckpoint,
  StepState,
  TimelineEvent,
  TimelineType,
  TokenUsage,
} from './types';

/** Most timeline events and messages kept; older ones are dropped (the first few are kept). */
export const MAX_TIMELINE = 400;
export const MAX_MESSAGES = 400;
const KEEP_HEAD = 20;
/**
 * How attempts are shown, tried in turn until the text of all attempts fits SNAPSHOT_TEXT_BUDGET:
 * the last `full` attempts of each step in full, older ones cut to `older` characters per field.
 * The snapshot is a query answer and the workflow's result, both refused by Temporal over 2 MB.
 */
const ATTEMPT_TIERS = [
  { full: 3, older: 1024 },
  { full: 1, older: 512 },
  { full: 0, older: 2048, oldest: 256 },
] as const;
/** Characters of attempt text a snapshot may carry, leaving room for the timeline and messages. */
export const SNAPSHOT_TEXT_BUDGET = 600_000;

/** Share of the progress bar given to planning and to the final analysis. */
const PLAN_SHARE = 10;
const ANALYSIS_SHARE = 10;

export class RefusedTransition extends Error {
  override readonly name = 'RefusedTransition';
}

function bounded<T>(list: T[], max: number): void {
  if (list.length > max) list.splice(KEEP_HEAD, list.length - max);
}

/** A checkpoint as the record keeps it: its variables are read from the finished steps when asked. */
interface CheckpointMark {
  id: string;
  at: string;
  reason: CheckpointReason;
  currentTaskId: string | null;
  /** How many of the finished steps (in the order they finished) it includes. */
  finished: number;
  taskStates: Record<string, TaskState>;
  stepId?: string;
  attempt?: number;
  by?: string;
  restoredFrom?: string;
}

/** Statuses whose time does not count towards the effective duration. */
const IDLE: readonly ExecutionStatus[] = ['paused', 'awaiting_input'];

/**
 * Everything visible about one execution, kept by its workflow. Pure and deterministic: time comes
 * from the injected clock (workflow time inside the workflow), so it can be unit-tested on its own.
 */
export class ExecutionRecord {
  private status: ExecutionStatus = 'queued';
  private readonly timeline: TimelineEvent[] = [];
  private readonly messages: ExecutionMessage[] = [];
  private readonly steps = new Map<string, StepState>();
  private readonly stepTimes = new Map<string, { started: number; finished: number | null }>();
  private readonly resourceUsage: ExecutionSnapshot['resourceUsage'] = [];
  private readonly finishedSteps: StepCheckpoint[] = [];
  private readonly marks: CheckpointMark[] = [];
  private onDemandMarks = 0;
  private seq = 0;
  private plan: Plan | null = null;
  private dataProfile: DataProfile | null = null;
  private quality: Quality | null = null;
  private phase: Phase = 'queued';
  private currentStep: string | null = null;
  private startedAt: Date | null = null;
  private completedAt: Date | null = null;
  private idleSince: number | null = null;
  private idleMs = 0;
  private tokens: TokenUsage = { prompt: 0, completion: 0 };
  private modelCalls = 0;
  private awaiting: Awaiting | null = null;
  private result: ExecutionResult | null = null;
  private error: ExecutionError | null = null;

  constructor(
    private readonly input: ExecutionInput,
    private readonly now: () => Date,
  ) {}

  get current(): ExecutionStatus {
    return this.status;
  }

  /** Whether the execution got as far as a plan: only then can it be retried from a step. */
  get hasPlan(): boolean {
    return this.plan !== null;
  }

  get isFinished(): boolean {
    return isTerminal(this.status);
  }

  /** Grows with every change (the snapshot's `seq`): a watcher compares it to see that something changed. */
  get changes(): number {
    return this.seq;
  }

  /** The step the execution is at, or null. */
  get stepInProgress(): string | null {
    return this.currentStep;
  }

  /**
   * Moves to the state the transition table gives for `event`, or throws RefusedTransition; the
   * timeline gets the event's type and name from the table.
   */
  apply(
    event: ExecutionEvent,
    description: string,
    data?: Record<string, unknown>,
    stepId: string | null = null,
  ): ExecutionStatus {
    const outcome = transition(this.status, event);
    if (!outcome.ok) throw new RefusedTransition(outcome.reason);
    const at = this.now().getTime();
    if (IDLE.includes(outcome.from) && this.idleSince !== null) {
      this.idleMs += at - this.idleSince;
      this.idleSince = null;
    }
    if (IDLE.includes(outcome.to)) this.idleSince = at;
    this.status = outcome.to;
    if (outcome.to === 'starting' && this.startedAt === null) this.startedAt = this.now();
    if (isTerminal(outcome.to)) {
      this.completedAt = this.now();
      this.phase = 'done';
      this.currentStep = null;
      this.awaiting = null;
    }
    const { type, name } = EVENT_RECORDS[event];
    this.addEvent(type, name, description, stepId, { from: outcome.from, to: outcome.to, ...data });
    return outcome.to;
  }

  addEvent(
    type: TimelineType,
    name: string,
    description: string,
    stepId: string | null = null,
    data?: Record<string, unknown>,
  ): void {
    this.timeline.push({
      seq: ++this.seq,
      type,
      event: name,
      at: this.now().toISOString(),
      stepId,
      description,
      ...(data ? { data } : {}),
    });
    bounded(this.timeline, MAX_TIMELINE);
  }

  log(level: MessageLevel, message: string, stepId: string | null = null, alert?: Alert): void {
    this.messages.push({
      seq: ++this.seq,
      level,
      message,
      at: this.now().toISOString(),
      stepId,
      ...(alert ? { alert } : {}),
    });
    bounded(this.messages, MAX_MESSAGES);
  }

  /**
   * The values alert conditions are evaluated on, now (units in alerts.ts), and which of them grow
   * with time alone. The sandbox's sampled metrics are not the record's: they come with the samples.
   */
  alertMetrics(): { values: MetricValues; growing: Set<'execution_duration' | 'step_duration'> } {
    const nowMs = this.now().getTime();
    const finished = this.completedAt !== null;
    const end = this.completedAt?.getTime() ?? nowMs;
    const attempts = [...this.steps.values()].flatMap((step) => step.attempts);
    const failed = attempts.filter((attempt) => attempt.status === 'failed').length;
    let stepMs = 0;
    let stepRunning = false;
    if (!finished) {
      for (const [stepId, times] of this.stepTimes) {
        if (times.finished !== null || this.steps.get(stepId)?.status !== 'running') continue;
        stepRunning = true;
        stepMs = Math.max(stepMs, nowMs - times.started);
      }
    }
    const growing = new Set<'execution_duration' | 'step_duration'>();
    if (this.startedAt !== null && !finished) growing.add('execution_duration');
    if (stepRunning) growing.add('step_duration');
    return {
      values: {
        execution_duration: this.startedAt ? Math.max(0, end - this.startedAt.getTime()) : 0,
        step_duration: stepMs,
        cost_usd: this.spentUsd(),
        tokens: this.tokens.prompt + this.tokens.completion,
        attempts: attempts.length,
        error_rate: attempts.length === 0 ? 0 : failed / attempts.length,
      },
      growing,
    };
  }

  setPhase(phase: Phase, stepId: string | null = this.currentStep): void {
    if (this.phase === phase && this.currentStep === stepId) return;
    this.phase = phase;
    this.currentStep = stepId;
    this.seq++;
  }

  setDataProfile(profile: DataProfile): void {
    this.dataProfile = profile;
    this.seq++;
  }

  setPlan(plan: Plan): void {
    this.plan = plan;
    for (const step of plan.steps) this.steps.set(step.id, { id: step.id, status: 'pending', attempts: [] });
    this.seq++;
  }

  startStep(stepId: string): void {
    this.step(stepId).status = 'running';
    this.stepTimes.set(stepId, { started: this.now().getTime(), finished: null });
    this.setPhase('generating', stepId);
    // While running, a step start is the machine's self-transition; a parallel step may also start
    // while another one waits for a person.
    if (can(this.status, 'step')) this.apply('step', `step ${stepId} started`, undefined, stepId);
    else this.addEvent('step', 'TASK_STARTED', `step ${stepId} started`, stepId);
  }

  finishStep(stepId: string, status: 'succeeded' | 'failed'): void {
    const step = this.step(stepId);
    step.status = status;
    const times = this.stepTimes.get(stepId);
    if (times) times.finished = this.now().getTime();
    this.addEvent(
      status === 'succeeded' ? 'step' : 'error',
      status === 'succeeded' ? 'TASK_COMPLETED' : 'TASK_FAILED',
      `step ${stepId} ${status} after ${step.attempts.length} attempt(s)`,
      stepId,
    );
  }

  /** A step finished and its results are safe: later work, a retry or a restore can build on them. */
  checkpoint(stepId: string): StepCheckpoint {
    const attempt = this.step(stepId).attempts.find((candidate) => candidate.status === 'succeeded');
    if (!attempt) throw new Error(`step ${stepId} has no successful attempt to keep`);
    const checkpoint: StepCheckpoint = {
      stepId,
      attempt: attempt.n,
      at: this.now().toISOString(),
      author: attempt.author,
      code: attempt.code,
      stdout: attempt.stdout,
      files: attempt.files,
      results: attempt.results,
    };
    this.finishedSteps.push(checkpoint);
    const id = this.mark('step_finished', stepId, { stepId, attempt: attempt.n });
    this.addEvent('step', 'CHECKPOINT_CREATED', `step ${stepId} is done; its outputs are kept`, stepId, {
      checkpointId: id,
      files: attempt.files.map((file) => file.name),
    });
    return checkpoint;
  }

  /**
   * Takes a finished step over from a parent execution, or from the checkpoint `restoredFrom` of this
   * execution's previous run.
   */
  reuse(checkpoint: StepCheckpoint, restoredFrom?: string): void {
    const step = this.step(checkpoint.stepId);
    step.status = 'succeeded';
    step.attempts.push({
      n: 1,
      status: 'succeeded',
      reused: true,
      author: checkpoint.author ?? 'model',
      code: checkpoint.code,
      stdout: checkpoint.stdout,
      stderr: '',
      error: null,
      durationMs: 0,
      files: checkpoint.files,
      results: checkpoint.results,
    });
    this.finishedSteps.push({ ...checkpoint, attempt: 1 });
    const id = this.mark('step_reused', checkpoint.stepId, {
      stepId: checkpoint.stepId,
      attempt: 1,
      ...(restoredFrom === undefined ? {} : { restoredFrom }),
    });
    const from = restoredFrom === undefined ? 'the parent execution' : `checkpoint ${restoredFrom}`;
    this.addEvent('step', 'TASK_COMPLETED', `step ${checkpoint.stepId} reused from ${from}`, checkpoint.stepId, {
      reused: true,
      checkpointId: id,
    });
  }

  /** The finished steps, in the order they finished: what a retry reuses. */
  checkpoints(): StepCheckpoint[] {
    return [...this.finishedSteps];
  }

  /** Why an on-demand checkpoint cannot be made now, or null when it can. */
  checkpointRefusal(): string | null {
    if (this.isFinished) return `cannot make a checkpoint of an execution that is ${this.status}`;
    if (this.onDemandMarks >= MAX_ON_DEMAND_CHECKPOINTS) {
      return `this run already has ${MAX_ON_DEMAND_CHECKPOINTS} checkpoints made on demand`;
    }
    return null;
  }

  /** Records the finished steps as a checkpoint, on someone's request. */
  checkpointOnDemand(by: string | null): { id: string; timestamp: string } {
    this.onDemandMarks++;
    const id = this.mark('on_demand', this.currentStep, by === null ? {} : { by });
    this.addEvent('step', 'CHECKPOINT_CREATED', `checkpoint ${id} made on demand`, this.currentStep, {
      checkpointId: id,
      reason: 'on_demand',
      completedTasks: this.finishedSteps.map((step) => step.stepId),
      ...(by === null ? {} : { by }),
    });
    return { id, timestamp: this.marks[this.marks.length - 1].at };
  }

  /** Every checkpoint of this run, with the finished steps they name. */
  checkpointList(): CheckpointList {
    const run = this.input.restore?.run ?? 1;
    const checkpoints = this.marks.map((mark): Checkpoint => {
      const finished = this.finishedSteps.slice(0, mark.finished);
      const { variables, bytes, omitted } = boundedVariables(finished);
      return {
        id: mark.id,
        executionId: this.input.executionId,
        timestamp: mark.at,
        state: {
          currentTaskId: mark.currentTaskId,
          completedTasks: finished.map((step) => step.stepId),
          taskStates: mark.taskStates,
          variables,
        },
        metadata: {
          reason: mark.reason,
          run,
          ...(mark.stepId === undefined ? {} : { stepId: mark.stepId, attempt: mark.attempt }),
          ...(mark.by === undefined ? {} : { by: mark.by }),
          ...(mark.restoredFrom === undefined ? {} : { restoredFrom: mark.restoredFrom }),
          variablesBytes: bytes,
          ...(omitted.length === 0 ? {} : { omittedVariables: omitted }),
        },
      };
    });
    return { checkpoints, steps: this.checkpoints() };
  }

  private mark(
    reason: CheckpointReason,
    currentTaskId: string | null,
    extra: Pick<CheckpointMark, 'stepId' | 'attempt' | 'by' | 'restoredFrom'>,
  ): string {
    const id = checkpointId(this.input.restore?.run ?? 1, this.marks.length + 1);
    const taskStates: Record<string, TaskState> = {};
    for (const step of this.steps.values()) {
      taskStates[step.id] = { status: step.status, attempts: step.attempts.length };
    }
    this.marks.push({
      id,
      at: this.now().toISOString(),
      reason,
      currentTaskId,
      finished: this.finishedSteps.length,
      taskStates,
      ...extra,
    });
    return id;
  }

  /**
   * Records an attempt; with `usage`, its sandbox run too, as an allocation record when `allocation`
   * (its id, backend and start) is given: released now, given one core.
   */
  recordAttempt(
    stepId: string,
    attempt: Omit<StepAttempt, 'n'>,
    usage?: ResourceUsage,
    allocation?: { resourceId: string; sandbox: SandboxKind; startTime: string },
  ): StepAttempt {
    const step = this.step(stepId);
    const recorded = { n: step.attempts.length + 1, ...attempt };
    step.attempts.push(recorded);
    if (usage) {
      const amountUsed = usage.wallMs / 1000;
      const cores = 1;
      this.resourceUsage.push({
        stepId,
        attempt: recorded.n,
        ...usage,
        ...(allocation
          ? {
              ...allocation,
              resourceType: 'sandbox' as const,
              amountUsed,
              cost: costUsd(this.input.options.prices, { prompt: 0, completion: 0 }, amountUsed),
              endTime: this.now().toISOString(),
              cores,
              efficiency: efficiency(usage.cpuMs, usage.wallMs, cores),
            }
          : {}),
      });
    }
    if (recorded.error) {
      this.addEvent('error', 'TASK_FAILED', `attempt ${recorded.n} failed: ${recorded.error.code}`, stepId, {
        attempt: recorded.n,
        code: recorded.error.code,
      });
      this.log(
        'warning',
        `attempt ${recorded.n} of step ${stepId} failed: ${clip(recorded.error.message, 500)}`,
        stepId,
      );
    } else {
      this.seq++;
    }
    return recorded;
  }

  /**
   * Counts what a model activity used, and puts each of its calls (model, tokens, latency, cost) and
   * what it noted (a response format refused, a shorter prompt, another model) on the timeline.
   */
  addModelOutcome(outcome: { usage: TokenUsage; calls?: ModelCall[]; notes?: string[] }, stepId: string | null): void {
    this.addTokens(outcome.usage);
    const { prices, fallbackPrices } = this.input.options;
    for (const call of outcome.calls ?? []) {
      const cost = costUsd(fallbackPrices?.[call.model] ?? prices, call, 0);
      this.addEvent(
        'step',
        'MODEL_CALL',
        `${call.purpose} by ${call.model}: ${call.prompt} + ${call.completion} tokens in ${call.latencyMs} ms`,
        stepId,
        {
          purpose: call.purpose,
          model: call.model,
          promptTokens: call.prompt,
          completionTokens: call.completion,
          latencyMs: call.latencyMs,
          costUsd: cost,
          ...(call.format ? { format: call.format } : {}),
          ...(call.estimated ? { estimated: true } : {}),
        },
      );
    }
    for (const note of outcome.notes ?? []) {
      this.addEvent('step', 'MODEL_FALLBACK', note, stepId);
      this.log('warning', note, stepId);
    }
  }

  addTokens(usage: TokenUsage): void {
    this.tokens = { prompt: this.tokens.prompt + usage.prompt, completion: this.tokens.completion + usage.completion };
    this.modelCalls++;
    this.seq++;
  }

  /**
   * CPU time over wall time times the cores given, of all the sandbox runs together: near 1 for code
   * that computes all the time, near 0 for code that waits. Null before the first run.
   */
  private resourceEfficiency(): number | null {
    const given = this.resourceUsage.reduce((sum, usage) => sum + usage.wallMs * (usage.cores ?? 1), 0);
    if (given === 0) return null;
    return this.resourceUsage.reduce((sum, usage) => sum + usage.cpuMs, 0) / given;
  }

  /** Steps finished (succeeded) per second of effective time. */
  private throughput(effectiveMs: number): number {
    if (effectiveMs === 0) return 0;
    const finished = [...this.steps.values()].filter((step) => step.status === 'succeeded').length;
    return finished / (effectiveMs / 1000);
  }

  /** What the execution has cost so far. */
  spentUsd(): number {
    return costUsd(this.input.options.prices, this.tokens, this.sandboxSeconds());
  }

  /**
   * The likely cost of one more model call or sandbox run: the average of those so far, or, before
   * the first, a typical size (1,000 prompt and 500 completion tokens; 10 s in the sandbox).
   */
  estimateUsd(kind: 'model' | 'sandbox'): number {
    const prices = this.input.options.prices;
    if (kind === 'model') {
      const tokens =
        this.modelCalls === 0
          ? { prompt: 1000, completion: 500 }
          : { prompt: this.tokens.prompt / this.modelCalls, completion: this.tokens.completion / this.modelCalls };
      return costUsd(prices, tokens, 0);
    }
    const runs = this.resourceUsage.length;
    const seconds = runs === 0 ? 10 : this.sandboxSeconds() / runs;
    return costUsd(prices, { prompt: 0, completion: 0 }, seconds);
  }

  /** A step given up by its recovery strategy. */
  skipStep(stepId: string): void {
    this.step(stepId).status = 'skipped';
    this.addEvent('step', 'TASK_COMPLETED', `step ${stepId} skipped`, stepId, { skipped: true });
  }

  private sandboxSeconds(): number {
    return this.resourceUsage.reduce((sum, usage) => sum + usage.wallMs, 0) / 1000;
  }

  setAwaiting(awaiting: Awaiting | null): void {
    this.awaiting = awaiting;
    this.seq++;
  }

  succeed(result: ExecutionResult): void {
    this.result = result;
    if (result.analysis !== null) this.quality = this.judge(result.analysis);
    this.apply('succeed', 'execution succeeded');
  }

  /** How far the analysis can be trusted: see quality.ts. */
  private judge(analysis: string): Quality {
    const rescued = new Set(
      this.timeline
        .filter(
          (event) =>
            event.event === 'RECOVERY_INITIATED' && ['fallback', 'skip'].includes(String(event.data?.strategy)),
        )
        .map((event) => event.stepId),
    );
    const steps = [...this.steps.values()];
    const produced = steps
      .flatMap((step) => step.attempts.filter((attempt) => attempt.status === 'succeeded'))
      .flatMap((attempt) => [
        attempt.stdout,
        ...attempt.results.map((value) => value.text ?? (value.json === undefined ? '' : JSON.stringify(value.json))),
      ])
      .join('\n');
    return qualityOf({
      totalSteps: steps.length,
      completeSteps: steps.filter((step) => step.status === 'succeeded' && !rescued.has(step.id)).length,
      analysis,
      produced,
      task: this.input.task ?? '',
    });
  }

  fail(error: Omit<ExecutionError, 'at'>): void {
    this.error = { ...error, at: this.now().toISOString() };
    this.markUnfinishedSteps();
    this.apply('fail', `execution failed: ${error.code}`);
  }

  cancel(reason: string): void {
    this.error = {
      code: 'CANCELLED',
      message: reason,
      stepId: this.currentStep,
      recoverable: this.plan !== null,
      at: this.now().toISOString(),
    };
    this.markUnfinishedSteps();
    this.apply('cancel', reason);
  }

  timeOut(message: string): void {
    this.error = {
      code: 'TIMED_OUT',
      message,
      stepId: this.currentStep,
      recoverable: this.plan !== null,
      at: this.now().toISOString(),
    };
    this.markUnfinishedSteps();
    this.apply('time_out', message);
  }

  /** Every file and chart the finished steps produced, from each step's successful attempt. */
  outputs(): { files: ArtifactRef[]; plots: ArtifactRef[]; data: unknown } {
    const files: ArtifactRef[] = [];
    const plots: ArtifactRef[] = [];
    let data: unknown = null;
    for (const step of this.steps.values()) {
      const good = step.attempts.find((attempt) => attempt.status === 'succeeded');
      if (!good) continue;
      files.push(...good.files);
      plots.push(...good.files.filter((file) => file.contentType === 'image/png'));
      for (const result of good.results) {
        if (result.png) plots.push(result.png);
        if (result.isMainResult) data = result.json ?? result.text ?? null;
      }
    }
    return { files, plots, data };
  }

  snapshot(): ExecutionSnapshot {
    const attempts = [...this.steps.values()].flatMap((step) => step.attempts);
    const failed = attempts.filter((attempt) => attempt.status === 'failed').length;
    const nowMs = this.now().getTime();
    const end = this.completedAt?.getTime() ?? nowMs;
    const total = this.startedAt ? Math.max(0, end - this.startedAt.getTime()) : 0;
    const idle = this.idleMs + (this.idleSince !== null ? end - this.idleSince : 0);
    const sandboxSeconds = this.sandboxSeconds();
    return {
      id: this.input.executionId,
      parentId: this.input.parentId ?? null,
      tenant: this.input.tenant ?? DEFAULT_TENANT,
      namedTask: this.input.namedTask ?? null,
      scheduleId: this.input.scheduled?.scheduleId ?? null,
      options: this.input.options,
      inputs: this.input.files,
      dataProfile: this.dataProfile,
      seq: this.seq,
      status: this.status,
      task: this.input.task,
      kind: this.input.kind,
      triggeredBy: this.input.triggeredBy,
      createdAt: this.input.createdAt,
      startedAt: this.startedAt?.toISOString() ?? null,
      completedAt: this.completedAt?.toISOString() ?? null,
      plan: this.plan,
      steps: boundedSteps([...this.steps.values()]),
      progress: this.progress(nowMs),
      awaiting: this.awaiting,
      result: this.result,
      error: this.error,
      metrics: {
        totalDurationMs: total,
        effectiveDurationMs: Math.max(0, total - idle),
        tokens: { ...this.tokens },
        costUsd: costUsd(this.input.options.prices, this.tokens, sandboxSeconds),
        sandboxSeconds,
        attempts: attempts.length,
        successRate: attempts.length === 0 ? 0 : (attempts.length - failed) / attempts.length,
        errorRate: attempts.length === 0 ? 0 : failed / attempts.length,
        resourceEfficiency: this.resourceEfficiency(),
        throughput: this.throughput(Math.max(0, total - idle)),
        qualityScore: this.quality?.score ?? null,
        quality: this.quality,
      },
      resourceUsage: [...this.resourceUsage],
      timeline: [...this.timeline],
      messages: [...this.messages],
    };
  }

  private progress(nowMs: number): ExecutionSnapshot['progress'] {
    const steps = [...this.steps.values()];
    const totalSteps = steps.length;
    const completedSteps = steps.filter((step) => step.status === 'succeeded' || step.status === 'skipped').length;
    let percentage: number;
    if (this.status === 'succeeded') percentage = 100;
    else if (this.plan === null) percentage = 0;
    else {
      const stepShare = 100 - PLAN_SHARE - ANALYSIS_SHARE;
      percentage = PLAN_SHARE + (totalSteps === 0 ? stepShare : (stepShare * completedSteps) / totalSteps);
    }
    return {
      percentage: Math.round(percentage),
      completedSteps,
      totalSteps,
      currentPhase: this.phase,
      currentStep: this.currentStep,
      estimatedTimeRemainingMs: this.estimate(nowMs, totalSteps, completedSteps),
    };
  }

  /** Remaining time from the measured duration of finished steps; null until one has finished. */
  private estimate(nowMs: number, totalSteps: number, completedSteps: number): number | null {
    if (isTerminal(this.status)) return 0;
    const finished = [...this.stepTimes.values()].filter((times) => times.finished !== null);
    if (finished.length === 0) return null;
    const average = finished.reduce((sum, times) => sum + (times.finished! - times.started), 0) / finished.length;
    const running = this.currentStep ? this.stepTimes.get(this.currentStep) : undefined;
    const spentOnCurrent = running && running.finished === null ? nowMs - running.started : 0;
    const remainingSteps = Math.max(0, totalSteps - completedSteps);
    return Math.max(0, Math.round(remainingSteps * average - Math.min(spentOnCurrent, average)));
  }

  private markUnfinishedSteps(): void {
    for (const step of this.steps.values()) {
      if (step.status === 'running') step.status = 'failed';
      if (step.status === 'pending') step.status = 'skipped';
    }
  }

  private step(stepId: string): StepState {
    const step = this.steps.get(stepId);
    if (!step) throw new Error(`unknown step ${stepId}`);
    return step;
  }
}

/**
 * The steps with their attempts shortened by the first tier whose text fits the budget (the last
 * tier always applies), so the snapshot stays below Temporal's payload limit however many attempts
 * a plan makes.
 */
function boundedSteps(steps: StepState[]): StepState[] {
  let shown: StepState[] = steps;
  for (const tier of ATTEMPT_TIERS) {
    shown = steps.map((step) => ({
      ...step,
      attempts: step.attempts.map((attempt, index) => {
        const age = step.attempts.length - 1 - index;
        if (age < tier.full) return attempt;
        const chars = 'oldest' in tier && age > 0 ? tier.oldest : tier.older;
        return shortened(attempt, chars);
      }),
    }));
    if (textSize(shown) <= SNAPSHOT_TEXT_BUDGET) break;
  }
  return shown;
}

/** The characters of text the attempts carry: what decides the snapshot's size. */
function textSize(steps: StepState[]): number {
  let size = 0;
  for (const step of steps) {
    for (const attempt of step.attempts) {
      size += attempt.code.length + attempt.stdout.length + attempt.stderr.length;
      size += (attempt.error?.message.length ?? 0) + (attempt.error?.traceback?.length ?? 0);
      for (const result of attempt.results) {
        size += (result.text?.length ?? 0) + (result.html?.length ?? 0) + (result.markdown?.length ?? 0);
        size += (result.svg?.length ?? 0) + (result.json === undefined ? 0 : JSON.stringify(result.json).length);
      }
    }
  }
  return size;
}

/** An attempt with each text field cut to `chars`, so the snapshot stays below Temporal's payload limits. */
function shortened(attempt: StepAttempt, chars: number): StepAttempt {
  return {
    ...attempt,
    code: clip(attempt.code, chars),
    stdout: clip(attempt.stdout, chars),
    stderr: clip(attempt.stderr, chars),
    error: attempt.error
      ? {
          ...attempt.error,
          message: clip(attempt.error.message, chars),
          traceback: attempt.error.traceback && clip(attempt.error.traceback, chars),
        }
      : null,
    results: attempt.results.map((result) => ({
      ...result,
      text: result.text && clip(result.text, chars),
      html: undefined,
      markdown: result.markdown && clip(result.markdown, chars),
      svg: undefined,
    })),
  };
}
