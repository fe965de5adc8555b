import type { Request, Response } from 'express';
import { isTerminal } from '../domain/status';
import type { ExecutionSnapshot } from '../domain/types';
import type { ExecutionFeeds, Reading } from './execution-feeds';
import type { ExecutionService } from './execution-service';

const KEEP_ALIVE_MS = 15_000;

function write(res: Response, event: string, data: unknown, id?: number): void {
  res.write(`${id === undefined ? '' : `id: ${id}\n`}event: ${event}\ndata: ${JSON.stringify(data)}\n\n`);
}

/** The part of a snapshot that changed since `seq`. */
function changesSince(snapshot: ExecutionSnapshot, seq: number) {
  return {
    id: snapshot.id,
    seq: snapshot.seq,
    status: snapshot.status,
    progress: snapshot.progress,
    awaiting: snapshot.awaiting,
    metrics: snapshot.metrics,
    error: snapshot.error,
    timeline: snapshot.timeline.filter((event) => event.seq > seq),
    messages: snapshot.messages.filter((message) => message.seq > seq),
  };
}

/**
 * GET /api/executions/:id/events: Server-Sent Events. One `update` per change (its id is the
 * snapshot's seq, so `Last-Event-ID` resumes without repeats), `output` events with what a running
 * sandbox step prints, a `stale` event whenever no worker can answer for the execution and again
 * when one can, and a final `end` event once the execution has ended. Readings come from the feed
 * that every stream of the execution shares.
 */
export async function streamEvents(
  service: ExecutionService,
  feeds: ExecutionFeeds,
  id: string,
  lastEventId: number,
  req: Request,
  res: Response,
): Promise<void> {
  const first = await service.get(id); // 404 (another tenant's too) before the stream starts
  res.writeHead(200, {
    'content-type': 'text/event-stream; charset=utf-8',
    'cache-control': 'no-cache, no-transform',
    connection: 'keep-alive',
    'x-accel-buffering': 'no',
  });
  res.write('retry: 1000\n\n');
  const keepAlive = setInterval(() => res.write(': keep-alive\n\n'), KEEP_ALIVE_MS);
  let seq = lastEventId;
  let output = { key: '', chars: 0 };
  let stale = false;
  let done = false;

  /** Writes what `reading` adds to what this stream sent; true once the execution has ended. */
  const send = ({ snapshot, live }: Reading): boolean => {
    if ((snapshot.stale ?? false) !== stale) {
      stale = !stale;
      write(res, 'stale', { id, stale });
    }
    if (snapshot.seq > seq) {
      write(res, 'update', changesSince(snapshot, seq), snapshot.seq);
      seq = snapshot.seq;
    }
    if (isTerminal(snapshot.status)) {
      write(res, 'end', { id, status: snapshot.status, error: snapshot.error, result: snapshot.result }, seq);
      return true;
    }
    if (live) {
      const key = `${live.stepId}/${live.attempt}`;
      if (key !== output.key) output = { key, chars: 0 };
      const fresh = Math.min(live.stdoutChars - output.chars, live.tail.length);
      if (fresh > 0)
        write(res, 'output', { stepId: live.stepId, attempt: live.attempt, text: live.tail.slice(-fresh) });
      output.chars = live.stdoutChars;
    }
    return false;
  };

  try {
    if (send({ snapshot: first, live: null })) return;
    await new Promise<void>((resolve) => {
      const stop = feeds.watch(id, {
        reading: (reading) => {
          if (done) return;
          if (send(reading)) finish();
        },
        failed: () => finish(),
      });
      function finish(): void {
        done = true;
        stop();
        resolve();
      }
      req.on('close', finish);
    });
  } finally {
    clearInterval(keepAlive);
    res.end();
  }
}
