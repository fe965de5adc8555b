/** Counters for GET /metrics, in Prometheus' text format. */
export class HttpMetrics {
  executionsSubmitted = 0;
  private readonly requests = new Map<string, { count: number; seconds: number }>();

  observe(method: string, route: string, status: number, ms: number): void {
    const key = `method="${method}",route="${route.replace(/"/g, '')}",status="${status}"`;
    const entry = this.requests.get(key) ?? { count: 0, seconds: 0 };
    entry.count++;
    entry.seconds += ms / 1000;
    this.requests.set(key, entry);
  }

  render(): string {
    const lines = [
      '# HELP gateway_http_requests_total HTTP requests answered.',
      '# TYPE gateway_http_requests_total counter',
      ...[...this.requests].map(([labels, entry]) => `gateway_http_requests_total{${labels}} ${entry.count}`),
      '# HELP gateway_http_request_seconds_total Time spent answering HTTP requests.',
      '# TYPE gateway_http_request_seconds_total counter',
      ...[...this.requests].map(([labels, entry]) => `gateway_http_request_seconds_total{${labels}} ${entry.seconds}`),
      '# HELP gateway_executions_submitted_total Executions started through the gateway.',
      '# TYPE gateway_executions_submitted_total counter',
      `gateway_executions_submitted_total ${this.executionsSubmitted}`,
      '# HELP process_resident_memory_bytes Resident memory of the gateway.',
      '# TYPE process_resident_memory_bytes gauge',
      `process_resident_memory_bytes ${process.memoryUsage().rss}`,
    ];
    return `${lines.join('\n')}\n`;
  }
}
