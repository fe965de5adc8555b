import { InterceptingCall } from '@grpc/grpc-js';
import { Client, Connection } from '@temporalio/client';
import { DefaultLogger, NativeConnection, Runtime, type Worker } from '@temporalio/worker';
import { spawn, type ChildProcess } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import type { Server } from 'node:http';
import os from 'node:os';
import path from 'node:path';
import { loadConfig, type Config } from '../../src/config';
import type { ExecutionSnapshot } from '../../src/domain/types';
import { createExecutionWorker } from '../../src/worker';
import { FakeModel } from './fake-model';
import { gatewayClient } from '../../src/api/temporal-connection';
import { startGateway } from './gateway';

let runtimeInstalled = false;

/** Keeps the Temporal core quiet unless something is really wrong. */
function installRuntime(): void {
  if (runtimeInstalled) return;
  runtimeInstalled = true;
  try {
    Runtime.install({ logger: new DefaultLogger('ERROR') });
  } catch {
    // Already installed by an earlier harness in this process.
  }
}

export interface HarnessOptions {
  /** Give the worker and the gateway a model endpoint (the fake). Default true. */
  model?: boolean;
  /** Extra environment for loadConfig; a function is called when the harness starts. */
  env?: Record<string, string> | (() => Record<string, string>);
  /** Environment for the worker alone, over `env`: a deployment whose workers are set up unlike its gateway. */
  workerEnv?: Record<string, string>;
  /** Run a worker in this process. Default true; tests of crashes start worker processes instead. */
  worker?: boolean;
}

/**
 * A whole service for one test file: a worker on its own task queue against the shared dev server,
 * the gateway on a real HTTP port, and the scripted fake model.
 */
export class Harness {
  readonly fake = new FakeModel();
  config!: Config;
  /** The worker's configuration: the gateway's, unless `workerEnv` sets it apart. */
  workerConfig!: Config;
  client!: Client;
  baseUrl = '';
  dataDir = '';
  private connection!: NativeConnection;
  private clientConnection!: Connection;
  private worker!: Worker;
  private workerRun!: Promise<void>;
  private closeWorker!: () => Promise<void>;
  private server!: Server;
  private readonly children: ChildProcess[] = [];
  private extraEnv: Record<string, string> = {};

  /** Starts a worker in its own process (with `env` over the harness's), and resolves once it polls. */
  async spawnWorker(env: Record<string, string> = {}): Promise<ChildProcess> {
    const child = spawn(process.execPath, ['--import', 'tsx', path.join(__dirname, 'worker-process.ts')], {
      env: { ...process.env, ...this.workerEnv(), ...env },
      stdio: ['ignore', 'pipe', 'inherit'],
    });
    this.children.push(child);
    await new Promise<void>((resolve, reject) => {
      child.once('exit', (code) => reject(new Error(`worker process exited with ${code} before it was ready`)));
      child.stdout!.on('data', (chunk: Buffer) => {
        if (chunk.toString().includes('ready')) resolve();
      });
    });
    child.removeAllListeners('exit');
    return child;
  }

  constructor(private readonly options: HarnessOptions = {}) {}

  async start(): Promise<this> {
    installRuntime();
    const address = process.env.TEST_TEMPORAL_ADDRESS;
    if (!address) throw new Error('TEST_TEMPORAL_ADDRESS is not set: run through the integration project');
    const useModel = this.options.model ?? true;
    if (useModel) await this.fake.start();
    this.dataDir = mkdtempSync(path.join(os.tmpdir(), 'exec-data-'));
    this.extraEnv = typeof this.options.env === 'function' ? this.options.env() : (this.options.env ?? {});
    const env = {
      TEMPORAL_ADDRESS: address,
      TASK_QUEUE: `test-${path.basename(this.dataDir)}`,
      DATA_DIR: this.dataDir,
      LOG_LEVEL: 'silent',
      // Tests that stop a worker mean it to let go of its activities at once, unless they say otherwise.
      WORKER_SHUTDOWN_GRACE_MS: '0',
      ...(useModel ? { OPENAI_BASE_URL: this.fake.url, OPENAI_API_KEY: 'test-key', LLM_MODEL: 'fake-model' } : {}),
      ...this.extraEnv,
    };
    this.config = loadConfig(env);
    this.workerConfig = this.options.workerEnv ? loadConfig({ ...env, ...this.options.workerEnv }) : this.config;
    this.connection = await NativeConnection.connect(this.workerConfig.temporal.connection);
    if (this.options.worker ?? true) await this.startWorker();
    this.clientConnection = await Connection.connect({
      ...this.config.temporal.connection,
      interceptors: [
        (options, next) => {
          const method = options.method_definition.path.split('/').pop() ?? '';
          this.temporalCalls.set(method, (this.temporalCalls.get(method) ?? 0) + 1);
          return new InterceptingCall(next(options));
        },
      ],
    });
    this.client = gatewayClient(this.clientConnection, this.config.temporal.namespace);
    const gateway = await startGateway(this.client, this.config, process.env.TEST_LOG_LEVEL);
    this.server = gateway.server;
    this.baseUrl = gateway.baseUrl;
    return this;
  }

