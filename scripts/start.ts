/**
 * `npm start`: the whole service on one machine. Starts the Temporal dev server (unless
 * TEMPORAL_ADDRESS already answers), then the worker and the gateway; Ctrl-C stops what it started.
 */
import { mkdirSync } from 'node:fs';
import path from 'node:path';
import { loadConfig } from '../src/config';
import { canConnect, startDevServer, waitForPort, type DevServer } from '../src/dev/temporal-dev-server';
import { Services, splitAddress, waitForHealth } from './lib/services';

async function main(): Promise<void> {
  const config = loadConfig();
  mkdirSync(config.dataDir, { recursive: true });
  const gatewayHost = config.host === '0.0.0.0' ? '127.0.0.1' : config.host;
  if (await canConnect(gatewayHost, config.port)) {
    throw new Error(`Port ${config.port} is already in use: stop what listens there, or set PORT.`);
  }
  const [host, temporalPort] = splitAddress(config.temporal.address);
  let devServer: DevServer | null = null;
  if (await canConnect(host, temporalPort)) {
    console.log(`Temporal already answers at ${config.temporal.address}; using it.`);
  } else {
    const dbFile = path.join(config.dataDir, 'temporal.sqlite');
    console.log(`Starting the Temporal dev server on ${config.temporal.address} (history in ${dbFile})...`);
    devServer = await startDevServer({
      port: temporalPort,
      uiPort: config.temporal.uiPort,
      dbFile,
      namespace: config.temporal.namespace,
      stdio: 'inherit',
    });
  }

  let stopping = false;
  const stop = async (code: number) => {
    if (stopping) return;
    stopping = true;
    console.log('\nStopping...');
    // The worker may take its grace time to let running activities finish.
    await services.stopAll(config.worker.shutdownGraceMs + 5000);
    if (devServer) await devServer.stop();
    process.exit(code);
  };
  const services = new Services(() => void stop(1));
  process.once('SIGINT', () => void stop(0));
  process.once('SIGTERM', () => void stop(0));

  services.launch('worker', 'src/worker.ts', process.env);
  services.launch('gateway', 'src/api/server.ts', process.env);
  const gatewayUp = await waitForPort(gatewayHost, config.port, 60_000);
  if (!gatewayUp) {
    console.error('The gateway did not start.');
    return stop(1);
  }
  // Up means able to run an execution: the banner waits for the worker's first poll.
  if (!(await waitForHealth(`http://${gatewayHost}:${config.port}/healthz`, 120_000))) {
    console.error('No worker polled the task queue within 120 s; see the worker log above.');
    return stop(1);
  }
  const shownHost = config.host === '0.0.0.0' ? 'localhost' : config.host;
  console.log('');
  console.log(`  Gateway:         http://${shownHost}:${config.port}  (try GET /healthz)`);
  console.log(`  Web console:     http://${shownHost}:${config.port}/`);
  console.log(`  Temporal Web UI: ${config.temporal.uiUrl}`);
  console.log(`  Model:           ${config.llm.configured ? config.llm.model : 'none configured (code-only tasks)'}`);
  console.log('  Ctrl-C stops everything started here.');
  console.log('');
}

main().catch((error: unknown) => {
  console.error(error instanceof Error ? error.message : error);
  process.exit(1);
});
