import { createParser, type EventSourceMessage } from 'eventsource-parser';
import { CliError } from './cli-error';
import { EXIT } from './exit-codes';
import type { GatewayClient } from './gateway-client';

/** One event of `GET /api/executions/:id/events`: `update`, `output`, `token`, `stale` or `end`. */
export interface StreamEvent {
  event: string;
  /** The snapshot's seq, on `update` and `end` events. */
  id: string | undefined;
  data: unknown;
}

/** Reconnections in a row without an event before following gives up. */
const MAX_RECONNECTS = 10;
const RECONNECT_DELAY_MS = 1000;

/**
 * The execution's live events until its `end` event, as the gateway streams them. A dropped
 * connection (a gateway restarted, a proxy's idle timeout) is opened again with `Last-Event-ID`, so
 * no update is repeated or lost; an answer such as 404 or 401 ends it with that error.
 */
export async function* executionEvents(
  client: GatewayClient,
  id: string,
  options: { lastEventId?: number; signal: AbortSignal },
): AsyncGenerator<StreamEvent> {
  let lastEventId = options.lastEventId ?? 0;
  let failures = 0;
  let lastFailure: unknown = null;
  while (!options.signal.aborted) {
    if (failures > 0) {
      if (failures > MAX_RECONNECTS) {
        if (lastFailure instanceof CliError) throw lastFailure;
        throw new CliError(EXIT.UNREACHABLE, `Lost the event stream of ${id} from ${client.baseUrl}.`);
      }
      await delay(RECONNECT_DELAY_MS, options.signal);
      if (options.signal.aborted) return;
    }
    const queue: EventSourceMessage[] = [];
    const parser = createParser({ onEvent: (message) => queue.push(message) });
    try {
      const response = await client.open(
        `/api/executions/${encodeURIComponent(id)}/events`,
        { accept: 'text/event-stream', 'last-event-id': String(lastEventId) },
        options.signal,
      );
      if (!response.body) throw new CliError(EXIT.ERROR, 'The event stream answered without a body.');
      const decoder = new TextDecoder();
      for await (const chunk of response.body) {
        parser.feed(decoder.decode(chunk as Uint8Array, { stream: true }));
        while (queue.length > 0) {
          const message = queue.shift()!;
          failures = 0;
          if (message.id !== undefined && message.event === 'update') lastEventId = Number(message.id);
          yield { event: message.event ?? 'message', id: message.id, data: parse(message.data) };
          if (message.event === 'end') return;
        }
      }
    } catch (error) {
      if (options.signal.aborted) return;
      // The gateway's refusals are final; a lost connection, or a gateway that cannot answer yet, is
      // worth another try.
      if (error instanceof CliError && error.exitCode !== EXIT.UNREACHABLE && error.exitCode !== EXIT.UNAVAILABLE) {
        throw error;
      }
      lastFailure = error;
    }
    failures++;
  }
}

function parse(data: string): unknown {
  try {
    return JSON.parse(data);
  } catch {
    return data;
  }
}

function delay(ms: number, signal: AbortSignal): Promise<void> {
  return new Promise((resolve) => {
    const timer = setTimeout(done, ms);
    signal.addEventListener('abort', done, { once: true });
    function done(): void {
      clearTimeout(timer);
      signal.removeEventListener('abort', done);
      resolve();
    }
  });
}