  async startWorker(): Promise<void> {
    const bundlePath = process.env.TEST_WORKFLOW_BUNDLE;
    const { worker, close } = await createExecutionWorker({
      config: this.workerConfig,
      connection: this.connection,
      workflowBundle: bundlePath ? { codePath: bundlePath } : undefined,
    });
    this.worker = worker;
    this.closeWorker = close;
    this.workerRun = worker.run();
  }

  /** The environment that configures a worker process like this harness's own worker. */
  workerEnv(): Record<string, string> {
    return {
      TEMPORAL_ADDRESS: this.config.temporal.address,
      TASK_QUEUE: this.config.temporal.taskQueue,
      DATA_DIR: this.dataDir,
      LOG_LEVEL: 'silent',
      WORKER_SHUTDOWN_GRACE_MS: '0',
      ...(this.fake.url ? { OPENAI_BASE_URL: this.fake.url, OPENAI_API_KEY: 'test-key', LLM_MODEL: 'fake-model' } : {}),
      ...this.extraEnv,
      ...this.options.workerEnv,
    };
  }

  /** Stops the in-process worker gracefully, in the middle of whatever it was doing. */
  async stopWorker(): Promise<void> {
    this.worker.shutdown();
    await this.workerRun;
    await this.closeWorker();
  }

  async stop(): Promise<void> {
    // A start that failed half way leaves parts unset: stop what was started, and never hang on the rest.
    const server = this.server;
    if (server) {
      await new Promise<void>((resolve) => {
        server.closeAllConnections();
        server.close(() => resolve());
      });
    }
    if (this.worker && this.worker.getState() === 'RUNNING') await this.stopWorker();
    for (const child of this.children) child.kill('SIGKILL');
    await this.clientConnection?.close();
    await this.connection?.close();
    await this.fake.stop();
    rmSync(this.dataDir, { recursive: true, force: true });
  }

  /** The gateway's calls to Temporal so far, by method (`QueryWorkflow`, `DescribeWorkflowExecution`, …). */
  readonly temporalCalls = new Map<string, number>();

  /** Sent with every request unless a request sets the same header: an API key, for instance. */
  defaultHeaders: Record<string, string> = {};

  /** A new key of `tenant` with `scopes`, made with the default headers' (operator's) key, as headers to send. */
  async keyFor(tenant: string, scopes: string[]): Promise<Record<string, string>> {
    const made = await this.request('POST', '/api/keys', { tenant, name: `${tenant}-${scopes.join('-')}`, scopes });
    if (made.status !== 201) throw new Error(`POST /api/keys answered ${made.status}: ${JSON.stringify(made.body)}`);
    return { authorization: `Bearer ${made.body.secret as string}` };
  }

  async request(method: string, route: string, body?: unknown, extraHeaders: Record<string, string> = {}) {
    const headers = { ...this.defaultHeaders, ...extraHeaders };
    const response = await fetch(`${this.baseUrl}${route}`, {
      method,
      headers: body === undefined ? headers : { 'content-type': 'application/json', ...headers },
      body: body === undefined ? undefined : typeof body === 'string' ? body : JSON.stringify(body),
    });
    const text = await response.text();
    let json: any = null; // eslint-disable-line @typescript-eslint/no-explicit-any
    try {
      json = JSON.parse(text);
    } catch {
      json = null;
    }
    return { status: response.status, body: json, text, headers: response.headers };
  }

  /** Polls GET /api/executions/:id until `until` holds or the time runs out. */
  async waitFor(
    id: string,
    until: (snapshot: ExecutionSnapshot) => boolean,
    timeoutMs = 60_000,
  ): Promise<ExecutionSnapshot> {
    const deadline = Date.now() + timeoutMs;
    let last: ExecutionSnapshot | null = null;
    while (Date.now() < deadline) {
      const response = await this.request('GET', `/api/executions/${id}`);
      if (response.status === 200) {
        last = response.body as ExecutionSnapshot;
        if (until(last)) return last;
      }
      await new Promise((resolve) => setTimeout(resolve, 100));
    }
    throw new Error(
      `execution ${id} did not reach the expected state; last: ${JSON.stringify({ status: last?.status, error: last?.error })}`,
    );
  }

  async waitForEnd(id: string, timeoutMs = 60_000): Promise<ExecutionSnapshot> {
    return this.waitFor(id, (snapshot) => snapshot.completedAt !== null, timeoutMs);
  }
}

export const base64 = (text: string) => Buffer.from(text).toString('base64');

/**
 * A harness for the enclosing test file or `describe`: started before its tests, stopped after them,
 * and after each test the fake model must have had no unscripted or mistaken call, and every
 * scripted answer must have been asked for (a reply left over means the product made fewer calls
 * than the test claims).
 */
export function useHarness(options?: HarnessOptions): Harness {
  const harness = new Harness(options);
  beforeAll(async () => {
    await harness.start();
  });
  afterAll(async () => {
    await harness.stop();
  });
  afterEach(() => {
    const problems = harness.fake.problems.slice();
    const unused = harness.fake.pending;
    harness.fake.reset();
    expect(problems).toEqual([]);
    expect({ unusedScriptedReplies: unused }).toEqual({ unusedScriptedReplies: 0 });
  });
  return harness;
}
