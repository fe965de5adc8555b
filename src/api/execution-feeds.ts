import { isTerminal } from '../domain/status';
import type { ExecutionSnapshot } from '../domain/types';
import type { ExecutionService, LiveOutput } from './execution-service';

/** How often a watched execution is read; well under the 300 ms lag the docs state. */
const POLL_MS = 150;

/** One reading of a watched execution: its snapshot, and what its running activities reported. */
export interface Reading {
  snapshot: ExecutionSnapshot;
  live: LiveOutput[];
}

/** The phases in which an activity may report live output or text. */
const LIVE_PHASES = new Set(['planning', 'generating', 'executing', 'analyzing']);

export interface Watcher {
  reading(reading: Reading): void;
  failed(error: unknown): void;
}

/**
 * One reader per watched execution, whatever the number of its watchers: every live stream of an
 * execution gets the same readings, so a hundred watchers cost Temporal what one does. The reader
 * acts for no tenant; each stream checks its caller's access before it watches.
 */
export class ExecutionFeeds {
  private readonly feeds = new Map<string, Feed>();

  constructor(
    private readonly service: ExecutionService,
    private readonly pollMs = POLL_MS,
  ) {}

  /** Sends `watcher` every new reading of `id` until the execution ends; returns what stops it. */
  watch(id: string, watcher: Watcher): () => void {
    let feed = this.feeds.get(id);
    if (feed === undefined) {
      const made = new Feed(id, this.service, this.pollMs, () => {
        if (this.feeds.get(id) === made) this.feeds.delete(id);
      });
      this.feeds.set(id, made);
      feed = made;
    }
    return feed.add(watcher);
  }
}

class Feed {
  private readonly watchers = new Set<Watcher>();
  private latest: Reading | null = null;
  private running = false;

  constructor(
    private readonly id: string,
    private readonly service: ExecutionService,
    private readonly pollMs: number,
    private readonly ended: () => void,
  ) {}

  add(watcher: Watcher): () => void {
    this.watchers.add(watcher);
    if (this.latest !== null) watcher.reading(this.latest);
    if (!this.running) {
      this.running = true;
      void this.run();
    }
    return () => this.watchers.delete(watcher);
  }

  private async run(): Promise<void> {
    try {
      while (this.watchers.size > 0) {
        await new Promise((resolve) => setTimeout(resolve, this.pollMs));
        if (this.watchers.size === 0) break;
        const snapshot = await this.service.get(this.id);
        const live =
          LIVE_PHASES.has(snapshot.progress.currentPhase) && !snapshot.stale
            ? await this.service.liveOutput(this.id).catch(() => [])
            : [];
        this.latest = { snapshot, live };
        for (const watcher of [...this.watchers]) watcher.reading(this.latest);
        if (isTerminal(snapshot.status)) break;
      }
    } catch (error) {
      for (const watcher of [...this.watchers]) watcher.failed(error);
    } finally {
      this.watchers.clear();
      this.running = false;
      this.ended();
    }
  }
}
