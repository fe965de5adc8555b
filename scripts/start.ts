/**
 * `npm start`: the whole service on one machine. Starts the Temporal dev server (unless
 * TEMPORAL_ADDRESS already answers), then the worker and the gateway; Ctrl-C stops what it started.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { mkdirSync } from 'node:fs';
import path from 'node:path';
import { loadConfig } from '../src/config';
import { canConnect, startDevServer, waitForPort, type DevServer } from '../src/dev/temporal-dev-server';

const root = path.resolve(__dirname, '..');

async function main(): Promise<void> {
  const config = loadConfig();
  mkdirSync(config.dataDir, { recursive: true });
  const gatewayHost = config.host === '0.0.0.0' ? '127.0.0.1' : config.host;
  if (await canConnect(gatewayHost, config.port)) {
    throw new Error(`Port ${config.port} is already in use: stop what listens there, or set PORT.`);
  }
  const [host, portText] = splitAddress(config.temporal.address);
  let devServer: DevServer | null = null;
  if (await canConnect(host, Number(portText))) {
    console.log(`Temporal already answers at ${config.temporal.address}; using it.`);
  } else {
    const dbFile = path.join(config.dataDir, 'temporal.sqlite');
    console.log(`Starting the Temporal dev server on ${config.temporal.address} (history in ${dbFile})...`);
    devServer = await startDevServer({
      port: Number(portText),
      uiPort: config.temporal.uiPort,
      dbFile,
      namespace: config.temporal.namespace,
      stdio: 'inherit',
    });
  }

  const children: ChildProcess[] = [];
  let stopping = false;
  const stop = async (code: number) => {
    if (stopping) return;
    stopping = true;
    console.log('\nStopping...');
    await Promise.all(children.map((child) => terminate(child)));
    if (devServer) await devServer.stop();
    process.exit(code);
  };
  const launch = (name: string, entry: string) => {
    const child = spawn(process.execPath, ['--import', 'tsx', path.join(root, entry)], {
      cwd: root,
      stdio: 'inherit',
      env: process.env,
    });
    child.once('exit', (code, signal) => {
      if (stopping) return;
      console.error(`The ${name} stopped (${signal ?? `exit code ${code}`}); stopping everything.`);
      void stop(1);
    });
    children.push(child);
  };
  process.once('SIGINT', () => void stop(0));
  process.once('SIGTERM', () => void stop(0));

  launch('worker', 'src/worker.ts');
  launch('gateway', 'src/api/server.ts');
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
  console.log(`  Temporal Web UI: ${config.temporal.uiUrl}`);
  console.log(`  Model:           ${config.llm.configured ? config.llm.model : 'none configured (code-only tasks)'}`);
  console.log('  Ctrl-C stops everything started here.');
  console.log('');
}

/** Waits until /healthz says that Temporal answers and a worker polls. */
async function waitForHealth(url: string, timeoutMs: number): Promise<boolean> {
  const deadline = Date.now() + timeoutMs;
  while (Date.now() < deadline) {
    const health = await fetch(url).then(
      (response) => response.json() as Promise<{ ok?: boolean }>,
      () => null,
    );
    if (health?.ok === true) return true;
    await new Promise((resolve) => setTimeout(resolve, 250));
  }
  return false;
}

function splitAddress(address: string): [string, string] {
  const index = address.lastIndexOf(':');
  return [address.slice(0, index), address.slice(index + 1)];
}

function terminate(child: ChildProcess): Promise<void> {
  return new Promise((resolve) => {
    if (child.exitCode !== null || child.signalCode !== null) return resolve();
    child.once('exit', () => resolve());
    child.kill('SIGTERM');
    setTimeout(() => child.kill('SIGKILL'), 10_000).unref();
  });
}

main().catch((error: unknown) => {
  console.error(error instanceof Error ? error.message : error);
  process.exit(1);
});
