/**
 * Answer quality, measured: runs closed-form data-analysis questions (InfiAgent-DABench's format)
 * through the real service — gateway, workflow, sandbox and the configured model endpoint — and
 * scores the `@label[value]` answers against the expected ones.
 *
 *   npm run eval -- --dataset DIR [--model M] [--limit N] [--concurrency N] [--out report.json]
 *                   [--baseline earlier.json] [--temporal ADDRESS]
 *
 * The model comes from OPENAI_API_KEY / OPENAI_BASE_URL / LLM_MODEL, as for the service. Without
 * --temporal (or TEMPORAL_ADDRESS) a dev server of its own is started and stopped.
 */
import { Client, Connection } from '@temporalio/client';
import { DefaultLogger, NativeConnection, Runtime } from '@temporalio/worker';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import type { Server } from 'node:http';
import os from 'node:os';
import path from 'node:path';
import { loadConfig } from '../src/config';
import { freePort, startDevServer, type DevServer } from '../src/dev/temporal-dev-server';
import type { ExecutionSnapshot } from '../src/domain/types';
import { createExecutionWorker } from '../src/worker';
import { startGateway } from '../test/support/gateway';
import {
  describeReport,
  extractAnswers,
  readDataset,
  scoreQuestion,
  summarize,
  taskFor,
  type Question,
  type QuestionResult,
  type Report,
} from './dabench';

interface Args {
  dataset: string;
  model?: string;
  limit?: number;
  concurrency: number;
  out: string;
  baseline?: string;
  temporal?: string;
  timeoutMs: number;
}

const USAGE =
  'usage: npm run eval -- --dataset DIR [--model M] [--limit N] [--concurrency N] [--out report.json] [--baseline earlier.json] [--temporal ADDRESS]';

function parseArgs(argv: string[]): Args {
  const values = new Map<string, string>();
  for (let i = 0; i < argv.length; i++) {
    const flag = argv[i];
    if (!flag.startsWith('--') || argv[i + 1] === undefined) throw new Error(`${USAGE}\n(unexpected ${flag})`);
    values.set(flag.slice(2), argv[++i]);
  }
  const known = new Set(['dataset', 'model', 'limit', 'concurrency', 'out', 'baseline', 'temporal', 'timeout-ms']);
  for (const key of values.keys()) if (!known.has(key)) throw new Error(`${USAGE}\n(unknown --${key})`);
  const dataset = values.get('dataset');
  if (!dataset) throw new Error(USAGE);
  const positive = (key: string, fallback?: number) => {
    const raw = values.get(key);
    if (raw === undefined) return fallback;
    const value = Number(raw);
    if (!Number.isInteger(value) || value < 1) throw new Error(`--${key} must be a positive whole number`);
    return value;
  };
  return {
    dataset: path.resolve(dataset),
    model: values.get('model'),
    limit: positive('limit'),
    concurrency: positive('concurrency', 2) as number,
    out: path.resolve(values.get('out') ?? 'eval-report.json'),
    baseline: values.get('baseline'),
    temporal: values.get('temporal') ?? process.env.TEMPORAL_ADDRESS,
    timeoutMs: positive('timeout-ms', 600_000) as number,
  };
}

