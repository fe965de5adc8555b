import { proxyActivities } from '@temporalio/workflow';

const { noop } = proxyActivities<{ noop(): Promise<void> }>({ startToCloseTimeout: '10 seconds' });

/** The floor an execution is compared with: a workflow running the same number of no-op activities. */
export async function rawWorkflow(activities: number): Promise<void> {
  for (let i = 0; i < activities; i++) await noop();
}

const { pause } = proxyActivities<{ pause(ms: number): Promise<void> }>({ startToCloseTimeout: '10 seconds' });

/** The floor of a whole task: three model calls of `modelMs` each (plan, code, analysis), a no-op check and run. */
export async function rawWholeTask(modelMs: number): Promise<void> {
  await pause(modelMs);
  await pause(modelMs);
  await noop();
  await noop();
  await pause(modelMs);
}
