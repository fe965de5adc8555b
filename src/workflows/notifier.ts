import { CancellationScope, ParentClosePolicy, log, patched, startChild } from '@temporalio/workflow';
import { clip } from '../domain/clip';
import type { ExecutionRecord } from '../domain/execution-record';
import { isTerminal, type ExecutionStatus } from '../domain/status';
import type { ExecutionInput, ExecutionNotification } from '../domain/types';
import { DEFAULT_TENANT } from '../domain/tenancy';
import { deliveryWorkflow } from './delivery-workflow';

const ANALYSIS_CHARS = 16_000;

/**
 * Sends the execution's events to its subscribers: after each state change, a `status` event (and
 * `awaiting_input`, `completed` where they apply), each handed to a delivery workflow of its own.
 * The delivery outlives the execution (its parent-close policy abandons it) and retries on its own,
 * so a slow or failing receiver never slows or fails the execution; the execution only waits for
 * each delivery workflow to start.
 */
export class Notifier {
  private last: ExecutionStatus;
  private count = 0;
  private readonly starting: Array<Promise<void>> = [];
  private enabled: boolean | undefined;

  constructor(
    private readonly input: ExecutionInput,
    private readonly record: ExecutionRecord,
  ) {
    this.last = record.current;
  }

  /** Called after every published state change. */
  changed(): void {
    // Known only once a schedule's run has resolved its task; executions from before it never notify.
    this.enabled ??= this.input.notify !== undefined && patched('webhooks-out');
    if (!this.enabled) return;
    const status = this.record.current;
    if (status === this.last) return;
    const previous = this.last;
    this.last = status;
    this.emit('status', { status, previous });
    const snapshot = this.record.snapshot();
    if (status === 'awaiting_input' && snapshot.awaiting !== null) {
      this.emit('awaiting_input', { kind: snapshot.awaiting.kind, prompt: snapshot.awaiting.prompt });
    }
    if (isTerminal(status)) {
      const links = (snapshot.result?.files ?? []).map((file) => ({
        name: file.name,
        size: file.size,
        url: `/api/executions/${snapshot.id}/artifacts/${file.key}`,
      }));
      this.emit('completed', {
        status,
        analysis: snapshot.result?.analysis == null ? null : clip(snapshot.result.analysis, ANALYSIS_CHARS),
        error: snapshot.error === null ? null : { code: snapshot.error.code, message: snapshot.error.message },
        files: links,
        metrics: {
          totalDurationMs: snapshot.metrics.totalDurationMs,
          costUsd: snapshot.metrics.costUsd,
          tokens: snapshot.metrics.tokens,
        },
      });
    }
  }

  /** An alert of the execution fired or resolved: an `alert` event (`data.kind` says which). */
  alert(data: Record<string, unknown>): void {
    this.enabled ??= this.input.notify !== undefined && patched('webhooks-out');
    if (this.enabled) this.emit('alert', data);
  }

  /** Waits until every delivery workflow asked for has started. */
  async started(): Promise<void> {
    await Promise.all(this.starting);
  }

  private emit(type: ExecutionNotification['type'], data: Record<string, unknown>): void {
    const count = ++this.count;
    // A restored run's events are numbered apart from its earlier runs': `<run>.<n>`.
    const run = this.input.restore?.run;
    const n = run === undefined ? String(count) : `${run}.${count}`;
    const notification: ExecutionNotification = {
      id: `${this.input.executionId}:${n}`,
      type,
      executionId: this.input.executionId,
      tenant: this.input.tenant ?? DEFAULT_TENANT,
      occurredAt: new Date().toISOString(),
      data,
    };
    const subscriptionId = this.input.notify?.subscriptionId ?? null;
    // Not cancellable: the final events of a cancelled execution are sent too.
    const start = CancellationScope.nonCancellable(() =>
      startChild(deliveryWorkflow, {
        workflowId: `notify-${this.input.executionId}-${n}`,
        args: [{ notification, subscriptionId }],
        parentClosePolicy: ParentClosePolicy.ABANDON,
      }),
    );
    this.starting.push(
      start.then(
        () => undefined,
        (error: unknown) => log.warn('an event could not be handed to its delivery', { type, error: String(error) }),
      ),
    );
  }
}
