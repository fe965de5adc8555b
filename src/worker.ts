import {
  DefaultLogger,
  NativeConnection,
  Runtime,
  Worker,
  type RuntimeOptions,
  type WorkerOptions,
} from '@temporalio/worker';
import { Client, Connection } from '@temporalio/client';
import {
  OpenTelemetryActivityInboundInterceptor,
  OpenTelemetryActivityOutboundInterceptor,
} from '@temporalio/interceptors-opentelemetry/lib/worker';
import { createActivities, type ActivityDeps } from './activities';
import { CodeValidator } from './activities/code-validator';
import { SandboxModules } from './activities/sandbox-modules';
import { WorkerMetrics } from './activities/worker-metrics';
import { loadConfig, type Config } from './config';
import { openDatabase, type ServiceDatabase } from './db/database';
import { RecoveryStrategyStore } from './db/recovery-strategies';
import { AlertDefaultsStore } from './db/alert-defaults';
import { SubscriptionStore } from './db/subscriptions';
import { TaskStore } from './db/tasks';
import { createOpenAiClient, type LlmClient } from './llm/llm-client';
import { createSandboxes } from './sandbox/registry';
import type { Sandbox } from './sandbox/types';
import { artifactStoreFromConfig, checkArtifactStore } from './storage/artifact-store-from-config';
import { startTracing, workflowSpanSinks, type Tracing } from './telemetry';
import { cachedWorkflowBundle } from './workflow-bundle';

export interface ExecutionWorkerOptions {
  config: Config;
  connection: NativeConnection;
  /** Defaults to a client for the configured OpenAI-compatible endpoint (or none). */
  llm?: LlmClient | null;
  /** A pre-built workflow bundle; without it the one cached for the current sources (built if missing). */
  workflowBundle?: WorkerOptions['workflowBundle'];
  /** Extra worker options (slots, identity, …). */
  tuning?: Partial<WorkerOptions>;
  /** The service's database; opened from the configuration (and closed with the worker) when absent. */
  database?: ServiceDatabase;
  /** Where the workflows' spans go (startTracing); dropped when absent. */
  tracing?: Tracing;
}

/** The model client the configuration asks for, or null when no endpoint is configured. */
export function llmFromConfig(config: Config): LlmClient | null {
  if (!config.llm.configured) return null;
  return createOpenAiClient({
    apiKey: config.llm.apiKey,
    baseUrl: config.llm.baseUrl,
    timeoutMs: config.llm.timeoutMs,
  });
}

/** Builds the worker and everything its activities depend on. Call `close()` after `run()` ends. */
export async function createExecutionWorker(
  options: ExecutionWorkerOptions,
): Promise<{ worker: Worker; close: () => Promise<void> }> {
  const { config } = options;
  const workRoot = config.sandbox.workDir;
  const store = artifactStoreFromConfig(config);
  await checkArtifactStore(store, (message) => console.warn(`worker: ${message}`));
  // What the worker needs is prepared side by side; the sandbox pool fills after the first poll.
  const [database, sandboxes, workflowBundle] = await settleAll(
    [
      options.database === undefined ? openDatabase(config.database) : Promise.resolve(options.database),
      createSandboxes(config, { warn: (message) => console.warn(`worker: ${message}`) }),
      options.workflowBundle === undefined
        ? cachedWorkflowBundle().then(({ bundle }) => bundle)
        : Promise.resolve(options.workflowBundle),
    ] as const,
    [
      (opened) => (options.database === undefined ? opened.close() : undefined),
      (built) => Promise.allSettled(Object.values(built).map((sandbox: Sandbox) => sandbox.close())),
    ],
  );
  const subscriptions = new SubscriptionStore(database.db);
  const deps: ActivityDeps = {
    llm: options.llm === undefined ? llmFromConfig(config) : options.llm,
    sandboxes,
    store,
    validator: new CodeValidator(config.sandbox.pythonPath),
    modules: new SandboxModules(sandboxes, workRoot, (message) => console.warn(`worker: ${message}`)),
    workRoot,
    runs: {
      tasks: new TaskStore(database.db),
      store,
      config,
      subscriptions,
      strategies: new RecoveryStrategyStore(database.db),
      alertDefaults: new AlertDefaultsStore(database.db),
    },
    deliveries: { subscriptions, allowPrivate: config.webhooks.allowPrivate },
  };
  // The retention schedule's runs read each candidate's state in Temporal through a client of their own.
  const retentionConnection = config.artifactRetentionDays > 0 ? Connection.lazy(config.temporal.connection) : null;
  if (retentionConnection) {
    deps.retention = {
      store,
      days: config.artifactRetentionDays,
      client: new Client({ connection: retentionConnection, namespace: config.temporal.namespace }),
    };
  }
  const tracing = options.tracing ?? startTracing('agent-executions-worker', undefined);
  const metrics = config.worker.metrics.port === null ? null : new WorkerMetrics(sandboxes);
  if (metrics) deps.metrics = metrics;
  const worker = await Worker.create({
    connection: options.connection,
    namespace: config.temporal.namespace,
    taskQueue: config.temporal.taskQueue,
    activities: createActivities(deps),
    // Cancellation reaches an activity only through a heartbeat response: keep them frequent so a
    // cancelled sandbox dies within about a second.
    maxHeartbeatThrottleInterval: '1 second',
    defaultHeartbeatThrottleInterval: '1 second',
    maxConcurrentActivityTaskExecutions: config.worker.maxConcurrentActivities,
    maxConcurrentWorkflowTaskExecutions: config.worker.maxConcurrentWorkflowTasks,
    maxCachedWorkflows: config.worker.maxCachedWorkflows,
    maxEagerActivityReservationsPerWorkflowTask: config.worker.eagerActivities ? 3 : 0,
    // On SIGTERM the worker stops polling at once; running activities get the grace time to finish.
    shutdownGraceTime: config.worker.shutdownGraceMs,
    // Past this, the worker gives up waiting: whatever still runs is retried elsewhere by Temporal.
    shutdownForceTime: config.worker.shutdownGraceMs + 30_000,
    workflowBundle,
    interceptors: {
      activity: [
        (ctx) => ({
          inbound: new OpenTelemetryActivityInboundInterceptor(ctx),
          outbound: new OpenTelemetryActivityOutboundInterceptor(ctx),
        }),
      ],
    },
    sinks: workflowSpanSinks(tracing),
    ...options.tuning,
  });
  const served = metrics ? await metrics.serve(config.worker.metrics.host, config.worker.metrics.port!) : null;
  // Only now, so that their CPU does not delay the first poll; a pool that cannot start says so itself.
  deps.validator.warmUp();
  for (const sandbox of Object.values(sandboxes)) void sandbox.warmUp?.().catch(() => undefined);
  // The local sandbox's modules are listed now (remote ones when first needed: each listing costs a sandbox).
  if (sandboxes.local) void deps.modules?.get('local');
  return {
    worker,
    close: async () => {
      await served?.close();
      await retentionConnection?.close();
      deps.validator.close();
      await Promise.all(Object.values(sandboxes).map((sandbox: Sandbox) => sandbox.close()));
      if (options.database === undefined) await database.close();
    },
  };
}

