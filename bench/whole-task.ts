/**
 * A whole task, plan → code → run → analysis, with the scripted model answering each call after a
 * fixed 200 ms: what the service adds above the model's time and the sandbox's. Beside it, in the
 * same run, a raw workflow of the same shape (three activities that each wait 200 ms and two no-op
 * activities), the floor Temporal itself sets.
 *
 *   npm run bench:whole-task        (10 runs by default, `-- 30` for more)
 */
import { Client, Connection } from '@temporalio/client';
import { DefaultLogger, NativeConnection, Runtime, Worker } from '@temporalio/worker';
import { mkdtempSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { loadConfig } from '../src/config';
import { freePort, startDevServer } from '../src/dev/temporal-dev-server';
import type { ExecutionSnapshot } from '../src/domain/types';
import { createExecutionWorker } from '../src/worker';
import { answer, FakeModel } from '../test/support/fake-model';
import { startGateway } from '../test/support/gateway';
import { percentile } from './stats';

const RUNS = Number(process.argv[2] ?? 10);
const MODEL_MS = 200;
const SALES = 'region,revenue\nnorth,120\nsouth,80\nnorth,95\neast,60\n';
const CODE = "import pandas as pd\ndf = pd.read_csv('sales.csv')\nprint(df.groupby('region')['revenue'].sum())";

async function main(): Promise<void> {
  Runtime.install({ logger: new DefaultLogger('ERROR') });
  const dataDir = mkdtempSync(path.join(os.tmpdir(), 'bench-task-'));
  const server = await startDevServer({ port: await freePort() });
  const fake = new FakeModel().answerAfter(MODEL_MS).answerEverything((request) => {
    if (request.purpose === 'plan') return answer.plan();
    if (request.purpose === 'code') return answer.code(CODE);
    return answer.analysis('North leads with 215.');
  });
  await fake.start();
  const config = loadConfig({
    ...process.env,
    TEMPORAL_ADDRESS: server.address,
    DATA_DIR: dataDir,
    TASK_QUEUE: 'bench-task',
    LOG_LEVEL: 'silent',
    OPENAI_BASE_URL: fake.url,
    OPENAI_API_KEY: 'bench',
    LLM_MODEL: 'fake-model',
  });
  const connection = await NativeConnection.connect({ address: server.address });
  const { worker, close } = await createExecutionWorker({ config, connection });
  const raw = await Worker.create({
    connection,
    taskQueue: 'bench-task-raw',
    workflowsPath: require.resolve('./raw-workflow'),
    activities: {
      noop: async () => undefined,
      pause: (ms: number) => new Promise<void>((resolve) => setTimeout(resolve, ms)),
    },
  });
  const running = Promise.all([worker.run(), raw.run()]);
  const clientConnection = await Connection.connect({ address: server.address });
  const client = new Client({ connection: clientConnection });
  const { server: http, baseUrl } = await startGateway(client, config);

  const once = async () => {
    const started = performance.now();
    const response = await fetch(`${baseUrl}/api/executions`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({
        task: 'Total revenue by region, and which region leads?',
        files: [{ name: 'sales.csv', content: Buffer.from(SALES).toString('base64') }],
      }),
    });
    const { id } = (await response.json()) as { id: string };
    const snapshot = (await client.workflow.getHandle(id).result()) as ExecutionSnapshot;
    if (snapshot.status !== 'succeeded') throw new Error(`${id} ended ${snapshot.status}: ${snapshot.error?.message}`);
    return { totalMs: performance.now() - started, sandboxMs: snapshot.resourceUsage[0]?.wallMs ?? 0 };
  };
  const rawOnce = async (i: number) => {
    const started = performance.now();
    await client.workflow.execute('rawWholeTask', {
      taskQueue: 'bench-task-raw',
      workflowId: `raw-task-${Date.now()}-${i}`,
      args: [MODEL_MS],
    });
    return performance.now() - started;
  };

  try {
    await once(); // warm-up
    await rawOnce(-1);
    const totals: number[] = [];
    const sandboxes: number[] = [];
    const overheads: number[] = [];
    const raws: number[] = [];
    for (let i = 0; i < RUNS; i++) {
      const { totalMs, sandboxMs } = await once();
      totals.push(totalMs);
      sandboxes.push(sandboxMs);
      overheads.push(totalMs - 3 * MODEL_MS - sandboxMs);
      raws.push(await rawOnce(i));
      // Time for the warm pool to refill, as between the tasks of a person.
      await new Promise((resolve) => setTimeout(resolve, 1500));
    }
    for (const list of [totals, sandboxes, overheads, raws]) list.sort((a, b) => a - b);
    const row = (label: string, list: number[]) =>
      `  ${label.padEnd(62)} median ${percentile(list, 50).toFixed(0).padStart(5)} ms   p95 ${percentile(list, 95)
        .toFixed(0)
        .padStart(5)} ms`;
    console.log(`whole task: plan → code → run → analysis, the model answering after ${MODEL_MS} ms, ${RUNS} runs`);
    console.log(row('POST → succeeded', totals));
    console.log(row('  of which the sandbox run (pandas group-by)', sandboxes));
    console.log(row(`  the service's own: total − 3 × ${MODEL_MS} ms of model − the sandbox run`, overheads));
    console.log(row(`raw workflow of the same shape (3 × ${MODEL_MS} ms, 2 no-ops) (baseline)`, raws));
    const rawOverhead = percentile(raws, 50) - 3 * MODEL_MS;
    console.log(`  raw orchestration above its ${3 * MODEL_MS} ms of waiting: ${rawOverhead.toFixed(0)} ms`);
  } finally {
    http.close();
    worker.shutdown();
    raw.shutdown();
    await running;
    await close();
    await clientConnection.close();
    await connection.close();
    await fake.stop();
    await server.stop();
    rmSync(dataDir, { recursive: true, force: true });
  }
}

main().catch((error: unknown) => {
  console.error(error);
  process.exit(1);
});
