/**
 * Orchestration overhead and throughput, each worker configuration in turn on one Temporal dev
 * server:
 *  - latency of a trivial code-only execution (submitted through the gateway, awaited through the
 *    Temporal client) against a raw workflow running the same number of no-op activities (2: validate
 *    and execute);
 *  - throughput of 200 executions submitted at once through the gateway (executions/s, p50/p95);
 *  - the worker process's resident memory (current and peak).
 *
 *   npm run bench:orchestration     (BENCH_VARIANTS=3 for the defaults only; BENCH_CPU_PROF=dir profiles the worker;
 *                                    `node --cpu-prof --import tsx bench/orchestration.ts` profiles the gateway)
 */
import { Client, Connection } from '@temporalio/client';
import { spawn, type ChildProcess } from 'node:child_process';
import { mkdtempSync, rmSync, chmodSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { loadConfig } from '../src/config';
import { freePort, startDevServer } from '../src/dev/temporal-dev-server';
import type { ExecutionSnapshot } from '../src/domain/types';
import { startGateway } from '../test/support/gateway';
import { memoryOf } from './processes';
import { percentile } from './stats';

const LATENCY_RUNS = 20;
/** BENCH_VARIANTS=1,3 runs only those (1-based). */
const CHOSEN = process.env.BENCH_VARIANTS?.split(',').map(Number);
const BURST = Number(process.env.BENCH_BURST ?? 200);

interface Variant {
  name: string;
  env: Record<string, string>;
}

const ALL_VARIANTS: Variant[] = [
  {
    name: 'SDK defaults, no eager activities, cold sandbox',
    env: {
      WORKER_EAGER_ACTIVITIES: 'false',
      WORKER_MAX_CONCURRENT_ACTIVITIES: '100',
      WORKER_MAX_CONCURRENT_WORKFLOW_TASKS: '40',
      SANDBOX_POOL_SIZE: '0',
    },
  },
  {
    name: 'eager activities, cold sandbox',
    env: { WORKER_EAGER_ACTIVITIES: 'true', SANDBOX_POOL_SIZE: '0' },
  },
  {
    name: 'the defaults: eager activities, 100 activity slots, a warm pool of 1 to 4 and a bare sandbox',
    env: { WORKER_EAGER_ACTIVITIES: 'true', WORKER_MAX_CONCURRENT_ACTIVITIES: '100' },
  },
];

const ms = (value: number) => `${value.toFixed(1)} ms`;

async function startWorker(env: Record<string, string>): Promise<ChildProcess> {
  // BENCH_CPU_PROF=dir writes a CPU profile of the worker there (node --cpu-prof).
  const profile = process.env.BENCH_CPU_PROF ? ['--cpu-prof', '--cpu-prof-dir', process.env.BENCH_CPU_PROF] : [];
  const child = spawn(
    process.execPath,
    [...profile, '--import', 'tsx', path.join(__dirname, 'orchestration-worker.ts')],
    {
      env: { ...process.env, ...env },
      stdio: ['ignore', 'pipe', 'inherit'],
    },
  );
  await new Promise<void>((resolve, reject) => {
    child.once('exit', (code) => reject(new Error(`worker exited ${code}`)));
    child.stdout!.on('data', (chunk: Buffer) => {
      if (chunk.toString().includes('ready')) resolve();
    });
  });
  return child;
}

async function stopWorker(child: ChildProcess): Promise<void> {
  await new Promise<void>((resolve) => {
    child.removeAllListeners('exit');
    child.once('exit', () => resolve());
    child.kill('SIGTERM');
  });
}

async function main(): Promise<void> {
  const dataDir = mkdtempSync(path.join(os.tmpdir(), 'bench-orchestration-'));
  chmodSync(dataDir, 0o755);
  const server = await startDevServer({ port: await freePort() });
  const baseEnv = { TEMPORAL_ADDRESS: server.address, DATA_DIR: dataDir, TASK_QUEUE: 'bench', LOG_LEVEL: 'warn' };
  const connection = await Connection.connect({ address: server.address });
  const client = new Client({ connection });
  const rows: string[] = [];
  try {
    const variants = ALL_VARIANTS.filter((_, index) => !CHOSEN || CHOSEN.includes(index + 1));
    for (const variant of variants) {
      const env = { ...baseEnv, ...variant.env };
      const config = loadConfig(env);
      const worker = await startWorker(env);
      const { server: http, baseUrl: base } = await startGateway(client, config);
      const submit = async () => {
        const response = await fetch(`${base}/api/executions`, {
          method: 'POST',
          headers: { 'content-type': 'application/json' },
          body: JSON.stringify({ code: 'print(1)' }),
        });
        return ((await response.json()) as { id: string }).id;
      };
      const waitFor = async (id: string) => {
        const snapshot = (await client.workflow.getHandle(id).result()) as ExecutionSnapshot;
        if (snapshot.status !== 'succeeded') throw new Error(`${id} ended ${snapshot.status}`);
        return snapshot;
      };

      // Latency, one at a time, after a warm-up.
      const ours: number[] = [];
      const raw: number[] = [];
      const sandboxMs: number[] = [];
      for (let i = 0; i < LATENCY_RUNS + 2; i++) {
        let started = performance.now();
        const snapshot = await waitFor(await submit());
        const oursMs = performance.now() - started;
        started = performance.now();
        await client.workflow.execute('rawWorkflow', {
          taskQueue: `${config.temporal.taskQueue}-raw`,
          workflowId: `raw-${variant.name.length}-${Date.now()}-${i}`,
          args: [2],
        });
        const rawMs = performance.now() - started;
        if (i < 2) continue;
        ours.push(oursMs);
        raw.push(rawMs);
        sandboxMs.push(snapshot.resourceUsage[0]?.wallMs ?? 0);
      }
      [ours, raw, sandboxMs].forEach((list) => list.sort((a, b) => a - b));

      // Throughput: everything submitted at once.
      const burstStarted = performance.now();
      const ids = await Promise.all(Array.from({ length: BURST }, () => submit()));
      const latencies = await Promise.all(
        ids.map(async (id) => {
          await waitFor(id);
          return performance.now() - burstStarted;
        }),
      );
      const burstSeconds = (performance.now() - burstStarted) / 1000;
      latencies.sort((a, b) => a - b);
      const memory = memoryOf(worker.pid!);
      http.close();
      await stopWorker(worker);

      rows.push(
        [
          `## ${variant.name}`,
          `latency, one at a time (${LATENCY_RUNS} runs): execution median ${ms(percentile(ours, 50))} p95 ${ms(percentile(ours, 95))}` +
            ` | raw workflow with 2 no-op activities median ${ms(percentile(raw, 50))} p95 ${ms(percentile(raw, 95))}` +
            ` | ratio ${(percentile(ours, 50) / percentile(raw, 50)).toFixed(2)}x` +
            ` | of which sandbox run median ${ms(percentile(sandboxMs, 50))}`,
          `throughput, ${BURST} submitted at once: ${(BURST / burstSeconds).toFixed(1)} executions/s` +
            ` | submit → succeeded p50 ${ms(percentile(latencies, 50))} p95 ${ms(percentile(latencies, 95))}`,
          `worker RSS after the burst ${memory.rssMb.toFixed(0)} MB, peak ${memory.peakMb.toFixed(0)} MB`,
        ].join('\n'),
      );
      console.log(rows.at(-1));
      console.log('');
    }
  } finally {
    await connection.close();
    await server.stop();
    rmSync(dataDir, { recursive: true, force: true });
  }
}

main().catch((error: unknown) => {
  console.error(error);
  process.exit(1);
});