async function main(): Promise<void> {
  const args = parseArgs(process.argv.slice(2));
  const dataset = readDataset(args.dataset);
  const questions = dataset.questions.slice(0, args.limit ?? dataset.questions.length);
  Runtime.install({ logger: new DefaultLogger('ERROR') });
  const dataDir = mkdtempSync(path.join(os.tmpdir(), 'eval-'));
  let devServer: DevServer | null = null;
  let http: Server | null = null;
  const closers: Array<() => Promise<unknown>> = [];
  try {
    if (!args.temporal) {
      devServer = await startDevServer({ port: await freePort() });
    }
    const address = args.temporal ?? devServer!.address;
    const config = loadConfig({
      ...process.env,
      TEMPORAL_ADDRESS: address,
      DATA_DIR: dataDir,
      TASK_QUEUE: `eval-${path.basename(dataDir)}`,
      LOG_LEVEL: process.env.LOG_LEVEL ?? 'silent',
    });
    if (!config.llm.configured) throw new Error('no model: set OPENAI_API_KEY (or OPENAI_BASE_URL, and LLM_MODEL)');
    const model = args.model ?? config.llm.model;
    const connection = await NativeConnection.connect({ address });
    closers.push(() => connection.close());
    const { worker, close } = await createExecutionWorker({ config, connection });
    const running = worker.run();
    closers.unshift(async () => {
      worker.shutdown();
      await running;
      await close();
    });
    const clientConnection = await Connection.connect({ address });
    closers.push(() => clientConnection.close());
    const client = new Client({ connection: clientConnection, namespace: config.temporal.namespace });
    const gateway = await startGateway(client, config, process.env.LOG_LEVEL);
    http = gateway.server;
    const { baseUrl } = gateway;

    const ask = async (question: Question): Promise<QuestionResult> => {
      const expected = dataset.labels.get(String(question.id)) ?? [];
      const began = Date.now();
      const failed = (error: string): QuestionResult => ({
        id: question.id,
        level: question.level,
        executionId: null,
        status: 'not started',
        ...scoreQuestion(expected, new Map()),
        tokens: { prompt: 0, completion: 0 },
        costUsd: 0,
        latencyMs: Date.now() - began,
        attempts: 0,
        error,
      });
      const content = readFileSync(path.join(dataset.tables, question.fileName)).toString('base64');
      const response = await fetch(`${baseUrl}/api/executions`, {
        method: 'POST',
        headers: { 'content-type': 'application/json' },
        body: JSON.stringify({
          task: taskFor(question),
          files: [{ name: question.fileName, content }],
          options: { model },
        }),
      });
      const started = (await response.json()) as { id?: string; error?: { message: string } };
      if (!response.ok || !started.id)
        return failed(started.error?.message ?? `the gateway answered ${response.status}`);
      let snapshot: ExecutionSnapshot | null = null;
      while (Date.now() - began < args.timeoutMs) {
        snapshot = (await (await fetch(`${baseUrl}/api/executions/${started.id}`)).json()) as ExecutionSnapshot;
        if (['succeeded', 'failed', 'cancelled', 'timed_out'].includes(snapshot.status)) break;
        await new Promise((resolve) => setTimeout(resolve, 250));
      }
      if (!snapshot) return failed('no snapshot');
      // The analysis first; values the code printed in the asked form count too.
      const printed = snapshot.steps
        .flatMap((step) => step.attempts.filter((attempt) => attempt.status === 'succeeded'))
        .map((attempt) => attempt.stdout)
        .join('\n');
      const answers = new Map([...extractAnswers(printed), ...extractAnswers(snapshot.result?.analysis ?? '')]);
      return {
        id: question.id,
        level: question.level,
        executionId: snapshot.id,
        status: snapshot.status,
        ...scoreQuestion(expected, answers),
        tokens: snapshot.metrics.tokens,
        costUsd: snapshot.metrics.costUsd,
        latencyMs: Date.now() - began,
        attempts: snapshot.metrics.attempts,
        error: snapshot.error?.message ?? null,
      };
    };

    const results: QuestionResult[] = new Array(questions.length);
    let next = 0;
    await Promise.all(
      Array.from({ length: Math.min(args.concurrency, questions.length) }, async () => {
        while (next < questions.length) {
          const index = next++;
          results[index] = await ask(questions[index]);
          const result = results[index];
          console.log(
            `question ${result.id} (${result.level}): ${result.correct ? 'right' : 'wrong'} — ${result.status}`,
          );
        }
      }),
    );
    const report: Report = {
      dataset: path.basename(args.dataset),
      model,
      startedAt: new Date().toISOString(),
      summary: summarize(results),
      results,
    };
    writeFileSync(args.out, `${JSON.stringify(report, null, 2)}\n`);
    const baseline = args.baseline ? (JSON.parse(readFileSync(args.baseline, 'utf8')) as Report) : undefined;
    for (const line of describeReport(report, baseline)) console.log(line);
    console.log(`report: ${args.out}`);
  } finally {
    if (http) {
      http.closeAllConnections();
      await new Promise((resolve) => http!.close(resolve));
    }
    for (const close of closers) await close().catch(() => undefined);
    await devServer?.stop();
    rmSync(dataDir, { recursive: true, force: true });
  }
}

main().catch((error: unknown) => {
  console.error(`eval: ${error instanceof Error ? error.message : String(error)}`);
  process.exit(1);
});
