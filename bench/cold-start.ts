/**
 * Cold start: how long a worker process takes from its spawn to its first poll of the task queue
 * (what `npm start` waits for before it says the service is up), and then how long the first trivial
 * execution takes. Beside it, the same two figures for the smallest Temporal worker process and a
 * raw one-activity workflow, measured in the same run against the same server.
 *
 *   npm run bench:cold-start        (5 starts of each by default, `-- 10` for more)
 */
import { Client, Connection } from '@temporalio/client';
import { temporal } from '@temporalio/proto';
import { spawn } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { loadConfig } from '../src/config';
import { freePort, startDevServer } from '../src/dev/temporal-dev-server';
import { startGateway } from '../test/support/gateway';
import { stopProcess } from './processes';
import { percentile } from './stats';

const STARTS = Number(process.argv[2] ?? 5);
const root = path.resolve(__dirname, '..');

async function polled(client: Client, taskQueue: string): Promise<void> {
  for (;;) {
    const answer = await client.workflowService.describeTaskQueue({
      namespace: 'default',
      taskQueue: { name: taskQueue, kind: temporal.api.enums.v1.TaskQueueKind.TASK_QUEUE_KIND_NORMAL },
      taskQueueType: temporal.api.enums.v1.TaskQueueType.TASK_QUEUE_TYPE_WORKFLOW,
    });
    if ((answer.pollers ?? []).length > 0) return;
    await new Promise((resolve) => setTimeout(resolve, 20));
  }
}

function row(label: string, times: number[]): string {
  const sorted = [...times].sort((a, b) => a - b);
  return `  ${label.padEnd(52)} median ${percentile(sorted, 50).toFixed(0).padStart(6)} ms   max ${sorted.at(-1)!.toFixed(0).padStart(6)} ms`;
}

async function main(): Promise<void> {
  const dataDir = mkdtempSync(path.join(os.tmpdir(), 'bench-cold-'));
  const server = await startDevServer({ port: await freePort() });
  const clientConnection = await Connection.connect({ address: server.address });
  const client = new Client({ connection: clientConnection });
  const results = {
    workerReady: [] as number[],
    firstRun: [] as number[],
    rawReady: [] as number[],
    rawRun: [] as number[],
  };
  try {
    for (let i = 0; i < STARTS; i++) {
      // The service's worker, as npm start runs it, on a task queue of its own each time.
      const taskQueue = `cold-${i}`;
      const env = {
        ...process.env,
        TEMPORAL_ADDRESS: server.address,
        TASK_QUEUE: taskQueue,
        DATA_DIR: dataDir,
        LOG_LEVEL: 'warn',
      };
      const config = loadConfig(env);
      const { server: http, baseUrl } = await startGateway(client, config);
      const started = performance.now();
      const worker = spawn(process.execPath, ['--import', 'tsx', path.join(root, 'src/worker.ts')], {
        cwd: root,
        env,
        stdio: ['ignore', 'ignore', 'inherit'],
      });
      try {
        await polled(client, taskQueue);
        results.workerReady.push(performance.now() - started);
        const submitted = performance.now();
        const response = await fetch(`${baseUrl}/api/executions`, {
          method: 'POST',
          headers: { 'content-type': 'application/json' },
          body: JSON.stringify({ code: 'print(1)' }),
        });
        const { id } = (await response.json()) as { id: string };
        for (;;) {
          const snapshot = (await (await fetch(`${baseUrl}/api/executions/${id}`)).json()) as { status: string };
          if (snapshot.status === 'succeeded') break;
          if (['failed', 'cancelled', 'timed_out'].includes(snapshot.status))
            throw new Error(`run ended ${snapshot.status}`);
          await new Promise((resolve) => setTimeout(resolve, 5));
        }
        results.firstRun.push(performance.now() - submitted);
      } finally {
        await stopProcess(worker, 10_000);
        http.close();
      }

      // The baseline: the smallest worker process and a raw one-activity workflow.
      const rawQueue = `raw-${i}`;
      const rawStarted = performance.now();
      const raw = spawn(process.execPath, ['--import', 'tsx', path.join(__dirname, 'raw-worker.ts')], {
        cwd: root,
        env: { ...process.env, TEMPORAL_ADDRESS: server.address, TASK_QUEUE: rawQueue },
        stdio: ['ignore', 'ignore', 'inherit'],
      });
      try {
        await polled(client, rawQueue);
        results.rawReady.push(performance.now() - rawStarted);
        const submitted = performance.now();
        await client.workflow.execute('rawWorkflow', {
          taskQueue: rawQueue,
          workflowId: `raw-${i}-${Date.now()}`,
          args: [1],
        });
        results.rawRun.push(performance.now() - submitted);
      } finally {
        await stopProcess(raw, 10_000);
      }
    }
    console.log(`cold start: ${STARTS} starts of each, worker process spawn → first poll, then one trivial run`);
    console.log(row('service worker: spawn → first poll', results.workerReady));
    console.log(row('raw Temporal worker: spawn → first poll (baseline)', results.rawReady));
    console.log(row('service: first print(1) after ready, POST → succeeded', results.firstRun));
    console.log(row('raw: first one-activity workflow after ready (baseline)', results.rawRun));
  } finally {
    await clientConnection.close();
    await server.stop();
    rmSync(dataDir, { recursive: true, force: true });
  }
}

main().catch((error: unknown) => {
  console.error(error);
  process.exit(1);
});
