import type { ExecutionSnapshot } from '../domain/types';

/** Enough for every execution a busy team watches at once; each entry is one snapshot. */
const DEFAULT_CAPACITY = 500;

/**
 * The last snapshot the gateway read of each running execution, the least recently read dropped
 * first, and the reads under way. While no worker can answer a query, reads are answered from here,
 * marked stale.
 */
export class RecentSnapshots {
  private readonly entries = new Map<string, ExecutionSnapshot>();
  private readonly reading = new Map<string, Promise<ExecutionSnapshot>>();

  /**
   * Reads `id` with `read`, unless a read of it is already under way: then its answer is shared.
   * A hundred clients asking at once cost one query (and a workflow answers only so many at a time).
   */
  async read(id: string, read: () => Promise<ExecutionSnapshot>): Promise<ExecutionSnapshot> {
    let pending = this.reading.get(id);
    if (pending === undefined) {
      pending = read().finally(() => this.reading.delete(id));
      this.reading.set(id, pending);
      this.remember(await pending);
    }
    return pending;
  }

  constructor(private readonly capacity = DEFAULT_CAPACITY) {}

  remember(snapshot: ExecutionSnapshot): void {
    this.entries.delete(snapshot.id);
    this.entries.set(snapshot.id, snapshot);
    if (this.entries.size > this.capacity) this.entries.delete(this.entries.keys().next().value as string);
  }

  /** The last snapshot seen of `id`, or null. */
  last(id: string): ExecutionSnapshot | null {
    const snapshot = this.entries.get(id);
    if (snapshot === undefined) return null;
    this.entries.delete(id);
    this.entries.set(id, snapshot);
    return snapshot;
  }

  forget(id: string): void {
    this.entries.delete(id);
  }
}
