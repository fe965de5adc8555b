/**
 * The running slots of one tenant: who holds one, who waits for one, in order. Plain rules; the
 * tenant's slots workflow keeps the table and tells executions what it decided.
 */
export interface SlotsState {
  tenant: string;
  limit: number;
  holders: string[];
  waiting: string[];
}

/** What an acquire or a release decided: executions now holding a slot, and where the asker waits. */
export interface SlotDecision {
  granted: string[];
  /** The asker's place in the queue (1 = next), when it has to wait. */
  position: number | null;
}

export class SlotTable {
  private readonly holders: Set<string>;
  private readonly waiting: string[];
  private limit: number;

  constructor(readonly state: SlotsState) {
    this.holders = new Set(state.holders);
    this.waiting = [...state.waiting];
    this.limit = state.limit;
  }

  /** `executionId` asks for a slot under `limit` (the newest limit wins). Asking twice changes nothing. */
  acquire(executionId: string, limit: number): SlotDecision {
    this.limit = Math.max(1, limit);
    if (this.holders.has(executionId)) return { granted: [], position: null };
    if (!this.waiting.includes(executionId)) this.waiting.push(executionId);
    const granted = this.admit();
    const at = this.waiting.indexOf(executionId);
    return { granted, position: at === -1 ? null : at + 1 };
  }

  /** `executionId` ended, or gave up waiting: its slot, or its place, goes to the next. */
  release(executionId: string): SlotDecision {
    this.holders.delete(executionId);
    const at = this.waiting.indexOf(executionId);
    if (at !== -1) this.waiting.splice(at, 1);
    return { granted: this.admit(), position: null };
  }

  get running(): number {
    return this.holders.size;
  }

  get currentLimit(): number {
    return this.limit;
  }

  /** Holders, for a check that they still run. */
  holding(): string[] {
    return [...this.holders];
  }

  get isIdle(): boolean {
    return this.holders.size === 0 && this.waiting.length === 0;
  }

  get hasWaiting(): boolean {
    return this.waiting.length > 0;
  }

  snapshot(): SlotsState {
    return { tenant: this.state.tenant, limit: this.limit, holders: [...this.holders], waiting: [...this.waiting] };
  }

  private admit(): string[] {
    const granted: string[] = [];
    while (this.holders.size < this.limit && this.waiting.length > 0) {
      const next = this.waiting.shift() as string;
      this.holders.add(next);
      granted.push(next);
    }
    return granted;
  }
}
