import { proxyActivities, proxyLocalActivities } from '@temporalio/workflow';

const { noop } = proxyActivities<{ noop(): Promise<void> }>({ startToCloseTimeout: '10 seconds' });
const local = proxyLocalActivities<{ noop(): Promise<void> }>({ startToCloseTimeout: '10 seconds' });

/** The floor an execution is compared with: a workflow running the same number of no-op activities. */
export async function rawWorkflow(activities: number): Promise<void> {
  for (let i = 0; i < activities; i++) await noop();
}

/** The floor of the execution's own shape: a no-op local activity (the check), then a no-op activity (the run). */
export async function rawLocalThenActivity(): Promise<void> {
  await local.noop();
  await noop();
}

const { pause } = proxyActivities<{ pause(ms: number): Promise<void> }>({ startToCloseTimeout: '10 seconds' });

/** The floor of a whole task: three model calls of `modelMs` each (plan, code, analysis) and a no-op run. */
export async function rawWholeTask(modelMs: number): Promise<void> {
  await pause(modelMs);
  await pause(modelMs);
  await local.noop();
  await noop();
  await pause(modelMs);
}
