/**
 * Load: 1,000 executions held open at once (each waiting for its plan's approval), then
 *  - the worker process's memory while it holds them;
 *  - `GET /api/executions/:id` of random ones at 200 requests/s with an API key (autocannon), p50/p99,
 *    beside the Temporal calls under a read (describe + the snapshot query) made directly;
 *  - `GET /api/executions?status=awaiting_input` (100 a page, 1,000 listed) at 20 requests/s, beside
 *    Temporal's own list call;
 *  - 200 trivial executions submitted at once: the rate and p50/p95 submit → succeeded, beside 200
 *    raw two-activity workflows started at once on the same server.
 * The worker runs as its own process (src/worker.ts, as `npm start` runs it); the model is the
 * scripted fake, answering at once.
 *
 *   npm run bench:load             (1000 held by default, `-- 300` for fewer)
 */
import { Client, Connection } from '@temporalio/client';
import autocannon from 'autocannon';
import { spawn, type ChildProcess } from 'node:child_process';
import { chmodSync, mkdtempSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { loadConfig } from '../src/config';
import { freePort, startDevServer } from '../src/dev/temporal-dev-server';
import type { ExecutionSnapshot } from '../src/domain/types';
import { snapshotQuery } from '../src/workflows/messages';
import { answer, FakeModel } from '../test/support/fake-model';
import { startGateway } from '../test/support/gateway';
import { memoryOf, stopProcess } from './processes';
import { percentile } from './stats';

const HELD = Number(process.argv[2] ?? 1000);
const BURST = 200;
const KEY = 'bench-load-key';
const root = path.resolve(__dirname, '..');

function spawnProcess(entry: string, env: Record<string, string | undefined>): ChildProcess {
  return spawn(process.execPath, ['--import', 'tsx', path.join(root, entry)], {
    cwd: root,
    env: { ...process.env, ...env },
    stdio: ['ignore', 'ignore', 'inherit'],
  });
}

const ms = (value: number) => `${value.toFixed(1).padStart(7)} ms`;

async function main(): Promise<void> {
  const dataDir = mkdtempSync(path.join(os.tmpdir(), 'bench-load-'));
  chmodSync(dataDir, 0o755);
  const server = await startDevServer({ port: await freePort() });
  const fake = new FakeModel().answerEverything((request) =>
    request.purpose === 'plan' ? answer.plan() : answer.analysis('done'),
  );
  await fake.start();
  const env = {
    TEMPORAL_ADDRESS: server.address,
    TASK_QUEUE: 'bench-load',
    DATA_DIR: dataDir,
    LOG_LEVEL: 'warn',
    OPENAI_BASE_URL: fake.url,
    OPENAI_API_KEY: 'bench',
    LLM_MODEL: 'fake-model',
    API_KEYS: KEY,
    // The limit is per key; this benchmark is one client making every request.
    RATE_LIMIT_PER_MINUTE: '1000000',
  };
  const config = loadConfig(env);
  const clientConnection = await Connection.connect({ address: server.address });
  const client = new Client({ connection: clientConnection });
  const { server: http, baseUrl } = await startGateway(client, config);
  const headers = { 'x-api-key': KEY, 'content-type': 'application/json' };
  const worker = spawnProcess('src/worker.ts', env);
  const raw = spawnProcess('bench/raw-worker.ts', { TEMPORAL_ADDRESS: server.address, TASK_QUEUE: 'bench-load-raw' });
  const submit = async (body: unknown): Promise<string> => {
    const response = await fetch(`${baseUrl}/api/executions`, { method: 'POST', headers, body: JSON.stringify(body) });
    if (response.status !== 202) throw new Error(`submit answered ${response.status}: ${await response.text()}`);
    return ((await response.json()) as { id: string }).id;
  };

  try {
    // 1. Hold HELD executions open, each waiting for its plan's approval.
    const held: string[] = [];
    const holding = performance.now();
    for (let i = 0; i < HELD; i += 50) {
      const batch = Array.from({ length: Math.min(50, HELD - i) }, () =>
        submit({ task: 'Say hello.', options: { requireApproval: true } }),
      );
      held.push(...(await Promise.all(batch)));
    }
    const awaiting = `TaskQueue = 'bench-load' AND ExecutionState = 'awaiting_input'`;
    for (;;) {
      const { count } = await client.workflow.count(awaiting);
      if (count >= HELD) break;
      await new Promise((resolve) => setTimeout(resolve, 500));
    }
    const heldSeconds = (performance.now() - holding) / 1000;
    await new Promise((resolve) => setTimeout(resolve, 2000));
    const memory = memoryOf(worker.pid!);
    console.log(`load: ${HELD} executions held open (awaiting approval) in ${heldSeconds.toFixed(1)} s`);
    console.log(`  worker RSS while holding them ${memory.rssMb.toFixed(0)} MB (peak ${memory.peakMb.toFixed(0)} MB)`);

    // 2. Reads of random held executions at 200/s, with a key.
    const pick = () => held[Math.floor(Math.random() * held.length)];
    const reads = await autocannon({
      url: baseUrl,
      connections: 20,
      overallRate: 200,
      duration: 15,
      headers: { 'x-api-key': KEY },
      requests: [{ method: 'GET', setupRequest: (request) => ({ ...request, path: `/api/executions/${pick()}` }) }],
    });
    const floor: number[] = [];
    for (let i = 0; i < 300; i++) {
      const handle = client.workflow.getHandle(pick());
      const started = performance.now();
      await handle.describe();
      await handle.query(snapshotQuery);
      floor.push(performance.now() - started);
      await new Promise((resolve) => setTimeout(resolve, 5));
    }
    floor.sort((a, b) => a - b);
    console.log(
      `  GET /api/executions/:id at ${reads.requests.average.toFixed(0)}/s: p50 ${ms(reads.latency.p50)}  p99 ${ms(reads.latency.p99)}` +
        `  (${reads.non2xx} non-2xx, ${reads.errors} errors)`,
    );
    console.log(
      `  Temporal describe + snapshot query, one at a time (baseline): p50 ${ms(percentile(floor, 50))}  p99 ${ms(percentile(floor, 99))}`,
    );

    // 3. Listing.
    const lists = await autocannon({
      url: `${baseUrl}/api/executions?status=awaiting_input&pageSize=100`,
      connections: 4,
      overallRate: 20,
      duration: 10,
      headers: { 'x-api-key': KEY },
    });
    const listFloor: number[] = [];
    for (let i = 0; i < 50; i++) {
      const started = performance.now();
      let n = 0;
      for await (const _ of client.workflow.list({ query: awaiting, pageSize: 100 })) if (++n >= 100) break;
      listFloor.push(performance.now() - started);
    }
    listFloor.sort((a, b) => a - b);
    console.log(
      `  GET /api/executions?status=awaiting_input (100 of ${HELD}) at ${lists.requests.average.toFixed(0)}/s: p50 ${ms(lists.latency.p50)}  p99 ${ms(lists.latency.p99)}  (${lists.non2xx} non-2xx)`,
    );
    console.log(
      `  Temporal list, first 100 (baseline): p50 ${ms(percentile(listFloor, 50))}  p99 ${ms(percentile(listFloor, 99))}`,
    );

    // 4. A burst of trivial executions while the others stay held, and raw workflows the same way.
    const burstStarted = performance.now();
    const ids = await Promise.all(Array.from({ length: BURST }, () => submit({ code: 'print(1)' })));
    const latencies = await Promise.all(
      ids.map(async (id) => {
        const snapshot = (await client.workflow.getHandle(id).result()) as ExecutionSnapshot;
        if (snapshot.status !== 'succeeded') throw new Error(`${id} ended ${snapshot.status}`);
        return performance.now() - burstStarted;
      }),
    );
    const burstSeconds = (performance.now() - burstStarted) / 1000;
    latencies.sort((a, b) => a - b);
    const rawStarted = performance.now();
    const rawLatencies = await Promise.all(
      Array.from({ length: BURST }, async (_, i) => {
        await client.workflow.execute('rawWorkflow', {
          taskQueue: 'bench-load-raw',
          workflowId: `raw-burst-${Date.now()}-${i}`,
          args: [2],
        });
        return performance.now() - rawStarted;
      }),
    );
    const rawSeconds = (performance.now() - rawStarted) / 1000;
    rawLatencies.sort((a, b) => a - b);
    console.log(
      `  ${BURST} trivial executions at once: ${(BURST / burstSeconds).toFixed(1)}/s, submit → succeeded p50 ${ms(percentile(latencies, 50))}  p95 ${ms(percentile(latencies, 95))}`,
    );
    console.log(
      `  ${BURST} raw two-activity workflows at once (baseline): ${(BURST / rawSeconds).toFixed(1)}/s, p50 ${ms(percentile(rawLatencies, 50))}  p95 ${ms(percentile(rawLatencies, 95))}`,
    );
    const after = memoryOf(worker.pid!);
    console.log(`  worker RSS after the burst ${after.rssMb.toFixed(0)} MB (peak ${after.peakMb.toFixed(0)} MB)`);
  } finally {
    http.closeAllConnections();
    http.close();
    await Promise.all([stopProcess(worker), stopProcess(raw)]);
    await clientConnection.close();
    await fake.stop();
    await server.stop();
    rmSync(dataDir, { recursive: true, force: true });
  }
}

main().catch((error: unknown) => {
  console.error(error);
  process.exit(1);
});