/**
 * Awaits every promise; when one rejects, what the others made is undone (by `undo`, in the same
 * order) before the first error is passed on.
 */
async function settleAll<T extends readonly unknown[]>(
  promises: { [K in keyof T]: Promise<T[K]> },
  undo: { [K in keyof T]?: (made: T[K]) => unknown },
): Promise<T> {
  const results = await Promise.allSettled(promises);
  const failed = results.find((result) => result.status === 'rejected');
  if (failed === undefined)
    return results.map((result) => (result as PromiseFulfilledResult<unknown>).value) as unknown as T;
  await Promise.allSettled(
    results.map(async (result, index) => {
      if (result.status === 'fulfilled') await undo[index]?.(result.value as T[number]);
    }),
  );
  throw (failed as PromiseRejectedResult).reason;
}

/**
 * The Temporal runtime's options: its log level and, with WORKER_SDK_METRICS_PORT, the SDK's
 * Prometheus exporter of Temporal's own worker metrics (`temporal_*`: polls, task slots, latencies).
 */
export function runtimeOptions(config: Config, level: 'DEBUG' | 'WARN' | 'ERROR'): RuntimeOptions {
  const { host, sdkPort } = config.worker.metrics;
  return {
    logger: new DefaultLogger(level),
    ...(sdkPort === null
      ? {}
      : {
          telemetryOptions: {
            metrics: {
              prometheus: {
                bindAddress: `${host}:${sdkPort}`,
                countersTotalSuffix: true,
                useSecondsForDurations: true,
              },
            },
          },
        }),
  };
}

async function main(): Promise<void> {
  const config = loadConfig();
  // The SDK's INFO lines (bundler statistics among them) drown what an operator needs.
  Runtime.install(
    runtimeOptions(config, config.logLevel === 'debug' || config.logLevel === 'trace' ? 'DEBUG' : 'WARN'),
  );
  const tracing = startTracing('agent-executions-worker', config.otlpEndpoint);
  const connection = await NativeConnection.connect(config.temporal.connection);
  const { worker, close } = await createExecutionWorker({ config, connection, tracing });
  // The Temporal runtime shuts the worker down on SIGINT and SIGTERM: no new work, then the grace time.
  console.log(`worker: polling task queue "${config.temporal.taskQueue}" on ${config.temporal.address}`);
  try {
    await worker.run();
  } finally {
    await close();
    await connection.close();
    await tracing.shutdown();
  }
}

if (require.main === module) {
  main().catch((error: unknown) => {
    console.error(error instanceof Error ? error.message : error);
    process.exit(1);
  });
}
