import type { Config } from '../config';
import type { AlertDefaultsStore } from '../db/alert-defaults';
import type { RecoveryStrategyStore } from '../db/recovery-strategies';
import type { SubscriptionStore } from '../db/subscriptions';
import type { TaskStore } from '../db/tasks';
import { ErrorType } from '../domain/errors';
import type { ArtifactRef, ExecutionInput, ScheduledRunRef } from '../domain/types';
import { HttpError } from '../api/http-error';
import { executionInputFrom } from '../runs/execution-input';
import { taskRunSubmission } from '../runs/task-run';
import type { ArtifactStore } from '../storage/artifact-store';

export interface TaskRunDeps {
  tasks: TaskStore;
  store: ArtifactStore;
  config: Config;
  subscriptions: SubscriptionStore;
  /** The tenant's recovery strategies, which a scheduled run takes as a run by hand does. */
  strategies: RecoveryStrategyStore;
  /** The tenant's default alert conditions, which a scheduled run takes as a run by hand does. */
  alertDefaults?: AlertDefaultsStore;
}

/** A scheduled run, resolved: its input as a run started by hand would have it, or why it cannot run. */
export type ResolvedRun =
  { ok: true; input: ExecutionInput } | { ok: false; code: typeof ErrorType.TASK_UNAVAILABLE; message: string };

/** Activities that read the service's database: what a schedule's run resolves in its first step. */
export function createTaskRunActivities(deps: TaskRunDeps) {
  return {
    /**
     * Resolves the task a schedule runs, as it is now (or at the pinned version), with the same
     * checks as a run started by hand, and stores its files under the execution's id. A task that
     * is gone or no longer takes the inputs is an answer, not an error: the run fails with it.
     */
    async resolveScheduledRun(request: { executionId: string; scheduled: ScheduledRunRef }): Promise<ResolvedRun> {
      const { executionId, scheduled } = request;
      try {
        const submission = await taskRunSubmission(deps, scheduled.tenant, scheduled.slug, {
          inputs: scheduled.inputs,
          files: [],
          version: scheduled.version === 'latest' ? undefined : scheduled.version,
          triggeredBy: 'schedule',
          idempotencyKey: null,
          scheduled,
        });
        const tenantStrategies = await deps.strategies.list(scheduled.tenant);
        const tenantAlerts = (await deps.alertDefaults?.get(scheduled.tenant))?.alerts ?? [];
        const checked = executionInputFrom(deps.config, { ...submission, tenantStrategies, tenantAlerts }, executionId);
        const files: ArtifactRef[] = [];
        for (const file of submission.files)
          files.push(await deps.store.put(executionId, 'inputs', file.name, file.data));
        const notify = (await deps.subscriptions.any(scheduled.tenant)) ? { notify: { subscriptionId: null } } : {};
        return { ok: true, input: { ...checked, files, tenant: scheduled.tenant, ...notify } };
      } catch (error) {
        if (error instanceof HttpError && error.status < 500) {
          return {
            ok: false,
            code: ErrorType.TASK_UNAVAILABLE,
            message: `The task "${scheduled.slug}" of schedule ${scheduled.scheduleId} cannot run: ${error.message}`,
          };
        }
        throw error;
      }
    },
  };
}
