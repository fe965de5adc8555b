/**
 * Watching: what live streams cost Temporal, and how late a change reaches them. One execution is
 * watched by 1, then by 100 SSE streams while it is paused and resumed ten times; each change's lag
 * is the time from the workflow's change (its timeline entry's time) to the update's arrival on each stream. Beside it,
 * in the same run, a client that polls the snapshot query itself every 150 ms (the floor any reader
 * polling at that rate has), and the query rate that 100 streams polling each for themselves would make.
 *
 *   npm run bench:watchers         (100 watchers by default, `-- 300` for more)
 */
import { InterceptingCall } from '@grpc/grpc-js';
import { Client, Connection } from '@temporalio/client';
import { DefaultLogger, NativeConnection, Runtime } from '@temporalio/worker';
import { mkdtempSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { loadConfig } from '../src/config';
import { freePort, startDevServer } from '../src/dev/temporal-dev-server';
import { snapshotQuery } from '../src/workflows/messages';
import { createExecutionWorker } from '../src/worker';
import { readEvents } from '../test/support/sse';
import { startGateway } from '../test/support/gateway';
import { percentile } from './stats';

const WATCHERS = Number(process.argv[2] ?? 100);
const CHANGES = 20;
const POLL_MS = 150;
/** The changes whose lag is measured; each timeline entry carries the time the workflow made it. */
const CHANGE_EVENTS = new Set(['EXECUTION_PAUSED', 'EXECUTION_RESUMED']);

async function main(): Promise<void> {
  Runtime.install({ logger: new DefaultLogger('ERROR') });
  const dataDir = mkdtempSync(path.join(os.tmpdir(), 'bench-watch-'));
  const server = await startDevServer({ port: await freePort() });
  const config = loadConfig({
    ...process.env,
    TEMPORAL_ADDRESS: server.address,
    DATA_DIR: dataDir,
    TASK_QUEUE: 'bench-watch',
    LOG_LEVEL: 'silent',
  });
  const connection = await NativeConnection.connect({ address: server.address });
  const { worker, close } = await createExecutionWorker({ config, connection, llm: null });
  const running = worker.run();
  let queries = 0;
  const clientConnection = await Connection.connect({
    address: server.address,
    interceptors: [
      (options, next) => {
        if (options.method_definition.path.endsWith('/QueryWorkflow')) queries++;
        return new InterceptingCall(next(options));
      },
    ],
  });
  const client = new Client({ connection: clientConnection });
  const { server: http, baseUrl } = await startGateway(client, config, process.env.BENCH_LOG_LEVEL);
  const post = (route: string, body: unknown) =>
    fetch(`${baseUrl}${route}`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify(body),
    }).then(async (response) => ({ status: response.status, body: (await response.json()) as { id: string } }));

  /** Starts a long execution, lets `watch` observe it, and pauses and resumes it CHANGES times. */
  const run = async (watchers: number, label: string) => {
    const { body } = await post('/api/executions', {
      code: 'import time\ntime.sleep(600)',
      options: { stepTimeoutMs: 900_000 },
    });
    const id = body.id;
    for (;;) {
      const snapshot = (await (await fetch(`${baseUrl}/api/executions/${id}`)).json()) as {
        progress: { currentPhase: string };
      };
      if (snapshot.progress.currentPhase === 'executing') break;
      await new Promise((resolve) => setTimeout(resolve, 100));
    }
    const lags: number[] = [];
    const streams = Array.from({ length: watchers }, () =>
      readEvents(`${baseUrl}/api/executions/${id}/events`, {
        timeoutMs: 600_000,
        onEvent: (event) => {
          if (event.event !== 'update') return;
          for (const entry of event.data.timeline as Array<{ event: string; at: string }>) {
            if (CHANGE_EVENTS.has(entry.event)) lags.push(event.receivedAt - Date.parse(entry.at));
          }
        },
      }),
    );
    await new Promise((resolve) => setTimeout(resolve, 1000)); // every stream open
    const before = queries;
    const started = Date.now();
    for (let i = 0; i < CHANGES; i++) {
      const action = i % 2 === 0 ? 'pause' : 'resume';
      const answer = await post(`/api/executions/${id}/${action}`, {});
      if (answer.status !== 202) throw new Error(`${action} answered ${answer.status}`);
      await new Promise((resolve) => setTimeout(resolve, 600));
    }
    const seconds = (Date.now() - started) / 1000;
    const rate = (queries - before) / seconds;
    await post(`/api/executions/${id}/cancel`, {});
    await Promise.all(streams);
    lags.sort((a, b) => a - b);
    console.log(
      `  ${label.padEnd(44)} lag median ${percentile(lags, 50).toFixed(0).padStart(4)} ms  p95 ${percentile(lags, 95)
        .toFixed(0)
        .padStart(4)} ms  (${lags.length} changes seen)   queries ${rate.toFixed(1).padStart(6)}/s`,
    );
  };

  /** The floor: one client polling the snapshot query every POLL_MS, with the same changes. */
  const rawPoller = async () => {
    const { body } = await post('/api/executions', {
      code: 'import time\ntime.sleep(600)',
      options: { stepTimeoutMs: 900_000 },
    });
    const handle = client.workflow.getHandle(body.id);
    for (;;) {
      const snapshot = await handle.query(snapshotQuery);
      if (snapshot.progress.currentPhase === 'executing') break;
      await new Promise((resolve) => setTimeout(resolve, 100));
    }
    const lags: number[] = [];
    let counted = 0;
    let polling = true;
    const poller = (async () => {
      while (polling) {
        const snapshot = await handle.query(snapshotQuery);
        const changes = snapshot.timeline.filter((entry) => CHANGE_EVENTS.has(entry.event));
        for (const entry of changes.slice(counted)) lags.push(Date.now() - Date.parse(entry.at));
        counted = changes.length;
        await new Promise((resolve) => setTimeout(resolve, POLL_MS));
      }
    })();
    for (let i = 0; i < CHANGES; i++) {
      await post(`/api/executions/${body.id}/${i % 2 === 0 ? 'pause' : 'resume'}`, {});
      await new Promise((resolve) => setTimeout(resolve, 600));
    }
    polling = false;
    await poller;
    await post(`/api/executions/${body.id}/cancel`, {});
    lags.sort((a, b) => a - b);
    console.log(
      `  ${'one raw query poller, every 150 ms (baseline)'.padEnd(44)} lag median ${percentile(lags, 50)
        .toFixed(0)
        .padStart(4)} ms  p95 ${percentile(lags, 95).toFixed(0).padStart(4)} ms  (${lags.length} changes seen)`,
    );
  };

  try {
    console.log(`watchers: one execution paused and resumed ${CHANGES} times, 600 ms apart`);
    await rawPoller();
    await run(1, '1 SSE stream');
    await run(WATCHERS, `${WATCHERS} SSE streams`);
    console.log(
      `  (${WATCHERS} streams polling each for themselves would make about ${((WATCHERS * 1000) / POLL_MS).toFixed(0)} queries/s)`,
    );
  } finally {
    http.closeAllConnections();
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
