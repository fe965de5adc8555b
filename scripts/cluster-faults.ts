/**
 * `npm run test:cluster`: faults survived, measured. Starts the cluster of `npm run cluster` (the
 * Temporal server on PostgreSQL, mutual TLS) in a folder of its own, two gateways and two workers,
 * and the scripted fake model; puts executions in flight whose results are known in advance (the
 * sum of a CSV's column: code-only ones, and two-step plans whose second step reads what the first
 * wrote), then in turn: kills one worker (SIGKILL) during sandbox runs; kills the Temporal server and
 * starts it again; restarts PostgreSQL; stops every worker for 30 s; rolls the workers (new ones
 * started, the old ones stopped with SIGTERM); restarts one gateway while clients stream events
 * through it. Then prints the figures, and exits non-zero unless every execution finished with its
 * known result.
 *
 * Executions' files go to SeaweedFS over S3 (ARTIFACT_STORE=s3), as in `npm run cluster`, so the
 * gateways serve what workers wrote through the shared store; `--artifacts local` uses one folder.
 *
 * Options: --executions N (100), --artifacts s3|local (s3), --keep (leave the folder for a look).
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { createHash } from 'node:crypto';
import { chmodSync, mkdtempSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { parseArgs } from 'node:util';
import { Client, Connection } from '@temporalio/client';
import { startPostgres } from '../src/dev/postgres';
import { startCluster } from '../src/dev/temporal-cluster';
import { startSeaweed } from '../src/dev/seaweedfs';
import { canConnect, freePort, waitForPort } from '../src/dev/temporal-dev-server';
import type { ExecutionSnapshot } from '../src/domain/types';
import { FakeModel, type Reply } from '../test/support/fake-model';

const root = path.resolve(__dirname, '..');
const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

interface Expected {
  id: string;
  kind: 'code' | 'plan';
  sum: number;
}

async function main(): Promise<void> {
  const { values } = parseArgs({
    options: {
      executions: { type: 'string', default: '100' },
      artifacts: { type: 'string', default: 's3' },
      keep: { type: 'boolean' },
    },
  });
  const total = Number(values.executions);
  if (!Number.isInteger(total) || total < 1) throw new Error('--executions takes a positive whole number');
  if (values.artifacts !== 's3' && values.artifacts !== 'local') throw new Error('--artifacts takes s3 or local');
  const dir = mkdtempSync(path.join(os.tmpdir(), 'cluster-faults-'));
  chmodSync(dir, 0o755);
  const say = (text: string) => console.log(`[faults ${new Date().toISOString().slice(11, 19)}] ${text}`);

  const fake = new FakeModel();
  await fake.start();
  fake.answerEverything(modelAnswer);
  let port = 0;
  for (;;) {
    port = 10_000 + Math.floor(Math.random() * 20_000);
    const taken = await Promise.all(Array.from({ length: 9 }, (_, i) => canConnect('127.0.0.1', port + i)));
    if (!taken.some(Boolean)) break;
  }
  const postgresPort = await freePort();
  say(`starting the cluster in ${dir}`);
  const cluster = await startCluster({ dir: path.join(dir, 'cluster'), port, postgresPort });
  const s3Credentials = { accessKeyId: 'faults', secretAccessKey: 'faults-secret' };
  const seaweed =
    values.artifacts === 's3'
      ? await startSeaweed({ dir: path.join(dir, 'seaweedfs'), bucket: 'artifacts', ...s3Credentials })
      : null;
  if (seaweed) say(`artifacts in SeaweedFS over S3 at ${seaweed.endpoint}`);
  const env: NodeJS.ProcessEnv = {
    ...Object.fromEntries(Object.entries(process.env).filter(([name]) => !name.startsWith('TEMPORAL_'))),
    ...cluster.clientEnv,
    DATABASE_URL: cluster.databaseUrl,
    DATA_DIR: path.join(dir, 'data'),
    TASK_QUEUE: 'faults',
    OPENAI_BASE_URL: fake.url,
    OPENAI_API_KEY: 'fake',
    LLM_MODEL: 'fake-model',
    LOG_LEVEL: 'warn',
    WORKER_SHUTDOWN_GRACE_MS: '10000',
    SANDBOX_POOL_MAX: '2',
    ...(seaweed
      ? {
          ARTIFACT_STORE: 's3',
          ARTIFACT_S3_BUCKET: 'artifacts',
          ARTIFACT_S3_ENDPOINT: seaweed.endpoint,
          ARTIFACT_S3_ACCESS_KEY_ID: s3Credentials.accessKeyId,
          ARTIFACT_S3_SECRET_ACCESS_KEY: s3Credentials.secretAccessKey,
          // The SDK's notice that its releases after January 2027 need Node 22: not this run's concern.
          AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED: 'true',
        }
      : {}),
  };
  const processes: ChildProcess[] = [];
  const launch = (entry: string, extra: NodeJS.ProcessEnv = {}) => {
    const child = spawn(process.execPath, ['--import', 'tsx', path.join(root, entry)], {
      cwd: root,
      env: { ...env, ...extra },
      stdio: ['ignore', 'pipe', 'inherit'],
    });
    processes.push(child);
    return child;
  };
  const startWorker = async () => {
    const child = launch('src/worker.ts');
    await new Promise<void>((resolve, reject) => {
      child.once('exit', (code) => reject(new Error(`a worker exited with ${code} before it polled`)));
      child.stdout!.on('data', (chunk: Buffer) => {
        if (chunk.toString().includes('polling')) resolve();
      });
    });
    child.removeAllListeners('exit');
    return child;
  };
  const stopped = (child: ChildProcess, signal: NodeJS.Signals) =>
    new Promise<void>((resolve) => {
      if (child.exitCode !== null || child.signalCode !== null) return resolve();
      child.once('exit', () => resolve());
      child.kill(signal);
    });
  const gatewayPorts = [await freePort(), await freePort()];
  const startGateway = async (n: number) => {
    const child = launch('src/api/server.ts', { PORT: String(gatewayPorts[n]) });
    if (!(await waitForPort('127.0.0.1', gatewayPorts[n], 60_000))) throw new Error(`gateway ${n + 1} did not start`);
    return child;
  };

  const connection = await Connection.connect(cluster.connection);
  const client = new Client({ connection, namespace: cluster.namespace });
  const gateways = [await startGateway(0), await startGateway(1)];
  let workers = [await startWorker(), await startWorker()];
  const url = (n: number, route: string) => `http://127.0.0.1:${gatewayPorts[n]}${route}`;

  // The longest time the first gateway answered anything but success, and whether it kept the error shape.
  let outageStart: number | null = null;
  let longestOutageMs = 0;
  let shapelessErrors = 0;
  let watching = true;
  const watcher = (async () => {
    while (watching) {
      const answer = await fetch(url(0, '/api/executions?limit=1')).then(
        async (response) => ({ ok: response.ok, body: (await response.json().catch(() => null)) as unknown }),
        () => ({ ok: false, body: null }),
      );
      if (answer.ok) {
        if (outageStart !== null) longestOutageMs = Math.max(longestOutageMs, Date.now() - outageStart);
        outageStart = null;
      } else {
        outageStart ??= Date.now();
        const code = (answer.body as { error?: { code?: string } } | null)?.error?.code;
        if (answer.body !== null && code === undefined) shapelessErrors++;
      }
      await sleep(250);
    }
  })();

  say(`submitting ${total} executions through both gateways`);
  const expected: Expected[] = [];
  for (let i = 0; i < total; i++) {
    const n = 10 + ((i * 37) % 990);
    const csv = ['n', ...Array.from({ length: n }, (_, k) => String(k + 1))].join('\n') + '\n';
    const files = [{ name: 'numbers.csv', content: Buffer.from(csv).toString('base64') }];
    const kind = i % 3 === 2 ? 'plan' : 'code';
    const body =
      kind === 'code'
        ? { code: sumCode(2 + (i % 4)), files }
        : { task: 'Sum the column n of numbers.csv, then report it.', files };
    const response = await postWithRetry(url(i % 2, '/api/executions'), body);
    expected.push({ id: response.id, kind, sum: (n * (n + 1)) / 2 });
  }

  // Clients watching events through the second gateway, reconnecting when it goes away.
  const streamed = new Map<string, boolean>();
  const streams = expected.slice(0, 10).map(({ id }) => follow(url(1, `/api/executions/${id}/events`), id, streamed));

  const executing = async () => {
    for (let i = 0; i < 240; i++) {
      const list = (await fetch(url(0, '/api/executions?status=running&limit=50'))
        .then((response) => response.json())
        .catch(() => null)) as { executions?: unknown[] } | null;
      if ((list?.executions?.length ?? 0) > 0) return;
      await sleep(250);
    }
  };

  await executing();
  say('fault 1: a worker killed (SIGKILL) during sandbox runs');
  await stopped(workers[0], 'SIGKILL');
  workers = [workers[1], await startWorker()];

  await sleep(5000);
  say('fault 2: the Temporal server killed (SIGKILL), started again after 3 s');
  await cluster.stopServer('SIGKILL');
  await sleep(3000);
  await cluster.startServer();

  await sleep(5000);
  say('fault 3: PostgreSQL restarted');
  await cluster.postgres.stop();
  await sleep(2000);
  const postgres = await startPostgres(path.join(dir, 'cluster', 'postgres'), postgresPort);

  await sleep(5000);
  say('fault 4: every worker stopped for 30 s');
  await Promise.all(workers.map((worker) => stopped(worker, 'SIGTERM')));
  await sleep(30_000);
  workers = [await startWorker(), await startWorker()];

  await sleep(5000);
  say('fault 5: a rolling deploy: two new workers, then the old ones stopped with SIGTERM');
  const old = workers;
  workers = [await startWorker(), await startWorker()];
  await Promise.all(old.map((worker) => stopped(worker, 'SIGTERM')));

  await sleep(3000);
  say('fault 6: the second gateway restarted while clients stream events through it');
  await stopped(gateways[1], 'SIGTERM');
  await sleep(1000);
  gateways[1] = await startGateway(1);

  say('waiting for every execution to end');
  const snapshots = new Map<string, ExecutionSnapshot>();
  const deadline = Date.now() + 15 * 60_000;
  while (snapshots.size < expected.length && Date.now() < deadline) {
    for (const { id } of expected) {
      if (snapshots.has(id)) continue;
      const snapshot = (await fetch(url(0, `/api/executions/${id}`))
        .then((response) => (response.ok ? response.json() : null))
        .catch(() => null)) as ExecutionSnapshot | null;
      if (snapshot && ['succeeded', 'failed', 'cancelled', 'timed_out'].includes(snapshot.status)) {
        snapshots.set(id, snapshot);
      }
    }
    await sleep(1000);
  }
  await Promise.race([Promise.all(streams), sleep(30_000)]);
  watching = false;
  await watcher;

  let succeeded = 0;
  let wrong = 0;
  let doubled = 0;
  let rerunSandbox = 0;
  for (const { id, sum } of expected) {
    const snapshot = snapshots.get(id);
    if (!snapshot) continue;
    if (snapshot.status === 'succeeded') succeeded++;
    const last = snapshot.steps.at(-1)?.attempts.at(-1);
    const file = snapshot.result?.files.find((entry) => entry.name === 'sum.txt');
    let fileOk = false;
    if (file) {
      const bytes = Buffer.from(
        await (await fetch(url(0, `/api/executions/${id}/artifacts/${file.key}`))).arrayBuffer(),
      );
      fileOk = bytes.toString() === String(sum) && createHash('sha256').update(bytes).digest('hex') === file.sha256;
    }
    if (snapshot.status !== 'succeeded' || last?.stdout !== `sum ${sum}\n` || !fileOk) wrong++;
    for (const step of snapshot.steps) {
      const completions = snapshot.timeline.filter(
        (event) =>
          event.event === 'TASK_COMPLETED' && event.stepId === step.id && event.description.includes('succeeded'),
      ).length;
      const numbers = step.attempts.map((attempt) => attempt.n);
      const contiguous = numbers.every((number, index) => number === index + 1);
      if (completions > 1 || !contiguous) doubled++;
    }
    const history = await client.workflow.getHandle(id).fetchHistory();
    const started = new Map<string, number>();
    for (const event of history.events ?? []) {
      const scheduled = event.activityTaskScheduledEventAttributes;
      if (scheduled?.activityType?.name === 'executeCode') started.set(String(event.eventId), 0);
      const start = event.activityTaskStartedEventAttributes;
      if (start && started.has(String(start.scheduledEventId)) && Number(start.attempt) > 1) {
        rerunSandbox += Number(start.attempt) - 1;
      }
    }
  }
  const streamedToEnd = [...streamed.values()].filter(Boolean).length;
  console.log('');
  console.log(`  executions finished (succeeded) / started        ${succeeded} / ${expected.length}`);
  console.log(`  with a wrong result or artifact (sha256)        ${wrong}`);
  console.log(`  steps succeeded twice, or an attempt lost        ${doubled}`);
  console.log(`  sandbox runs repeated after a worker stopped     ${rerunSandbox} (allowed)`);
  console.log(`  longest outage seen by the first gateway         ${(longestOutageMs / 1000).toFixed(1)} s`);
  console.log(`  error answers without the error shape            ${shapelessErrors}`);
  console.log(`  event streams that reached the end, of 10        ${streamedToEnd}`);
  console.log(
    `  artifacts                                        ${seaweed ? 'SeaweedFS over S3' : 'one local folder'}`,
  );
  console.log('');

  await connection.close();
  await Promise.all(processes.map((child) => stopped(child, 'SIGTERM')));
  await cluster.stopServer();
  await seaweed?.stop();
  await postgres.stop();
  await fake.stop();
  if (!values.keep) rmSync(dir, { recursive: true, force: true });
  const passed = succeeded === expected.length && wrong === 0 && doubled === 0 && shapelessErrors === 0;
  process.exit(passed ? 0 : 1);
}

/** Code that prints the sum of numbers.csv's column n and writes it to sum.txt, after a pause. */
function sumCode(seconds: number): string {
  return [
    'import time, pandas as pd',
    "total = int(pd.read_csv('numbers.csv')['n'].sum())",
    `time.sleep(${seconds})`,
    "open('sum.txt', 'w').write(str(total))",
    "print('sum', total)",
  ].join('\n');
}

