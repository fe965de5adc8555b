/**
 * A worker in its own process, configured by the environment like src/worker.ts, for tests that
 * kill it as a crash would. Prints "ready" once it polls.
 */
import { NativeConnection, Runtime } from '@temporalio/worker';
import { loadConfig } from '../../src/config';
import { startTracing } from '../../src/telemetry';
import { createExecutionWorker, runtimeOptions } from '../../src/worker';

async function main(): Promise<void> {
  const config = loadConfig();
  Runtime.install(runtimeOptions(config, 'ERROR'));
  const tracing = startTracing('agent-executions-worker', config.otlpEndpoint);
  const connection = await NativeConnection.connect(config.temporal.connection);
  const bundlePath = process.env.TEST_WORKFLOW_BUNDLE;
  const { worker, close } = await createExecutionWorker({
    config,
    connection,
    tracing,
    workflowBundle: bundlePath ? { codePath: bundlePath } : undefined,
  });
  const running = worker.run();
  process.stdout.write('ready\n');
  await running;
  await close();
  await connection.close();
  await tracing.shutdown();
}

main().catch((error: unknown) => {
  console.error(error);
  process.exit(1);
});
