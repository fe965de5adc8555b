/**
 * The baseline of bench/cold-start.ts: the smallest Temporal worker process, bundling a one-activity
 * workflow at start. Configured by TEMPORAL_ADDRESS and TASK_QUEUE.
 */
import { DefaultLogger, NativeConnection, Runtime, Worker } from '@temporalio/worker';

async function main(): Promise<void> {
  Runtime.install({ logger: new DefaultLogger('WARN') });
  const connection = await NativeConnection.connect({ address: process.env.TEMPORAL_ADDRESS });
  const worker = await Worker.create({
    connection,
    taskQueue: process.env.TASK_QUEUE ?? 'raw',
    workflowsPath: require.resolve('./raw-workflow'),
    activities: { noop: async () => undefined },
  });
  await worker.run();
  await connection.close();
}

main().catch((error: unknown) => {
  console.error(error);
  process.exit(1);
});
