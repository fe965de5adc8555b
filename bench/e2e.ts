/**
 * POST → succeeded latency of a trivial code-only execution through the whole stack: gateway over
 * real HTTP, a real Temporal dev server, a worker and the local sandbox. Prints median and p95.
 *
 *   npm run bench:e2e            (20 runs by default, `-- 50` for more; SANDBOX_POOL_SIZE and the like apply)
 */
import { Client, Connection } from '@temporalio/client';
import { DefaultLogger, NativeConnection, Runtime } from '@temporalio/worker';
import { mkdtempSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { loadConfig } from '../src/config';
import { freePort, startDevServer } from '../src/dev/temporal-dev-server';
import { createExecutionWorker } from '../src/worker';
import { startGateway } from '../test/support/gateway';
import { percentile } from './stats';

const RUNS = Number(process.argv[2] ?? 20);
const WARMUP = 2;
const SPACED_MS = 1500;

async function main(): Promise<void> {
  Runtime.install({ logger: new DefaultLogger('ERROR') });
  const dataDir = mkdtempSync(path.join(os.tmpdir(), 'bench-e2e-'));
  const server = await startDevServer({ port: await freePort() });
  const config = loadConfig({
    ...process.env,
    TEMPORAL_ADDRESS: server.address,
    DATA_DIR: dataDir,
    TASK_QUEUE: 'bench-e2e',
  });
  const connection = await NativeConnection.connect({ address: server.address });
  const { worker, close } = await createExecutionWorker({ config, connection, llm: null });
  const running = worker.run();
  const clientConnection = await Connection.connect({ address: server.address });
  const client = new Client({ connection: clientConnection });
  const { server: http, baseUrl: base } = await startGateway(client, config);

  const once = async (): Promise<number> => {
    const started = performance.now();
    const response = await fetch(`${base}/api/executions`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ code: 'print(1)' }),
    });
    const { id } = (await response.json()) as { id: string };
    for (;;) {
      const snapshot = (await (await fetch(`${base}/api/executions/${id}`)).json()) as { status: string };
      if (snapshot.status === 'succeeded') return performance.now() - started;
      if (['failed', 'cancelled', 'timed_out'].includes(snapshot.status))
        throw new Error(`run ended ${snapshot.status}`);
      await new Promise((resolve) => setTimeout(resolve, 5));
    }
  };

  const measure = async (label: string, gapMs: number) => {
    const times: number[] = [];
    for (let i = 0; i < RUNS; i++) {
      if (gapMs > 0) await new Promise((resolve) => setTimeout(resolve, gapMs));
      times.push(await once());
    }
    times.sort((a, b) => a - b);
    console.log(`  ${label}`);
    console.log(
      `    median ${percentile(times, 50).toFixed(1)} ms   p95 ${percentile(times, 95).toFixed(1)} ms` +
        `   min ${times[0].toFixed(1)} ms   max ${times.at(-1)!.toFixed(1)} ms`,
    );
  };

  try {
    for (let i = 0; i < WARMUP; i++) await once();
    console.log(`e2e: POST → succeeded, code-only print(1), ${RUNS} runs each, after ${WARMUP} warm-up runs`);
    await measure('back to back (no lull for the sandbox pool to refill: runs start cold)', 0);
    await measure(`${SPACED_MS} ms apart (each run takes a pre-started sandbox)`, SPACED_MS);
  } finally {
    http.close();
    worker.shutdown();
    await running;
    await close();
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
