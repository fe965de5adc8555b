import { useCallback, useEffect, useRef, useState } from 'react';
import { ApiError, api, describeError, type Snapshot } from './api';

export interface LiveExecution {
  snapshot: Snapshot | null;
  /** `not_found`, or the words for what went wrong reading it; null when the last read worked. */
  problem: { kind: 'not_found' | 'error'; text: string } | null;
  /** True while no worker can answer for it: what is shown is the last state seen. */
  stale: boolean;
  /** What each running attempt printed so far, by `<stepId>/<attempt>`, from the event stream. */
  output: Record<string, string>;
  /** Reads the snapshot again now (after a control request, for instance). */
  refresh(): void;
}

/**
 * One execution, kept current: the snapshot from GET, read again whenever the event stream says it
 * changed, and the sandbox's output as it streams. EventSource reconnects by itself (with
 * Last-Event-ID); the stream's own `stale` events, and failed reads, are shown as such.
 */
export function useExecution(id: string): LiveExecution {
  const [snapshot, setSnapshot] = useState<Snapshot | null>(null);
  const [problem, setProblem] = useState<LiveExecution['problem']>(null);
  const [stale, setStale] = useState(false);
  const [output, setOutput] = useState<Record<string, string>>({});
  const pending = useRef<ReturnType<typeof setTimeout> | null>(null);
  const alive = useRef(true);

  const read = useCallback(async () => {
    try {
      const next = await api.get(id);
      if (!alive.current) return;
      setSnapshot(next);
      setStale(next.stale === true);
      setProblem(null);
    } catch (error) {
      if (!alive.current) return;
      setProblem(
        error instanceof ApiError && error.status === 404
          ? { kind: 'not_found', text: 'There is no run with this id, or it belongs to another tenant.' }
          : { kind: 'error', text: describeError(error) },
      );
    }
  }, [id]);

  /** Several updates in a burst are one read. */
  const readSoon = useCallback(() => {
    if (pending.current !== null) return;
    pending.current = setTimeout(() => {
      pending.current = null;
      void read();
    }, 100);
  }, [read]);

  useEffect(() => {
    alive.current = true;
    setSnapshot(null);
    setOutput({});
    void read();
    const events = new EventSource(`/api/executions/${encodeURIComponent(id)}/events`);
    events.addEventListener('update', readSoon);
    events.addEventListener('output', (event) => {
      const data = JSON.parse((event as MessageEvent<string>).data) as {
        stepId: string;
        attempt: number;
        text: string;
      };
      const key = `${data.stepId}/${data.attempt}`;
      setOutput((current) => ({ ...current, [key]: (current[key] ?? '') + data.text }));
    });
    events.addEventListener('stale', (event) => {
      setStale((JSON.parse((event as MessageEvent<string>).data) as { stale: boolean }).stale);
    });
    events.addEventListener('end', () => {
      events.close();
      void read();
    });
    // A stream that cannot be had (404, 503) is not retried forever: the reads say why.
    events.onerror = () => {
      if (events.readyState === EventSource.CLOSED) void read();
    };
    // Even with a stream, a slow read now and then keeps the page honest if events stop coming.
    const timer = setInterval(() => void read(), 15_000);
    return () => {
      alive.current = false;
      events.close();
      clearInterval(timer);
      if (pending.current !== null) clearTimeout(pending.current);
      pending.current = null;
    };
  }, [id, read, readSoon]);

  return { snapshot, problem, stale, output, refresh: () => void read() };
}
