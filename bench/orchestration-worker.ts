/**
 * The worker process of bench/orchestration.ts: the execution worker as `npm start` runs it, plus a
 * worker for the raw comparison workflow. Configured by the same environment as src/worker.ts.
 */
import { NativeConnection, Worker, bundleWorkflowCode, DefaultLogger, Runtime } from '@temporalio/worker';
import { loadConfig } from '../src/config';
import { createExecutionWorker } from '../src/worker';

async function main(): Promise<void> {
  Runtime.install({ logger: new DefaultLogger('WARN') });
  const config = loadConfig();
  const connection = await NativeConnection.connect(config.temporal.connection);
  const [execution, raw] = await Promise.all([
    createExecutionWorker({ config, connection, llm: null }),
    bundleWorkflowCode({ workflowsPath: require.resolve('./raw-workflow'), logger: new DefaultLogger('WARN') }).then(
      (bundle) =>
        Worker.create({
          connection,
          taskQueue: `${config.temporal.taskQueue}-raw`,
          workflowBundle: bundle,
          activities: { noop: async () => undefined },
          maxEagerActivityReservationsPerWorkflowTask: config.worker.eagerActivities ? 3 : 0,
        }),
    ),
  ]);
  process.stdout.write('ready\n');
  await Promise.all([execution.worker.run(), raw.run()]);
  await execution.close();
  await connection.close();
}

main().catch((error: unknown) => {
  console.error(error);
  process.exit(1);
});
