import { createServer, type Server } from 'node:net';

/** A host uid held for one sandbox until `release()`. */
export interface UidLease {
  readonly uid: number;
  release(): void;
}

/** Uids this process holds, so that it does not knock on its own locks. */
const heldHere = new Set<number>();

/**
 * Hands out host uids from `[first, first + count)`, one per concurrently running sandbox, so that
 * RLIMIT_NPROC (counted per uid) is a per-sandbox limit and no two sandboxes share an owner.
 *
 * A uid is locked with an abstract Unix socket named after it: the name is free again the moment its
 * holder closes it or dies, and every worker and test process on the host sees the same names, so
 * two of them never give one uid to two sandboxes. Sandboxes have their own network namespace and
 * cannot take (or squat on) these names.
 */
export class UidSlots {
  constructor(
    private readonly first: number,
    private readonly count: number,
  ) {}

  /**
   * A free uid, waiting up to `waitMs` for one when every uid of the range is held (a burst of runs
   * then queues instead of failing); null when none came free in time.
   */
  async acquire(waitMs = 0): Promise<UidLease | null> {
    const deadline = Date.now() + waitMs;
    for (;;) {
      const lease = await this.tryAcquire();
      if (lease !== null || Date.now() >= deadline) return lease;
      await new Promise((resolve) => setTimeout(resolve, 25));
    }
  }

  private async tryAcquire(): Promise<UidLease | null> {
    for (let uid = this.first; uid < this.first + this.count; uid++) {
      if (heldHere.has(uid)) continue;
      heldHere.add(uid);
      const server = await listenAbstract(`agent-executions-sandbox-uid-${uid}`);
      if (server === null) {
        heldHere.delete(uid);
        continue;
      }
      let released = false;
      return {
        uid,
        release: () => {
          if (released) return;
          released = true;
          heldHere.delete(uid);
          server.close();
        },
      };
    }
    return null;
  }
}

function listenAbstract(name: string): Promise<Server | null> {
  return new Promise((resolve, reject) => {
    const server = createServer();
    server.once('error', (error: NodeJS.ErrnoException) => {
      if (error.code === 'EADDRINUSE') resolve(null);
      else reject(error);
    });
    server.listen({ path: `\0${name}` }, () => {
      // A lock must not keep the worker alive on its own.
      server.unref();
      resolve(server);
    });
  });
}
