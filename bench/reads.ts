/**
 * How long `GET /api/executions/:id` takes for a running execution, with a worker polling and with
 * none, beside the Temporal calls under it measured in the same run: `describe` (all a read needs
 * when no worker can answer) and `describe` + the snapshot query (a read with a worker).
 *
 *   npm run bench:reads            (50 reads of each kind by default, `-- 200` for more)
 */
import { Client, Connection } from '@temporalio/client';
import { DefaultLogger, NativeConnection, Runtime } from '@temporalio/worker';
import { mkdtempSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { loadConfig } from '../src/config';
import { freePort, startDevServer } from '../src/dev/temporal-dev-server';
import { snapshotQuery } from '../src/workflows/messages';
import { createExecutionWorker } from '../src/worker';
import { startGateway } from '../test/support/gateway';
import { percentile } from './stats';

const READS = Number(process.argv[2] ?? 50);

async function timed(label: string, read: () => Promise<unknown>): Promise<void> {
  await read(); // the first read fills caches and connections
  const times: number[] = [];
  for (let i = 0; i < READS; i++) {
    const started = performance.now();
    await read();
    times.push(performance.now() - started);
  }
  times.sort((a, b) => a - b);
  console.log(
    `  ${label.padEnd(58)} median ${percentile(times, 50).toFixed(1).padStart(7)} ms` +
      `   p95 ${percentile(times, 95).toFixed(1).padStart(7)} ms   max ${times.at(-1)!.toFixed(1).padStart(7)} ms`,
  );
}

async function main(): Promise<void> {
  Runtime.install({ logger: new DefaultLogger('ERROR') });
  const dataDir = mkdtempSync(path.join(os.tmpdir(), 'bench-reads-'));
  const server = await startDevServer({ port: await freePort() });
  const config = loadConfig({
    ...process.env,
    TEMPORAL_ADDRESS: server.address,
    DATA_DIR: dataDir,
    TASK_QUEUE: 'bench-reads',
    LOG_LEVEL: 'silent',
  });
  const clientConnection = await Connection.connect({ address: server.address });
  const client = new Client({ connection: clientConnection });
  const { server: http, baseUrl } = await startGateway(client, config);
  const connection = await NativeConnection.connect({ address: server.address });
  const submit = async (code: string): Promise<string> => {
    const response = await fetch(`${baseUrl}/api/executions`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ code, options: { stepTimeoutMs: 600_000 } }),
    });
    return ((await response.json()) as { id: string }).id;
  };
  const read = (id: string) => async () => {
    const response = await fetch(`${baseUrl}/api/executions/${id}`);
    const body = (await response.json()) as { stale?: boolean };
    if (response.status !== 200) throw new Error(`GET answered ${response.status}`);
    return body;
  };

  try {
    console.log(`reads: GET /api/executions/:id of a running execution, ${READS} reads each`);
    console.log('with no worker polling the task queue:');
    const waiting = await submit('print(1)');
    await timed('Temporal describe (baseline)', () => client.workflow.getHandle(waiting).describe());
    await timed('GET, answered stale from what the gateway knows', read(waiting));

    const { worker, close } = await createExecutionWorker({ config, connection, llm: null });
    const running = worker.run();
    try {
      const sleeping = await submit('import time\ntime.sleep(600)');
      for (;;) {
        const body = (await read(sleeping)()) as { stale?: boolean; progress?: { currentPhase: string } };
        if (!body.stale && body.progress?.currentPhase === 'executing') break;
        await new Promise((resolve) => setTimeout(resolve, 100));
      }
      console.log('with a worker polling:');
      const handle = client.workflow.getHandle(sleeping);
      await timed('Temporal describe + snapshot query (baseline)', async () => {
        await handle.describe();
        return handle.query(snapshotQuery);
      });
      await timed('GET, answered by the workflow', read(sleeping));
      await handle.terminate('the benchmark is over');
    } finally {
      worker.shutdown();
      await running;
      await close();
    }
  } finally {
    http.close();
    await clientConnection.close();
    await connection.close();
    await server.stop();
    rmSync(dataDir, { recursive: true, force: true });
  }
}

main().catch((error: unknown) => {
  console.error(error);
  process.exit(1);
});
