import { CancellationScope, condition, sleep } from '@temporalio/workflow';
import {
  MAX_ALERTS,
  SAMPLED_METRICS,
  alertOf,
  alertRequestProblem,
  evaluate,
  initialTracking,
  nextChangeAt,
  type Alert,
  type AlertCondition,
  type AlertRequest,
  type AlertTracking,
  type AlertTransition,
  type MetricValues,
  type SampledTransition,
} from '../domain/alerts';
import type { ExecutionRecord } from '../domain/execution-record';
import type { ExecutionInput } from '../domain/types';
import type { Notifier } from './notifier';

/**
 * The alert conditions of one execution and where each stands. Conditions on the record are
 * evaluated here, after every change of the record and at a timer set for the earliest moment time
 * alone could change one (a duration reached, a clock crossing a threshold), never by polling. The
 * sandbox's sampled metrics are evaluated where they are measured: their transitions arrive here as
 * a signal and are only recorded.
 */
export class AlertWatch {
  private conditions: AlertCondition[];
  private tracking = new Map<string, AlertTracking>();
  private readonly resolvedAt = new Map<string, number>();
  private readonly lastMessage = new Map<string, string>();
  /** The step whose sandbox run fired each firing sampled alert. */
  private readonly firedBy = new Map<string, string>();
  private nextId: number;
  /** Grows when the conditions change, so the watch loop evaluates again. */
  private version = 0;
  private wakes = 0;
  private armed: { at: number; scope: CancellationScope } | null = null;
  private stopped = false;

  constructor(
    private readonly input: ExecutionInput,
    private readonly record: ExecutionRecord,
    private readonly notifier: Notifier,
  ) {
    this.conditions = [...(input.options.alerts ?? [])];
    this.nextId = this.conditions.length + 1;
  }

  /** The conditions a schedule's run resolved with its task, which its start input could not carry. */
  adopt(conditions: readonly AlertCondition[]): void {
    const known = new Set(this.conditions.map((condition) => condition.id));
    const fresh = conditions.filter((condition) => !known.has(condition.id));
    this.conditions = [...fresh, ...this.conditions];
    this.nextId = Math.max(this.nextId, this.conditions.length + 1);
    this.version++;
  }

  list(): Alert[] {
    return this.conditions.map((condition) => this.alertOf(condition));
  }

  /** The sandbox-sampled conditions, which the sandbox activity evaluates while it runs. */
  sampled(): AlertCondition[] {
    return this.conditions.filter((condition) => SAMPLED_METRICS.includes(condition.metric));
  }

  /** Why `request` cannot be added now, or null. */
  addRefusal(request: AlertRequest): string | null {
    if (this.record.isFinished) return `cannot set an alert on an execution that is ${this.record.current}`;
    if (this.conditions.length >= MAX_ALERTS) return `an execution watches at most ${MAX_ALERTS} alerts`;
    return alertRequestProblem(request);
  }

  add(request: AlertRequest, by: string | null): Alert {
    while (this.has(`alert-${this.nextId}`)) this.nextId++;
    const condition: AlertCondition = {
      id: `alert-${this.nextId++}`,
      metric: request.metric,
      operator: request.operator,
      threshold: request.threshold,
      ...(request.durationMs ? { durationMs: request.durationMs } : {}),
      source: 'execution',
    };
    this.conditions.push(condition);
    this.version++;
    this.record.log('info', `alert ${condition.id} set${by ? ` by ${by}` : ''}`, null);
    return this.alertOf(condition);
  }

  has(alertId: string): boolean {
    return this.conditions.some((condition) => condition.id === alertId);
  }

  remove(alertId: string, by: string | null): Alert {
    const condition = this.conditions.find((candidate) => candidate.id === alertId);
    if (condition === undefined) throw new Error(`no alert ${alertId}`);
    const removed = this.alertOf(condition);
    this.conditions = this.conditions.filter((candidate) => candidate.id !== alertId);
    this.tracking.delete(alertId);
    this.version++;
    this.record.log('info', `alert ${alertId} removed${by ? ` by ${by}` : ''}`, null);
    return removed;
  }

  /**
   * Records transitions the sandbox found for its sampled conditions (conditions removed meanwhile
   * are ignored), and keeps their tracking so GET shows them.
   */
  takeSampled(stepId: string, transitions: readonly SampledTransition[]): void {
    for (const sampled of transitions) {
      const condition = this.conditions.find((candidate) => candidate.id === sampled.alertId);
      if (condition === undefined || !SAMPLED_METRICS.includes(condition.metric)) continue;
      const before = this.tracking.get(condition.id) ?? initialTracking();
      // Once per episode here too: a repeated trigger (a retried activity) is not recorded again.
      if ((sampled.kind === 'triggered') === (before.state === 'firing')) continue;
      const atMs = Date.parse(sampled.at);
      if (sampled.kind === 'triggered') this.firedBy.set(condition.id, stepId);
      else this.firedBy.delete(condition.id);
      this.tracking.set(
        condition.id,
        sampled.kind === 'triggered'
          ? {
              state: 'firing',
              sinceMs: atMs - sampled.heldMs,
              triggeredAtMs: atMs,
              episodes: before.episodes + 1,
              value: sampled.value,
            }
          : { ...before, state: 'ok', sinceMs: null, value: sampled.value },
      );
      this.publish(
        {
          kind: sampled.kind,
          condition,
          value: sampled.value,
          atMs,
          heldMs: sampled.heldMs,
          message: sampled.message,
        },
        stepId,
      );
    }
  }

