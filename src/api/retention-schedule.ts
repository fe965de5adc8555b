import { ScheduleAlreadyRunning, ScheduleOverlapPolicy, type Client } from '@temporalio/client';
import type { Logger } from 'pino';
import type { Config } from '../config';

/** The Temporal Schedule of a deployment's retention runs: one per task queue, so deployments sharing a namespace keep theirs apart. */
export function retentionScheduleId(taskQueue: string): string {
  return `artifact-retention-${taskQueue}`;
}

/**
 * With ARTIFACT_RETENTION_DAYS set, makes sure the retention schedule exists: an hourly run of
 * `artifactRetentionWorkflow` (a run still going when the next is due is skipped). Tried again every
 * 30 s while Temporal does not answer, in the background; another gateway making it first is fine.
 * Resolves once it exists (at once when retention is off); `stop` gives up the retries.
 */
export function ensureRetentionSchedule(
  client: Client,
  config: Config,
  logger: Logger,
): { ready: Promise<void>; stop(): void } {
  let stopped = false;
  let timer: NodeJS.Timeout | null = null;
  if (config.artifactRetentionDays <= 0) return { ready: Promise.resolve(), stop: () => undefined };
  const scheduleId = retentionScheduleId(config.temporal.taskQueue);
  const attempt = async (): Promise<void> => {
    try {
      await client.schedule.create({
        scheduleId,
        spec: { intervals: [{ every: '1 hour' }] },
        action: {
          type: 'startWorkflow',
          workflowType: 'artifactRetentionWorkflow',
          taskQueue: config.temporal.taskQueue,
          args: [],
        },
        policies: { overlap: ScheduleOverlapPolicy.SKIP },
        memo: { note: `removes the files of executions that ended more than ARTIFACT_RETENTION_DAYS ago` },
      });
      logger.info({ scheduleId, days: config.artifactRetentionDays }, 'retention schedule created');
    } catch (error) {
      if (error instanceof ScheduleAlreadyRunning) return;
      if (stopped) return;
      logger.warn({ scheduleId, error: String(error) }, 'retention schedule not made yet; trying again in 30 s');
      await new Promise<void>((resolve) => {
        timer = setTimeout(resolve, 30_000);
        timer.unref();
      });
      if (!stopped) await attempt();
    }
  };
  return {
    ready: attempt(),
    stop: () => {
      stopped = true;
      if (timer) clearTimeout(timer);
    },
  };
}
