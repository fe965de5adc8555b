import { proxyActivities } from '@temporalio/workflow';

const { noop } = proxyActivities<{ noop(): Promise<void> }>({ startToCloseTimeout: '10 seconds' });

/** The floor an execution is compared with: a workflow running the same number of no-op activities. */
export async function rawWorkflow(activities: number): Promise<void> {
  for (let i = 0; i < activities; i++) await noop();
}
