import { WorkflowNotFoundError, type Client } from '@temporalio/client';
import type { ArtifactStore } from '../storage/artifact-store';

export interface RetentionDeps {
  store: ArtifactStore;
  /** How long an ended execution's files are kept (ARTIFACT_RETENTION_DAYS); 0 keeps them for good. */
  days: number;
  /** Reads each candidate's state in Temporal; null when retention is off. */
  client: Client | null;
}

export interface RetentionReport {
  /** Executions whose files were removed, and how many files that was. */
  removed: number;
  files: number;
  /** Executions with files older than the cutoff that were kept because they are still active. */
  keptActive: number;
  cutoff: string | null;
}

/**
 * The activity of the retention schedule: removes the files of every execution that ended more
 * than `days` ago, and of those whose history Temporal no longer has, once their newest file is
 * that old. An active execution keeps its files, however old.
 */
export function createRetentionActivities(deps: RetentionDeps) {
  return {
    async removeExpiredArtifacts(): Promise<RetentionReport> {
      const report: RetentionReport = { removed: 0, files: 0, keptActive: 0, cutoff: null };
      if (deps.days <= 0 || deps.client === null) return report;
      const cutoff = Date.now() - deps.days * 24 * 3600 * 1000;
      report.cutoff = new Date(cutoff).toISOString();
      for (const { executionId, modifiedAt } of await deps.store.executions()) {
        if (modifiedAt.getTime() > cutoff) continue;
        let expired: boolean;
        try {
          const description = await deps.client.workflow.getHandle(executionId).describe();
          expired = description.closeTime !== undefined && description.closeTime.getTime() < cutoff;
          if (description.status.name === 'RUNNING') report.keptActive++;
        } catch (error) {
          // Temporal removed the history already (its own retention, or a delete): the files follow.
          if (!(error instanceof WorkflowNotFoundError)) throw error;
          expired = true;
        }
        if (!expired) continue;
        report.files += await deps.store.deleteAll(executionId);
        report.removed++;
      }
      return report;
    },
  };
}
