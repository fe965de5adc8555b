import { evaluate, type AlertCondition, type AlertTracking, type SampledTransition } from '../domain/alerts';
import type { SandboxSample } from '../sandbox/types';

/**
 * Evaluates an execution's sampled conditions (`cpu_usage`, `memory_bytes`) on one sandbox run's
 * samples, where they are measured: CPU as percent of one core over each interval between samples,
 * memory as the run's resident bytes. Only transitions leave the worker (through `send`, the
 * `alertSample` signal), one at a time in order; a failed send is logged and dropped, never failing
 * the run.
 */
export class SampledAlerts {
  private tracking = new Map<string, AlertTracking>();
  private last: { atMs: number; cpuMs: number };
  private sending: Promise<void> = Promise.resolve();

  constructor(
    private readonly conditions: readonly AlertCondition[],
    private readonly send: (transitions: SampledTransition[]) => Promise<void>,
    private readonly warn: (message: string, error: unknown) => void,
    startedAtMs: number,
  ) {
    this.last = { atMs: startedAtMs, cpuMs: 0 };
  }

  take(sample: SandboxSample): void {
    const intervalMs = sample.atMs - this.last.atMs;
    if (intervalMs <= 0) return;
    const cpu = (Math.max(0, sample.cpuMs - this.last.cpuMs) / intervalMs) * 100;
    this.last = { atMs: sample.atMs, cpuMs: sample.cpuMs };
    const { tracking, transitions } = evaluate(
      this.conditions,
      { cpu_usage: Math.round(cpu * 10) / 10, memory_bytes: sample.rssBytes },
      sample.atMs,
      this.tracking,
    );
    this.tracking = tracking;
    if (transitions.length === 0) return;
    const found: SampledTransition[] = transitions.map((transition) => ({
      alertId: transition.condition.id,
      kind: transition.kind,
      value: transition.value,
      at: new Date(transition.atMs).toISOString(),
      heldMs: transition.heldMs,
      message: transition.message,
    }));
    this.sending = this.sending.then(() =>
      this.send(found).catch((error: unknown) => this.warn('an alert sample could not be sent', error)),
    );
  }

  /** Resolves once every transition found so far has been sent (or given up on). */
  async flushed(): Promise<void> {
    await this.sending;
  }
}
