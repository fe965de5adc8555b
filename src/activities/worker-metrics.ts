import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { Counter, Gauge, Histogram, Registry, collectDefaultMetrics } from 'prom-client';
import type { SandboxKind } from '../domain/sandbox-kinds';
import type { Sandbox } from '../sandbox/types';

/** How a sandbox run ended, as the metrics count it. */
export type RunOutcome =
  'succeeded' | 'CODE_ERROR' | 'SANDBOX_TIMEOUT' | 'RESOURCE_EXHAUSTED' | 'OUTPUT_LIMIT' | 'unavailable' | 'cancelled';

/** Why the sandbox stopped a run before the code ended on its own. */
const KILL_REASONS: Partial<Record<RunOutcome, string>> = {
  SANDBOX_TIMEOUT: 'timeout',
  RESOURCE_EXHAUSTED: 'resource_limit',
  OUTPUT_LIMIT: 'output_limit',
  cancelled: 'cancelled',
};

/**
 * The worker's own metrics (prom-client), served on WORKER_METRICS_PORT: Node's process metrics, and
 * the sandbox's: runs and their durations by outcome, kills by reason, code refused before it ran,
 * the warm pool's size and how often a run found a started sandbox. Temporal's own worker metrics
 * come from the SDK's exporter, on a port of their own (WORKER_SDK_METRICS_PORT).
 */
export class WorkerMetrics {
  readonly registry = new Registry();
  private readonly runs: Counter<'backend' | 'outcome'>;
  private readonly durations: Histogram<'backend' | 'outcome'>;
  private readonly kills: Counter<'backend' | 'reason'>;
  private readonly refusals: Counter<'backend'>;

  constructor(sandboxes: Partial<Record<SandboxKind, Sandbox>>) {
    const registers = [this.registry];
    collectDefaultMetrics({ register: this.registry });
    this.runs = new Counter({
      name: 'sandbox_runs_total',
      help: 'Sandbox runs, by backend and how they ended.',
      labelNames: ['backend', 'outcome'],
      registers,
    });
    this.durations = new Histogram({
      name: 'sandbox_run_duration_seconds',
      help: 'Wall time of a sandbox run, by backend and how it ended.',
      labelNames: ['backend', 'outcome'],
      buckets: [0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60, 120, 300],
      registers,
    });
    this.kills = new Counter({
      name: 'sandbox_kills_total',
      help: 'Runs the sandbox stopped: timeout, resource_limit, output_limit or cancelled.',
      labelNames: ['backend', 'reason'],
      registers,
    });
    this.refusals = new Counter({
      name: 'sandbox_validation_refusals_total',
      help: 'Code refused before it ran (syntax, forbidden import, path outside the workspace).',
      labelNames: ['backend'],
      registers,
    });
    const pooled = () =>
      Object.entries(sandboxes).flatMap(([kind, sandbox]) => {
        const stats = sandbox?.poolStats?.();
        return stats ? [{ kind, stats }] : [];
      });
    new Gauge({
      name: 'sandbox_pool_idle',
      help: 'Started sandboxes waiting for a run: warm (pandas, numpy and matplotlib imported) or bare.',
      labelNames: ['backend', 'kind'],
      registers,
      collect() {
        for (const { kind, stats } of pooled()) {
          this.set({ backend: kind, kind: 'warm' }, stats.idleWarm);
          this.set({ backend: kind, kind: 'bare' }, stats.idleBare);
        }
      },
    });
    new Counter({
      name: 'sandbox_pool_takes_total',
      help: 'Runs by what they started in: a warm sandbox (warm_hit), a bare one (bare_hit), or one started for them (miss).',
      labelNames: ['backend', 'result'],
      registers,
      collect() {
        this.reset();
        for (const { kind, stats } of pooled()) {
          this.inc({ backend: kind, result: 'warm_hit' }, stats.warmHits);
          this.inc({ backend: kind, result: 'bare_hit' }, stats.bareHits);
          this.inc({ backend: kind, result: 'miss' }, stats.misses);
        }
      },
    });
  }

  runEnded(backend: SandboxKind, outcome: RunOutcome, wallMs: number): void {
    this.runs.inc({ backend, outcome });
    this.durations.observe({ backend, outcome }, wallMs / 1000);
    const reason = KILL_REASONS[outcome];
    if (reason) this.kills.inc({ backend, reason });
  }

  refused(backend: SandboxKind): void {
    this.refusals.inc({ backend });
  }

  /** Serves GET /metrics on `host:port`; resolves with the port taken (for port 0) and a way to stop. */
  async serve(host: string, port: number): Promise<{ port: number; close(): Promise<void> }> {
    const server = http.createServer((req, res) => {
      if (req.method !== 'GET' || (req.url ?? '').split('?')[0] !== '/metrics') {
        res.writeHead(404, { 'content-type': 'text/plain' }).end('GET /metrics\n');
        return;
      }
      this.registry.metrics().then(
        (text) => res.writeHead(200, { 'content-type': this.registry.contentType }).end(text),
        (error: unknown) => res.writeHead(500, { 'content-type': 'text/plain' }).end(`${String(error)}\n`),
      );
    });
    await new Promise<void>((resolve, reject) => {
      server.once('error', reject);
      server.listen(port, host, () => resolve());
    });
    return {
      port: (server.address() as AddressInfo).port,
      close: () => new Promise<void>((resolve) => server.close(() => resolve())),
    };
  }
}