/** The fake model's answers: a two-step plan; each step's code by its id; a short analysis. */
function modelAnswer(request: { purpose: string; user: string }): Reply {
  if (request.purpose === 'plan') {
    const steps = [
      { id: 'total', title: 'Sum the column', description: 'Sum n', dependsOn: [] },
      { id: 'report', title: 'Report the sum', description: 'Print it', dependsOn: ['total'] },
    ];
    return { purpose: 'plan', content: JSON.stringify({ steps }) };
  }
  if (request.purpose === 'code') {
    const report = /Write the code for step "report"/.test(request.user);
    const code = report
      ? "import time\ntime.sleep(1)\ntotal = open('sum.txt').read()\nopen('sum.txt', 'w').write(total)\nprint('sum', total)"
      : sumCode(2);
    return { purpose: 'code', content: `\`\`\`python\n${code}\n\`\`\`` };
  }
  return { purpose: 'analysis', content: 'The sum is in sum.txt.' };
}

/** POSTs JSON, trying again for up to a minute while the gateway answers 5xx or not at all. */
async function postWithRetry(target: string, body: unknown): Promise<{ id: string }> {
  for (let i = 0; ; i++) {
    const response = await fetch(target, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify(body),
    }).catch(() => null);
    if (response?.status === 202) return (await response.json()) as { id: string };
    if (i > 240) throw new Error(`POST ${target}: ${response?.status ?? 'no answer'}`);
    await sleep(250);
  }
}

/** Reads an execution's event stream to its `end`, reconnecting (with Last-Event-ID) when it drops. */
async function follow(target: string, id: string, ended: Map<string, boolean>): Promise<void> {
  ended.set(id, false);
  let lastEventId = '0';
  const deadline = Date.now() + 20 * 60_000;
  while (Date.now() < deadline) {
    try {
      const response = await fetch(target, { headers: { 'last-event-id': lastEventId } });
      if (!response.ok || !response.body) throw new Error(String(response.status));
      let buffer = '';
      for await (const chunk of response.body as unknown as AsyncIterable<Uint8Array>) {
        buffer += Buffer.from(chunk).toString();
        let at: number;
        while ((at = buffer.indexOf('\n\n')) >= 0) {
          const event = buffer.slice(0, at);
          buffer = buffer.slice(at + 2);
          const idLine = /^id: (.+)$/m.exec(event)?.[1];
          if (idLine) lastEventId = idLine;
          if (/^event: end$/m.test(event)) {
            ended.set(id, true);
            return;
          }
        }
      }
    } catch {
      // The gateway went away: connect again shortly.
    }
    await sleep(500);
  }
}

main().catch((error: unknown) => {
  console.error(error instanceof Error ? error.message : error);
  process.exit(1);
});
