import { Client, Connection, defaultGrpcRetryOptions, makeGrpcRetryInterceptor } from '@temporalio/client';
import { OpenTelemetryWorkflowClientInterceptor } from '@temporalio/interceptors-opentelemetry/lib/client';
import type { TemporalConnectionSettings } from '../temporal-settings';

/**
 * The gateway's retries of a Temporal call: a few quick ones (about a second in all), so that a
 * caller learns of an outage with a 503 at once instead of after the client's default of ten
 * attempts (about 20 s per call). A caller can retry; a hung HTTP request helps no one.
 */
export const GATEWAY_RETRY = { maxAttempts: 4, maxIntervalMs: () => 1000 };

/** A connection to Temporal for the gateway: lazy, so the gateway starts (and says "down") without it. */
export function gatewayConnection(settings: TemporalConnectionSettings): Connection {
  return Connection.lazy({
    ...settings,
    interceptors: [makeGrpcRetryInterceptor(defaultGrpcRetryOptions(GATEWAY_RETRY))],
  });
}

/** The gateway's client: Temporal calls carry the request's trace context, and are spans of it. */
export function gatewayClient(connection: Connection, namespace: string): Client {
  return new Client({
    connection,
    namespace,
    interceptors: { workflow: [new OpenTelemetryWorkflowClientInterceptor()] },
  });
}
