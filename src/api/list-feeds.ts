import type { Request, Response } from 'express';
import type { ExecutionService } from './execution-service';
import { toHttpError } from './error-handler';

/** How often a watched list is read from Temporal's visibility, whatever the number of its watchers. */
const LIST_POLL_MS = 2000;
const KEEP_ALIVE_MS = 15_000;

type Page = Awaited<ReturnType<ExecutionService['list']>>;
type Query = Parameters<ExecutionService['list']>[0];

interface ListWatcher {
  page(page: Page): void;
  problem(error: { status: number; code: string; message: string }): void;
}

/**
 * Lists of executions that pages watch (the console's runs page): one reader per tenant and query,
 * shared by every stream of that list, reading visibility every 2 s and telling its watchers only
 * when the page changed (a run added, a status changed).
 */
export class ListFeeds {
  private readonly feeds = new Map<string, ListFeed>();

  constructor(private readonly pollMs = LIST_POLL_MS) {}

  /** `key` names the caller's view (its tenant) and the query; `service` acts for that caller. */
  watch(key: string, service: ExecutionService, query: Query, watcher: ListWatcher): () => void {
    let feed = this.feeds.get(key);
    if (feed === undefined) {
      const made = new ListFeed(service, query, this.pollMs, () => {
        if (this.feeds.get(key) === made) this.feeds.delete(key);
      });
      this.feeds.set(key, made);
      feed = made;
    }
    return feed.add(watcher);
  }
}

class ListFeed {
  private readonly watchers = new Set<ListWatcher>();
  private latest: { page: Page; text: string } | null = null;
  private running = false;

  constructor(
    private readonly service: ExecutionService,
    private readonly query: Query,
    private readonly pollMs: number,
    private readonly ended: () => void,
  ) {}

  add(watcher: ListWatcher): () => void {
    this.watchers.add(watcher);
    if (this.latest !== null) watcher.page(this.latest.page);
    if (!this.running) {
      this.running = true;
      void this.run();
    }
    return () => this.watchers.delete(watcher);
  }

  private async run(): Promise<void> {
    let first = true;
    while (this.watchers.size > 0) {
      if (!first) await new Promise((resolve) => setTimeout(resolve, this.pollMs));
      first = false;
      if (this.watchers.size === 0) break;
      try {
        const page = await this.service.list(this.query);
        const text = JSON.stringify(page);
        if (this.latest?.text === text) continue;
        this.latest = { page, text };
        for (const watcher of this.watchers) watcher.page(page);
      } catch (error) {
        const http = toHttpError(error);
        for (const watcher of this.watchers)
          watcher.problem({ status: http.status, code: http.code, message: http.message });
      }
    }
    this.running = false;
    this.ended();
  }
}

/**
 * GET /api/executions/stream: Server-Sent Events of a list of executions, with the filters and page
 * of GET /api/executions. `list` carries the whole page whenever it changed (first at once);
 * `problem` says why it could not be read (Temporal down), and the stream goes on trying.
 */
export async function streamList(
  feeds: ListFeeds,
  key: string,
  service: ExecutionService,
  query: Query,
  linksOf: (id: string) => Record<string, string>,
  req: Request,
  res: Response,
): Promise<void> {
  res.writeHead(200, {
    'content-type': 'text/event-stream; charset=utf-8',
    'cache-control': 'no-cache, no-transform',
    connection: 'keep-alive',
    'x-accel-buffering': 'no',
  });
  res.write('retry: 2000\n\n');
  const write = (event: string, data: unknown) => res.write(`event: ${event}\ndata: ${JSON.stringify(data)}\n\n`);
  const keepAlive = setInterval(() => res.write(': keep-alive\n\n'), KEEP_ALIVE_MS);
  const stop = feeds.watch(key, service, query, {
    page: (page) =>
      write('list', {
        executions: page.executions.map((summary) => ({ ...summary, links: linksOf(summary.id) })),
        nextPageToken: page.nextPageToken,
      }),
    problem: (error) => write('problem', error),
  });
  await new Promise<void>((resolve) => req.once('close', () => resolve()));
  clearInterval(keepAlive);
  stop();
}
