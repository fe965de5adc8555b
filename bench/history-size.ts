/**
 * The largest history a bounded plan makes, against Temporal's limits: 20 independent steps (the
 * most a plan may have), each failing 9 times and succeeding on its 10th attempt (the most
 * `maxAttempts` allows), with large code, output and errors, and pause/resume cycles while it runs.
 * A one-step execution is measured beside it as the baseline.
 *
 *   npm run bench:history            BENCH_PAUSES=40 npm run bench:history
 */
import * as proto from '@temporalio/proto';
import { freePort, startDevServer } from '../src/dev/temporal-dev-server';
import type { ExecutionSnapshot } from '../src/domain/types';
import { answer, type Reply } from '../test/support/fake-model';
import { Harness } from '../test/support/harness';

const STEPS = 20;
const ATTEMPTS = 10;
const PAUSES = Number(process.env.BENCH_PAUSES ?? 20);
/** Temporal's defaults: the server warns at these sizes and terminates the execution at 50 MB / 51,200 events. */
const WARN_EVENTS = 10_240;
const WARN_BYTES = 10 * 1024 * 1024;
const PAYLOAD_LIMIT = 2 * 1024 * 1024;

/** Code as large as a model might write, printing the most the sandbox keeps, failing with a long error. */
function codeFor(step: string, attempt: number): string {
  const padding = `# ${'generated analysis code '.repeat(400)}`; // about 10 KB
  const body = `print('${step}:${attempt} ' + 'y' * 9000)\nimport sys\nsys.stderr.write('w' * 5000)`;
  const end = attempt < ATTEMPTS ? `\nraise ValueError('attempt ${attempt} of ${step}: ' + 'z' * 3000)` : '';
  return `${padding}\n${body}${end}`;
}

interface Figures {
  events: number;
  bytes: number;
  largestEventBytes: number;
  resultBytes: number;
  status: string;
}

async function measure(harness: Harness, id: string): Promise<Figures> {
  const handle = harness.client.workflow.getHandle(id);
  const snapshot = (await handle.result()) as ExecutionSnapshot;
  // Page by page: one answer holding a whole large history passes the client's 4 MB message limit.
  const sizes: number[] = [];
  let nextPageToken: Uint8Array | undefined;
  do {
    const page = await harness.client.workflowService.getWorkflowExecutionHistory({
      namespace: harness.config.temporal.namespace,
      execution: { workflowId: id },
      maximumPageSize: 20,
      nextPageToken,
    });
    for (const event of page.history?.events ?? []) {
      sizes.push(proto.temporal.api.history.v1.HistoryEvent.encode(event).finish().length);
    }
    nextPageToken = page.nextPageToken?.length ? page.nextPageToken : undefined;
  } while (nextPageToken);
  return {
    events: sizes.length,
    bytes: sizes.reduce((sum, size) => sum + size, 0),
    largestEventBytes: Math.max(...sizes),
    resultBytes: Buffer.byteLength(JSON.stringify(snapshot)),
    status: snapshot.error ? `${snapshot.status} (${snapshot.error.code})` : snapshot.status,
  };
}

async function main(): Promise<void> {
  const server = await startDevServer({ port: await freePort(), startTimeoutMs: 120_000 });
  process.env.TEST_TEMPORAL_ADDRESS = server.address;
  const harness = new Harness();
  try {
    await harness.start();
    const submit = async (body: Record<string, unknown>) => {
      const response = await harness.request('POST', '/api/executions', body);
      if (response.status !== 202) throw new Error(`POST answered ${response.status}: ${response.text}`);
      return response.body.id as string;
    };

    harness.fake.script(answer.plan(), answer.code("print('one step')"), answer.analysis('Done.'));
    const baseline = await measure(harness, await submit({ task: 'One step.' }));

    const calls = new Map<string, number>();
    const code: Reply = {
      purpose: 'code',
      content: (request) => {
        const step = /Write the code for step "([^"]+)"/.exec(request.user)?.[1] ?? '?';
        const attempt = (calls.get(step) ?? 0) + 1;
        calls.set(step, attempt);
        return `\`\`\`python\n${codeFor(step, attempt)}\n\`\`\``;
      },
    };
    harness.fake.answerEverything((request) => (request.purpose === 'code' ? code : answer.analysis('All done.')));
    const started = Date.now();
    const id = await submit({
      task: 'The largest plan there is.',
      plan: { steps: Array.from({ length: STEPS }, (_, i) => ({ id: `s${i + 1}`, title: `Step ${i + 1}` })) },
      options: { maxAttempts: ATTEMPTS, timeoutMs: 3_600_000 },
    });
    let pauses = 0;
    while (pauses < PAUSES) {
      const paused = await harness.request('POST', `/api/executions/${id}/pause`);
      if (paused.status === 409) break; // it ended
      await harness.waitFor(id, (snapshot) => snapshot.status === 'paused' || snapshot.completedAt !== null);
      await harness.request('POST', `/api/executions/${id}/resume`);
      pauses++;
    }
    const largest = await measure(harness, id);
    const seconds = ((Date.now() - started) / 1000).toFixed(1);
    const mb = (bytes: number) => `${(bytes / 1024 / 1024).toFixed(2)} MB`;
    const row = (name: string, f: Figures) =>
      `| ${name} | ${f.status} | ${f.events} (${((100 * f.events) / WARN_EVENTS).toFixed(0)}% of the warning) | ` +
      `${mb(f.bytes)} (${((100 * f.bytes) / WARN_BYTES).toFixed(0)}%) | ${mb(f.largestEventBytes)} | ` +
      `${mb(f.resultBytes)} (${((100 * f.resultBytes) / PAYLOAD_LIMIT).toFixed(0)}% of 2 MB) |`;
    console.log(
      `\nhistory of the largest bounded plan (${STEPS} steps × ${ATTEMPTS} attempts, ${pauses} pauses, ${seconds} s)`,
    );
    console.log('| execution | end | events | history bytes | largest event | final snapshot |');
    console.log('| --- | --- | --- | --- | --- | --- |');
    console.log(row('baseline: one step, one attempt', baseline));
    console.log(row(`${STEPS} × ${ATTEMPTS} with ${pauses} pauses`, largest));
    console.log(
      `Temporal warns at ${WARN_EVENTS} events or ${mb(WARN_BYTES)}; a payload over ${mb(PAYLOAD_LIMIT)} fails.`,
    );
  } finally {
    await harness.stop();
    await server.stop();
  }
}

main().catch((error: unknown) => {
  console.error(`bench:history: ${error instanceof Error ? error.message : String(error)}`);
  process.exit(1);
});
