/**
 * The rules of the local sandbox's pool, apart from its processes: which kind of started sandbox a
 * job is best given, and how many warm ones to keep for the rate at which jobs arrive.
 */

/** The libraries a warm sandbox has imported; code that imports none of them gains nothing from it. */
const WARMED = /^\s*(?:import|from)\s+(?:numpy|pandas|matplotlib|seaborn|scipy|sklearn|statsmodels)\b/m;

/** True when `code` imports a library a warm sandbox has ready (or one built on them). */
export function wantsWarm(code: string): boolean {
  return WARMED.test(code);
}

/** How far back arrivals count towards the rate. */
const WINDOW_MS = 30_000;

/** Jobs per second over the last half minute. */
export class ArrivalRate {
  private readonly times: number[] = [];

  constructor(private readonly windowMs = WINDOW_MS) {}

  note(now: number): void {
    this.times.push(now);
    this.drop(now);
  }

  perSecond(now: number): number {
    this.drop(now);
    if (this.times.length === 0) return 0;
    // A short history is measured over the time it spans, not the whole window.
    const span = Math.max(1000, Math.min(this.windowMs, now - this.times[0]));
    return (this.times.length * 1000) / span;
  }

  private drop(now: number): void {
    while (this.times.length > 0 && this.times[0] <= now - this.windowMs) this.times.shift();
  }
}

export interface PoolBounds {
  min: number;
  max: number;
}

/**
 * How many warm sandboxes to keep: enough that the jobs arriving while one warms up each find one
 * (rate × warm-up time), between the bounds.
 */
export function warmTarget(bounds: PoolBounds, arrivalsPerSecond: number, warmUpSeconds: number): number {
  const wanted = Math.ceil(arrivalsPerSecond * warmUpSeconds - 1e-9);
  return Math.max(bounds.min, Math.min(bounds.max, wanted));
}

/** A running mean that follows recent values: the warm-up time of the last few sandboxes. */
export function follow(previous: number, value: number, weight = 0.3): number {
  return previous + weight * (value - previous);
}
