/**
 * First token: how long after the model endpoint sends the first piece of a streamed answer it
 * reaches a client of the live stream as a `token` event. The fake endpoint streams the code of a
 * step in 16-character pieces, 100 ms apart; the time its first piece leaves the endpoint is
 * compared with the arrival of the first `token` event on an SSE client. Beside it, in the same run
 * and over the same path (activity heartbeat, the gateway's describe, the stream), the baseline the
 * live view already had: the first line a sandbox step prints (it prints the time) to its `output`
 * event.
 *
 *   npm run bench:first-token            (10 executions by default, `-- 30` for more)
 */
import { Client, Connection } from '@temporalio/client';
import { DefaultLogger, NativeConnection, Runtime } from '@temporalio/worker';
import { mkdtempSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { loadConfig } from '../src/config';
import { freePort, startDevServer } from '../src/dev/temporal-dev-server';
import { createExecutionWorker } from '../src/worker';
import { answer, FakeModel } from '../test/support/fake-model';
import { startGateway } from '../test/support/gateway';
import { readEvents } from '../test/support/sse';
import { percentile } from './stats';

const RUNS = Number(process.argv[2] ?? 10);
/** A program long enough to stream for about three seconds, that prints the time as it starts. */
const PROGRAM = [
  'import time',
  'print(int(time.time() * 1000), flush=True)',
  ...Array.from({ length: 10 }, (_, i) => `# a line of commentary number ${i}, to make the answer long`),
  'time.sleep(1.5)',
].join('\n');

async function main(): Promise<void> {
  Runtime.install({ logger: new DefaultLogger('ERROR') });
  const dataDir = mkdtempSync(path.join(os.tmpdir(), 'bench-first-token-'));
  const server = await startDevServer({ port: await freePort() });
  const fake = new FakeModel().behave({ streamPieceChars: 16, streamPieceDelayMs: 100 });
  await fake.start();
  const config = loadConfig({
    ...process.env,
    TEMPORAL_ADDRESS: server.address,
    DATA_DIR: dataDir,
    TASK_QUEUE: 'bench-first-token',
    LOG_LEVEL: 'silent',
    OPENAI_BASE_URL: fake.url,
    OPENAI_API_KEY: 'fake-key',
    LLM_MODEL: 'fake-model',
  });
  const connection = await NativeConnection.connect({ address: server.address });
  const { worker, close } = await createExecutionWorker({ config, connection });
  const running = worker.run();
  const clientConnection = await Connection.connect({ address: server.address });
  const client = new Client({ connection: clientConnection });
  const { server: http, baseUrl } = await startGateway(client, config, process.env.BENCH_LOG_LEVEL);
  const tokenLags: number[] = [];
  const outputLags: number[] = [];
  try {
    for (let i = 0; i < RUNS; i++) {
      fake.script(answer.plan(), answer.code(PROGRAM), answer.analysis('It printed the time.'));
      const started = await fetch(`${baseUrl}/api/executions`, {
        method: 'POST',
        headers: { 'content-type': 'application/json' },
        body: JSON.stringify({ task: `Print the time (${i}).` }),
      });
      const { id } = (await started.json()) as { id: string };
      const streamed = fake.firstPieceAt.length;
      const events = await readEvents(`${baseUrl}/api/executions/${id}/events`, { timeoutMs: 120_000 });
      const token = events.find((event) => event.event === 'token' && event.data.phase === 'generating');
      const output = events.find((event) => event.event === 'output');
      const sent = fake.firstPieceAt[streamed];
      if (!token || !output || sent === undefined) throw new Error(`run ${i}: no token or output event arrived`);
      tokenLags.push(token.receivedAt - sent);
      outputLags.push(output.receivedAt - Number(String(output.data.text).split('\n')[0]));
    }
  } finally {
    http.closeAllConnections();
    http.close();
    worker.shutdown();
    await running;
    await close();
    await clientConnection.close();
    await connection.close();
    await fake.stop();
    await server.stop();
    rmSync(dataDir, { recursive: true, force: true });
  }
  const line = (label: string, lags: number[]) => {
    const sorted = [...lags].sort((a, b) => a - b);
    console.log(
      `  ${label.padEnd(58)} median ${percentile(sorted, 50).toFixed(0).padStart(4)} ms  p95 ${percentile(sorted, 95)
        .toFixed(0)
        .padStart(4)} ms  max ${sorted.at(-1)?.toFixed(0).padStart(4)} ms`,
    );
  };
  console.log(`first token: ${RUNS} executions, code streamed in 16-character pieces 100 ms apart`);
  line('first streamed piece at the endpoint → SSE token event', tokenLags);
  line('first line a sandbox step prints → SSE output event (baseline)', outputLags);
}

main().catch((error: unknown) => {
  console.error(error);
  process.exit(1);
});
