import { assertNever } from './assert-never';

/**
 * What an alert can watch, with its unit:
 * - `execution_duration`: milliseconds since the execution started (pauses and waits included);
 * - `step_duration`: milliseconds the longest-running step in progress has run (0 when none runs);
 * - `cost_usd`: US dollars spent so far (model tokens and sandbox time at the execution's prices);
 * - `tokens`: prompt plus completion tokens so far;
 * - `attempts`: attempts made so far, over all steps;
 * - `error_rate`: failed attempts over attempts, 0 to 1 (0 before the first);
 * - `cpu_usage`: percent of one core the sandbox run in progress uses, sampled while it runs;
 * - `memory_bytes`: resident memory of the sandbox run in progress, sampled while it runs.
 */
export const ALERT_METRICS = [
  'execution_duration',
  'step_duration',
  'cost_usd',
  'tokens',
  'attempts',
  'error_rate',
  'cpu_usage',
  'memory_bytes',
] as const;
export type AlertMetric = (typeof ALERT_METRICS)[number];

/** The metrics measured inside a sandbox run: evaluated where they are sampled, sent to the workflow. */
export const SAMPLED_METRICS: readonly AlertMetric[] = ['cpu_usage', 'memory_bytes'];

export const ALERT_OPERATORS = ['gt', 'lt', 'eq', 'gte', 'lte'] as const;
export type AlertOperator = (typeof ALERT_OPERATORS)[number];

/** Where a condition came from: the execution itself (its request or a POST), its named task, its tenant. */
export type AlertSource = 'execution' | 'task' | 'tenant';

/** Most conditions one execution watches. */
export const MAX_ALERTS = 20;

/** A condition on one metric of one execution (the seed's `AlertCondition`). */
export interface AlertCondition {
  id: string;
  metric: AlertMetric;
  operator: AlertOperator;
  threshold: number;
  /** The condition must hold this long (milliseconds) before the alert fires; absent or 0: at once. */
  durationMs?: number;
  source: AlertSource;
}

/** What a caller sends for one condition; the id and source are the service's. */
export type AlertRequest = Pick<AlertCondition, 'metric' | 'operator' | 'threshold' | 'durationMs'>;

/**
 * Where a condition stands: `ok` (does not hold), `pending` (holds, not yet for `durationMs`),
 * `firing` (triggered; it stays firing, without triggering again, until the condition stops holding).
 */
export type AlertState = 'ok' | 'pending' | 'firing';

/** How the evaluation remembers a condition between evaluations. */
export interface AlertTracking {
  state: AlertState;
  /** When the condition began to hold (pending or firing), epoch milliseconds. */
  sinceMs: number | null;
  triggeredAtMs: number | null;
  /** How many times it has fired (episodes). */
  episodes: number;
  /** The metric's last value seen, or null when it had none. */
  value: number | null;
}

/** The seed's `Alert`: one condition of one execution as it stands, with the last episode's details. */
export interface Alert {
  id: string;
  executionId: string;
  condition: AlertCondition;
  state: AlertState;
  severity: 'warning';
  /** When the condition began to hold in the current episode (ISO 8601), or null. */
  since: string | null;
  /** When it last fired, or null. */
  triggeredAt: string | null;
  /** When the last episode ended, or null. */
  resolvedAt: string | null;
  /** The metric's last value seen, or null. */
  value: number | null;
  episodes: number;
  /** What the last trigger or resolution said, or null before either. */
  message: string | null;
}

/** The metrics' values now; a metric without a value (no sandbox run in progress) holds no condition. */
export type MetricValues = Partial<Record<AlertMetric, number>>;

/** A change the evaluation found: a condition fired, or a firing one stopped holding. */
export interface AlertTransition {
  kind: 'triggered' | 'resolved';
  condition: AlertCondition;
  value: number | null;
  atMs: number;
  /** How long the condition had held when it fired, or how long the episode lasted when it resolved. */
  heldMs: number;
  message: string;
}

const SYMBOLS: Record<AlertOperator, string> = { gt: '>', lt: '<', eq: '=', gte: '>=', lte: '<=' };

/** Whether `value <operator> threshold`. */
export function holds(operator: AlertOperator, value: number, threshold: number): boolean {
  switch (operator) {
    case 'gt':
      return value > threshold;
    case 'lt':
      return value < threshold;
    case 'gte':
      return value >= threshold;
    case 'lte':
      return value <= threshold;
    case 'eq':
      return Math.abs(value - threshold) <= 1e-9 * Math.max(1, Math.abs(threshold));
    default:
      return assertNever(operator);
  }
}

/** `step_duration > 1000`, `held 500 ms` appended when the condition has a duration. */
export function describeCondition(condition: AlertCondition): string {
  const held = condition.durationMs ? ` for ${condition.durationMs} ms` : '';
  return `${condition.metric} ${SYMBOLS[condition.operator]} ${condition.threshold}${held}`;
}

export const initialTracking = (): AlertTracking => ({
  state: 'ok',
  sinceMs: null,
  triggeredAtMs: null,
  episodes: 0,
  value: null,
});

/**
 * Evaluates every condition against the metrics' values at `nowMs`. A condition that holds fires
 * once it has held for its `durationMs` (at once without one) and then stays firing, without firing
 * again, until it stops holding: that resolves it and ends the episode. A pending condition that
 * stops holding before its duration goes back to `ok` without a transition.
 */
