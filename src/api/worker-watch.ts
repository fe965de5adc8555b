import type { Client } from '@temporalio/client';
import { temporal } from '@temporalio/proto';

/**
 * A poller seen this recently counts as a live worker: an idle worker's long poll is renewed about
 * every minute, and Temporal keeps a gone worker in the list for minutes more.
 */
const POLLER_FRESH_MS = 90_000;
/**
 * How long an answer is reused, so that reads under load do not each ask Temporal; "none polls" for
 * less time, so that a worker that comes is soon seen.
 */
const CACHE_MS = 2_000;
const CACHE_NONE_MS = 500;
/** Temporal answers this in milliseconds; past it, the watch cannot say. */
const ASK_DEADLINE_MS = 2_000;

/** true: a worker polls; false: none does; null: Temporal could not be asked. */
type Answer = boolean | null;

/**
 * Whether a worker polls the task queue, from Temporal's list of its pollers, cached briefly. The
 * gateway answers reads from what it knows instead of waiting on a query that no worker would answer.
 */
export class WorkerWatch {
  private cached: { at: number; answer: Answer } | null = null;
  private pending: Promise<Answer> | null = null;

  constructor(
    private readonly client: Client,
    private readonly namespace: string,
    private readonly taskQueue: string,
    private readonly now: () => number = Date.now,
  ) {}

  /** False only when Temporal says that no worker polls: when it cannot say, a query will find out. */
  async polling(): Promise<boolean> {
    return (await this.answer()) !== false;
  }

  /** True only when Temporal says that a worker polls. */
  async seen(): Promise<boolean> {
    return (await this.answer()) === true;
  }

  private async answer(): Promise<Answer> {
    const cached = this.cached;
    if (cached !== null && this.now() - cached.at < (cached.answer === false ? CACHE_NONE_MS : CACHE_MS)) {
      return cached.answer;
    }
    this.pending ??= this.ask().then(
      (answer) => {
        this.cached = { at: this.now(), answer };
        this.pending = null;
        return answer;
      },
      () => {
        this.pending = null;
        return null;
      },
    );
    return this.pending;
  }

  private async ask(): Promise<Answer> {
    try {
      const answer = await this.client.withDeadline(Date.now() + ASK_DEADLINE_MS, () =>
        this.client.workflowService.describeTaskQueue({
          namespace: this.namespace,
          taskQueue: { name: this.taskQueue, kind: temporal.api.enums.v1.TaskQueueKind.TASK_QUEUE_KIND_NORMAL },
          taskQueueType: temporal.api.enums.v1.TaskQueueType.TASK_QUEUE_TYPE_WORKFLOW,
        }),
      );
      const fresh = this.now() - POLLER_FRESH_MS;
      return (answer.pollers ?? []).some((poller) => Number(poller.lastAccessTime?.seconds ?? 0) * 1000 >= fresh);
    } catch {
      return null;
    }
  }
}
