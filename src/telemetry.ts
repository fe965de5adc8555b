/**
 * Traces with OpenTelemetry, exported over OTLP/HTTP when OTEL_EXPORTER_OTLP_ENDPOINT is set: the
 * gateway's request spans, Temporal's client, workflow and activity spans (its interceptors carry
 * the context in the calls' headers), and the sandbox's run spans, so that one trace goes from an
 * HTTP request through the workflow and its activities to the code's run. Without the setting the
 * API's no-op tracer answers and nothing is exported.
 */
import { context, propagation, trace, type Tracer } from '@opentelemetry/api';
import { OTLPTraceExporter } from '@opentelemetry/exporter-trace-otlp-http';
import { Resource } from '@opentelemetry/resources';
import { BatchSpanProcessor, NoopSpanProcessor, type SpanProcessor } from '@opentelemetry/sdk-trace-base';
import { NodeTracerProvider } from '@opentelemetry/sdk-trace-node';
import { makeWorkflowExporter } from '@temporalio/interceptors-opentelemetry/lib/worker';
import type { WorkerOptions } from '@temporalio/worker';

export interface Tracing {
  resource: Resource;
  /** Where the workflow's spans go too (the workers' `exporter` sink). */
  spanProcessor: SpanProcessor;
  /** Sends what is buffered and stops. */
  shutdown(): Promise<void>;
}

/** The spans of our own code: gateway requests and sandbox runs. */
export function tracer(): Tracer {
  return trace.getTracer('agent-executions');
}

/**
 * Registers the process's tracer provider when `endpoint` is set (OTLP/HTTP, `<endpoint>/v1/traces`),
 * as `service` (`agent-executions-gateway`, `agent-executions-worker`); else a no-op.
 */
export function startTracing(service: string, endpoint: string | undefined): Tracing {
  const resource = new Resource({ 'service.name': service });
  if (endpoint === undefined) {
    return { resource, spanProcessor: new NoopSpanProcessor(), shutdown: async () => undefined };
  }
  const spanProcessor = new BatchSpanProcessor(
    new OTLPTraceExporter({ url: `${endpoint.replace(/\/+$/, '')}/v1/traces` }),
    { scheduledDelayMillis: 500 },
  );
  const provider = new NodeTracerProvider({ resource, spanProcessors: [spanProcessor] });
  provider.register();
  return {
    resource,
    spanProcessor,
    shutdown: async () => {
      await provider.shutdown();
      trace.disable();
      context.disable();
      propagation.disable();
    },
  };
}

/**
 * The sink the workflow bundle's OpenTelemetry interceptors send their spans to: every worker of
 * the bundle (a replaying one too) registers it, with a no-op processor when tracing is off.
 */
export function workflowSpanSinks(tracing?: Tracing): NonNullable<WorkerOptions['sinks']> {
  const { spanProcessor, resource } = tracing ?? startTracing('agent-executions-worker', undefined);
  return { exporter: makeWorkflowExporter(spanProcessor, resource) };
}