export function evaluate(
  conditions: readonly AlertCondition[],
  values: MetricValues,
  nowMs: number,
  previous: ReadonlyMap<string, AlertTracking>,
): { tracking: Map<string, AlertTracking>; transitions: AlertTransition[] } {
  const tracking = new Map<string, AlertTracking>();
  const transitions: AlertTransition[] = [];
  for (const condition of conditions) {
    const before = previous.get(condition.id) ?? initialTracking();
    const value = values[condition.metric];
    const now = value !== undefined && holds(condition.operator, value, condition.threshold);
    const next: AlertTracking = { ...before, value: value ?? null };
    if (!now) {
      if (before.state === 'firing') {
        const heldMs = nowMs - (before.sinceMs ?? nowMs);
        transitions.push({
          kind: 'resolved',
          condition,
          value: value ?? null,
          atMs: nowMs,
          heldMs,
          message: `alert ${condition.id} resolved: ${describeCondition(condition)} no longer holds (${shown(value)})`,
        });
      }
      next.state = 'ok';
      next.sinceMs = null;
    } else {
      const since = before.state === 'ok' ? nowMs : (before.sinceMs ?? nowMs);
      next.sinceMs = since;
      if (before.state === 'firing') next.state = 'firing';
      else if (nowMs - since >= (condition.durationMs ?? 0)) {
        next.state = 'firing';
        next.triggeredAtMs = nowMs;
        next.episodes = before.episodes + 1;
        transitions.push({
          kind: 'triggered',
          condition,
          value: value ?? null,
          atMs: nowMs,
          heldMs: nowMs - since,
          message: `alert ${condition.id} triggered: ${describeCondition(condition)} (${shown(value)})`,
        });
      } else next.state = 'pending';
    }
    tracking.set(condition.id, next);
  }
  return { tracking, transitions };
}

function shown(value: number | undefined): string {
  if (value === undefined) return 'no value';
  return `value ${Number.isInteger(value) ? value : Number(value.toPrecision(6))}`;
}

/**
 * The earliest moment after `nowMs` at which an evaluation could find something new without any
 * other change to the record: a pending condition reaching its duration, or a metric that grows
 * with time (`growing`, one millisecond per millisecond) crossing a threshold. Null when nothing
 * would change by time alone, so no timer is needed.
 */
export function nextChangeAt(
  conditions: readonly AlertCondition[],
  values: MetricValues,
  nowMs: number,
  tracking: ReadonlyMap<string, AlertTracking>,
  growing: ReadonlySet<AlertMetric>,
): number | null {
  let earliest: number | null = null;
  const consider = (at: number) => {
    if (at > nowMs && (earliest === null || at < earliest)) earliest = at;
  };
  for (const condition of conditions) {
    const state = tracking.get(condition.id) ?? initialTracking();
    if (state.state === 'pending' && state.sinceMs !== null) consider(state.sinceMs + (condition.durationMs ?? 0));
    const value = values[condition.metric];
    if (value === undefined || !growing.has(condition.metric)) continue;
    const gap = condition.threshold - value;
    switch (condition.operator) {
      case 'gt':
      case 'lte':
        // Crosses from `<= threshold` to `> threshold` one millisecond after reaching it.
        if (gap >= 0) consider(nowMs + Math.floor(gap) + 1);
        break;
      case 'gte':
      case 'lt':
        if (gap > 0) consider(nowMs + Math.ceil(gap));
        break;
      case 'eq':
        // A clock equals a threshold only for an instant: there is nothing to wait for.
        break;
      default:
        assertNever(condition.operator);
    }
  }
  return earliest;
}

/** The Alert as GET shows it, from the condition and its tracking. */
export function alertOf(
  executionId: string,
  condition: AlertCondition,
  state: AlertTracking,
  extra: { resolvedAtMs: number | null; message: string | null },
): Alert {
  const iso = (ms: number | null) => (ms === null ? null : new Date(ms).toISOString());
  return {
    id: condition.id,
    executionId,
    condition,
    state: state.state,
    severity: 'warning',
    since: iso(state.sinceMs),
    triggeredAt: iso(state.triggeredAtMs),
    resolvedAt: iso(extra.resolvedAtMs),
    value: state.value,
    episodes: state.episodes,
    message: extra.message,
  };
}

/** Why `request` cannot be watched, or null: the gateway's schema checks the same, the workflow again. */
export function alertRequestProblem(request: AlertRequest): string | null {
  if (!ALERT_METRICS.includes(request.metric)) return `unknown metric ${JSON.stringify(request.metric)}`;
  if (!ALERT_OPERATORS.includes(request.operator)) return `unknown operator ${JSON.stringify(request.operator)}`;
  if (typeof request.threshold !== 'number' || !Number.isFinite(request.threshold)) {
    return 'the threshold must be a finite number';
  }
  const duration = request.durationMs;
  if (duration !== undefined && (!Number.isInteger(duration) || duration < 0 || duration > 7 * 24 * 3600 * 1000)) {
    return 'the duration must be a whole number of milliseconds, at most 7 days';
  }
  return null;
}

/** A transition the sandbox activity found for one of its sampled conditions (the `alertSample` signal). */
export interface SampledTransition {
  alertId: string;
  kind: 'triggered' | 'resolved';
  value: number | null;
  /** When it was found (ISO 8601, the worker's clock). */
  at: string;
  heldMs: number;
  message: string;
}
