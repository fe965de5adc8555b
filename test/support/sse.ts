export interface SseEvent {
  event: string;
  id: string | null;
  data: any; // eslint-disable-line @typescript-eslint/no-explicit-any
  receivedAt: number;
}

/**
 * Reads a Server-Sent Events stream until an `end` event, the stream's end, or `timeoutMs`.
 * Calls `onEvent` as each event arrives.
 */
export async function readEvents(
  url: string,
  options: {
    lastEventId?: number;
    timeoutMs?: number;
    onEvent?: (event: SseEvent) => void;
    /** Sent with the request: an API key, for instance. */
    headers?: Record<string, string>;
  } = {},
): Promise<SseEvent[]> {
  const controller = new AbortController();
  const timer = setTimeout(() => controller.abort(), options.timeoutMs ?? 60_000);
  const headers: Record<string, string> = { accept: 'text/event-stream', ...options.headers };
  if (options.lastEventId !== undefined) headers['last-event-id'] = String(options.lastEventId);
  const events: SseEvent[] = [];
  try {
    const response = await fetch(url, { headers, signal: controller.signal });
    if (!response.ok || !response.body) throw new Error(`events answered ${response.status}`);
    const decoder = new TextDecoder();
    let buffer = '';
    for await (const chunk of response.body) {
      buffer += decoder.decode(chunk as Uint8Array, { stream: true });
      let boundary: number;
      while ((boundary = buffer.indexOf('\n\n')) !== -1) {
        const frame = buffer.slice(0, boundary);
        buffer = buffer.slice(boundary + 2);
        let event = 'message';
        let id: string | null = null;
        const data: string[] = [];
        for (const line of frame.split('\n')) {
          if (line.startsWith('event: ')) event = line.slice(7);
          else if (line.startsWith('id: ')) id = line.slice(4);
          else if (line.startsWith('data: ')) data.push(line.slice(6));
        }
        if (data.length === 0) continue;
        const parsed: SseEvent = { event, id, data: JSON.parse(data.join('\n')), receivedAt: Date.now() };
        events.push(parsed);
        options.onEvent?.(parsed);
        if (event === 'end') {
          controller.abort();
          return events;
        }
      }
    }
    return events;
  } catch (error) {
    if ((error as Error).name === 'AbortError') return events;
    throw error;
  } finally {
    clearTimeout(timer);
  }
}
