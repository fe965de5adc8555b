import { bundleWorkflowCode } from '@temporalio/worker';
import { mkdtempSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { freePort, startDevServer, type DevServer } from '../../src/dev/temporal-dev-server';

declare global {
  var temporalDevServer: DevServer | undefined;
}

/** One Temporal dev server and one workflow bundle for the whole integration run. */
export default async function globalSetup(): Promise<void> {
  const started = Date.now();
  const port = await freePort();
  const [server, bundle] = await Promise.all([
    startDevServer({ port, startTimeoutMs: 120_000 }),
    bundleWorkflowCode({ workflowsPath: require.resolve('../../src/workflows'), logger: quietLogger }),
  ]);
  globalThis.temporalDevServer = server;
  const dir = mkdtempSync(path.join(os.tmpdir(), 'exec-tests-'));
  const bundlePath = path.join(dir, 'workflow-bundle.js');
  writeFileSync(bundlePath, bundle.code);
  process.env.TEST_TEMPORAL_ADDRESS = server.address;
  process.env.TEST_WORKFLOW_BUNDLE = bundlePath;
  process.env.TEST_TMP_DIR = dir;
  console.log(`\n[integration] Temporal dev server at ${server.address}, ready in ${Date.now() - started} ms`);
}

const quietLogger = {
  log: () => undefined,
  trace: () => undefined,
  debug: () => undefined,
  info: () => undefined,
  warn: (message: string) => console.warn(message),
  error: (message: string) => console.error(message),
};