  /**
   * Resolves the sampled conditions still firing when the sandbox run that fired them has ended
   * (`stepId`'s, or any at the end): without the run nothing uses that CPU or memory.
   */
  sandboxEnded(stepId: string | null): void {
    const now = Date.now();
    for (const condition of this.sampled()) {
      const state = this.tracking.get(condition.id);
      if (state?.state !== 'firing') continue;
      if (stepId !== null && this.firedBy.get(condition.id) !== stepId) continue;
      this.firedBy.delete(condition.id);
      this.tracking.set(condition.id, { ...state, state: 'ok', sinceMs: null });
      this.publish(
        {
          kind: 'resolved',
          condition,
          value: null,
          atMs: now,
          heldMs: now - (state.sinceMs ?? now),
          message: `alert ${condition.id} resolved: the sandbox run ended`,
        },
        stepId,
      );
    }
  }

  /** Evaluates the record's conditions now, recording what fired or resolved. */
  check(): void {
    const { values } = this.record.alertMetrics();
    this.apply(values);
  }

  /**
   * Evaluates after every change of the record or of the conditions, and when a timer set for the
   * next moment time alone could change something fires, until the execution has ended.
   */
  async watch(): Promise<void> {
    while (!this.stopped) {
      const { values, growing } = this.record.alertMetrics();
      const nowMs = Date.now();
      this.apply(values);
      if (this.record.isFinished) break;
      const next = nextChangeAt(this.recordConditions(), values, nowMs, this.tracking, growing);
      this.arm(next, nowMs);
      const changes = this.record.changes;
      const version = this.version;
      const wakes = this.wakes;
      await condition(
        () =>
          this.stopped ||
          this.record.isFinished ||
          this.record.changes !== changes ||
          this.version !== version ||
          this.wakes !== wakes,
      );
    }
    this.arm(null, Date.now());
  }

  /** The last evaluation, at the end of the execution; the loop stops with it. */
  stop(): void {
    this.check();
    this.sandboxEnded(null);
    this.stopped = true;
    this.arm(null, Date.now());
  }

  private recordConditions(): AlertCondition[] {
    return this.conditions.filter((condition) => !SAMPLED_METRICS.includes(condition.metric));
  }

  private apply(values: MetricValues): void {
    const conditions = this.recordConditions();
    const { tracking, transitions } = evaluate(conditions, values, Date.now(), this.tracking);
    for (const [id, state] of tracking) this.tracking.set(id, state);
    for (const transition of transitions) this.publish(transition);
  }

  /** One timer at a time, kept while the moment it waits for stays the same. */
  private arm(at: number | null, nowMs: number): void {
    if (this.armed !== null && this.armed.at === at) return;
    this.armed?.scope.cancel();
    this.armed = null;
    if (at === null) return;
    const scope = new CancellationScope();
    const armed = { at, scope };
    this.armed = armed;
    scope
      .run(() => sleep(Math.max(1, at - nowMs)))
      .then(
        () => {
          if (this.armed !== armed) return;
          this.armed = null;
          this.wakes++;
        },
        () => undefined, // cancelled: a later moment, or the end
      );
  }

  /** Records a transition: the timeline event, the message, the subscribers' `alert` event. */
  private publish(transition: AlertTransition, stepId: string | null = this.record.stepInProgress): void {
    const { condition, kind, value, heldMs, message } = transition;
    if (kind === 'resolved') this.resolvedAt.set(condition.id, transition.atMs);
    this.lastMessage.set(condition.id, message);
    const data = {
      alertId: condition.id,
      metric: condition.metric,
      operator: condition.operator,
      threshold: condition.threshold,
      value,
      durationMs: heldMs,
      source: condition.source,
    };
    const alert = this.alertOf(condition);
    if (kind === 'triggered') {
      this.record.addEvent('error', 'ALERT_TRIGGERED', message, stepId, data);
      this.record.log('warning', message, stepId, alert);
    } else {
      this.record.addEvent('step', 'ALERT_RESOLVED', message, stepId, data);
      this.record.log('info', message, stepId);
    }
    this.notifier.alert({ kind, alert, ...data });
  }

  private alertOf(condition: AlertCondition): Alert {
    return alertOf(this.input.executionId, condition, this.tracking.get(condition.id) ?? initialTracking(), {
      resolvedAtMs: this.resolvedAt.get(condition.id) ?? null,
      message: this.lastMessage.get(condition.id) ?? null,
    });
  }
}
