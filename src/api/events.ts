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
 * sandbox step prints, `token` events with what the model is writing (code, the analysis), an `alert`
 * event for each alert that fired or resolved (its ALERT_TRIGGERED or ALERT_RESOLVED event), a `stale` event whenever no worker can answer for the execution and again
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
  /** Characters of each activity's output or text already sent, by step, phase and attempt. */
  const sent = new Map<string, number>();
  let stale = false;
  let done = false;

  /** Writes what `reading` adds to what this stream sent; true once the execution has ended. */
  const send = ({ snapshot, live }: Reading): boolean => {
    if ((snapshot.stale ?? false) !== stale) {
      stale = !stale;
      write(res, 'stale', { id, stale });
    }
    if (snapshot.seq > seq) {
      const changes = changesSince(snapshot, seq);
      write(res, 'update', changes, snapshot.seq);
      for (const event of changes.timeline) {
        if (event.event === 'ALERT_TRIGGERED' || event.event === 'ALERT_RESOLVED') {
          const kind = event.event === 'ALERT_TRIGGERED' ? 'triggered' : 'resolved';
          write(res, 'alert', {
            id,
            kind,
            at: event.at,
            stepId: event.stepId,
            message: event.description,
            ...event.data,
          });
        }
      }
      seq = snapshot.seq;
    }
    if (isTerminal(snapshot.status)) {
      write(res, 'end', { id, status: snapshot.status, error: snapshot.error, result: snapshot.result }, seq);
      return true;
    }
    for (const entry of live) {
      const key =
        entry.kind === 'output'
          ? `output/${entry.stepId}/${entry.attempt}`
          : `text/${entry.stepId}/${entry.phase}/${entry.attempt}`;
      const before = sent.get(key) ?? 0;
      // The heartbeat carries the end of the text: what came before it and was not sent is skipped.
      const fresh = Math.min(entry.chars - before, entry.tail.length);
      if (fresh > 0) {
        const text = entry.tail.slice(-fresh);
        if (entry.kind === 'output') write(res, 'output', { stepId: entry.stepId, attempt: entry.attempt, text });
        else write(res, 'token', { stepId: entry.stepId, phase: entry.phase, attempt: entry.attempt, text });
      }
      sent.set(key, Math.max(before, entry.chars));
    }
    return false;
  };

  try {
    if (send({ snapshot: first, live: [] })) return;
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
