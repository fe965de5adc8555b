import { proxyActivities } from '@temporalio/workflow';
import type { Activities } from '../activities';
import type { RetentionReport } from '../activities/retention';

const housekeeping = proxyActivities<Activities>({
  // A pass over every execution's files: long on a large store, and safe to run again.
  startToCloseTimeout: '1 hour',
  retry: { initialInterval: '10 seconds', backoffCoefficient: 2, maximumInterval: '10 minutes', maximumAttempts: 5 },
});

/** Started by the `artifact-retention-<task queue>` schedule: one pass of ARTIFACT_RETENTION_DAYS. */
export async function artifactRetentionWorkflow(): Promise<RetentionReport> {
  return housekeeping.removeExpiredArtifacts();
}
