import { mkdtempSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { freePort, startDevServer, type DevServer } from '../../src/dev/temporal-dev-server';
import { cachedWorkflowBundle } from '../../src/workflow-bundle';

declare global {
  var temporalDevServer: DevServer | undefined;
}

/** One Temporal dev server and one workflow bundle for the whole integration run. */
export default async function globalSetup(): Promise<void> {
  const started = Date.now();
  const port = await freePort();
  const [server, bundle] = await Promise.all([
    startDevServer({ port, startTimeoutMs: 120_000 }),
    // The bundle the worker itself would load: built by setup for the current sources.
    cachedWorkflowBundle(),
  ]);
  globalThis.temporalDevServer = server;
  const dir = mkdtempSync(path.join(os.tmpdir(), 'exec-tests-'));
  if (!('codePath' in bundle.bundle) || bundle.bundle.codePath === undefined) {
    throw new Error('the workflow bundle could not be written to .tools/workflow-bundle');
  }
  const bundlePath = bundle.bundle.codePath;
  process.env.TEST_TEMPORAL_ADDRESS = server.address;
  process.env.TEST_WORKFLOW_BUNDLE = bundlePath;
  process.env.TEST_TMP_DIR = dir;
  console.log(`\n[integration] Temporal dev server at ${server.address}, ready in ${Date.now() - started} ms`);
}
