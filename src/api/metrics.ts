import { Counter, Gauge, Histogram, Registry, collectDefaultMetrics } from 'prom-client';
import type { TriggeredBy } from '../domain/status';

/**
 * The gateway's metrics for GET /metrics (Prometheus' text format), in a registry of its own so that
 * two gateways in one process (the tests) count apart: Node's process metrics (`process_*`,
 * `nodejs_*`), requests by route pattern and status, executions started by trigger, and event
 * streams open.
 */
export class HttpMetrics {
  readonly registry = new Registry();
  private readonly requests = new Histogram({
    name: 'gateway_http_request_duration_seconds',
    help: 'Time to answer an HTTP request, by method, route pattern and status.',
    labelNames: ['method', 'route', 'status'] as const,
    buckets: [0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30],
    registers: [this.registry],
  });
  private readonly started = new Counter({
    name: 'gateway_executions_started_total',
    help: 'Executions started through this gateway, by what started them (api, user, schedule, webhook).',
    labelNames: ['trigger'] as const,
    registers: [this.registry],
  });
  private readonly streams = new Gauge({
    name: 'gateway_sse_clients',
    help: 'Live event streams (GET /api/executions/:id/events) open now.',
    registers: [this.registry],
  });

  constructor() {
    collectDefaultMetrics({ register: this.registry });
  }

  observe(method: string, route: string, status: number, ms: number): void {
    this.requests.observe({ method, route, status: String(status) }, ms / 1000);
  }

  executionStarted(trigger: TriggeredBy): void {
    this.started.inc({ trigger });
  }

  /** Counts an event stream as open until the returned function is called. */
  streamOpened(): () => void {
    this.streams.inc();
    let closed = false;
    return () => {
      if (closed) return;
      closed = true;
      this.streams.dec();
    };
  }

  get contentType(): string {
    return this.registry.contentType;
  }

  render(): Promise<string> {
    return this.registry.metrics();
  }
}
