import os from 'node:os';
import path from 'node:path';
import { z } from 'zod';
import { DEFAULT_MODEL_PRICES, type ModelPrice } from './domain/pricing';
import type { ResourceMaxima } from './domain/resources';
import { SANDBOX_KINDS, type SandboxKind } from './domain/sandbox-kinds';
import type { S3StoreSettings } from './storage/s3-artifact-store';
import { readTemporalSettings, TemporalSettingsError, type TemporalConnectionSettings } from './temporal-settings';

const optionalString = z
  .string()
  .optional()
  .transform((value) => (value === undefined || value.trim() === '' ? undefined : value.trim()));

const port = z.coerce.number().int().min(0).max(65535);

const schema = z.object({
  PORT: port.default(3000),
  HOST: optionalString,
  TEMPORAL_UI_URL: optionalString,
  TEMPORAL_UI_PORT: port.default(8233),
  TASK_QUEUE: z.string().default('executions'),
  DATA_DIR: z.string().default('./data'),
  OPENAI_API_KEY: optionalString,
  OPENAI_BASE_URL: optionalString,
  LLM_MODEL: z.string().default('gpt-4o-mini'),
  /** How long a model call may wait for its answer to begin, and a streamed answer for its next piece. */
  LLM_TIMEOUT_MS: z.coerce.number().int().min(1000).max(600_000).default(120_000),
  SANDBOX: z.enum(SANDBOX_KINDS).default('local'),
  E2B_API_KEY: optionalString,
  E2B_DOMAIN: optionalString,
  E2B_TEMPLATE: optionalString,
  API_KEYS: optionalString,
  ADMIN_API_KEY: optionalString,
  DATABASE_URL: optionalString,
  TENANT_MAX_RUNNING: z.coerce.number().int().min(0).max(100_000).default(0),
  WEBHOOK_ALLOW_PRIVATE: z.enum(['true', 'false']).default('false'),
  RATE_LIMIT_PER_MINUTE: z.coerce.number().int().min(1).max(1_000_000).default(600),
  PYTHON_PATH: z.string().default('/usr/bin/python3'),
  SANDBOX_WORK_DIR: optionalString,
  OTEL_EXPORTER_OTLP_ENDPOINT: optionalString,
  ARTIFACT_RETENTION_DAYS: z.coerce.number().min(0).max(36_500).default(0),
  ARTIFACT_STORE: z.enum(['local', 's3']).default('local'),
  ARTIFACT_S3_BUCKET: optionalString,
  ARTIFACT_S3_ENDPOINT: optionalString.pipe(z.string().url().optional()),
  ARTIFACT_S3_REGION: z.string().default('us-east-1'),
  ARTIFACT_S3_PREFIX: optionalString,
  ARTIFACT_S3_FORCE_PATH_STYLE: z.enum(['true', 'false']).optional(),
  ARTIFACT_S3_ACCESS_KEY_ID: optionalString,
  ARTIFACT_S3_SECRET_ACCESS_KEY: optionalString,
  MAX_UPLOAD_BYTES: z.coerce
    .number()
    .int()
    .positive()
    .default(25 * 1024 * 1024),
  MODEL_PRICES: optionalString,
  SANDBOX_PRICE_PER_SECOND: z.coerce.number().min(0).default(0),
  /** The most `options.resources` may ask for; memory and disk are also what a run gets when it asks for less. */
  SANDBOX_MAX_CPU: z.coerce.number().positive().max(1024).optional(),
  SANDBOX_MAX_MEMORY_MB: z.coerce.number().int().min(64).max(1_048_576).default(2048),
  SANDBOX_MAX_DISK_MB: z.coerce.number().int().min(1).max(1_048_576).default(512),
  SANDBOX_MAX_TIMEOUT_MS: z.coerce
    .number()
    .int()
    .min(500)
    .max(24 * 3600 * 1000)
    .default(3600 * 1000),
  SANDBOX_POOL_MIN: z.coerce.number().int().min(0).max(64).optional(),
  SANDBOX_POOL_MAX: z.coerce.number().int().min(0).max(64).optional(),
  /** The older, fixed form: min and max both. */
  SANDBOX_POOL_SIZE: z.coerce.number().int().min(0).max(64).optional(),
  WORKER_MAX_CONCURRENT_ACTIVITIES: z.coerce.number().int().min(1).max(10_000).default(100),
  WORKER_MAX_CONCURRENT_WORKFLOW_TASKS: z.coerce.number().int().min(2).max(10_000).default(40),
  WORKER_MAX_CACHED_WORKFLOWS: z.coerce.number().int().min(0).max(100_000).default(1000),
  WORKER_EAGER_ACTIVITIES: z.enum(['true', 'false']).default('true'),
  WORKER_METRICS_PORT: port.optional(),
  WORKER_SDK_METRICS_PORT: port.optional(),
  WORKER_METRICS_HOST: z.string().default('127.0.0.1'),
  WORKER_SHUTDOWN_GRACE_MS: z.coerce
    .number()
    .int()
    .min(0)
    .max(3600 * 1000)
    .default(30_000),
  SESSION_SECRET: optionalString,
  SESSION_TTL_MINUTES: z.coerce
    .number()
    .int()
    .min(1)
    .max(7 * 24 * 60)
    .default(60),
  SESSION_COOKIE_SECURE: z.enum(['auto', 'true', 'false']).default('auto'),
  LOG_LEVEL: z.enum(['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent']).default('info'),
});

export interface Config {
  port: number;
  host: string;
  temporal: {
    /** The frontend's address, as given (also `connection.address`). */
    address: string;
    namespace: string;
    /** What a client or worker connection to Temporal is made with (TLS, API key, headers). */
    connection: TemporalConnectionSettings;
    /** The `temporal.toml` profile the settings came from, when one was named. */
    profile: string | null;
    taskQueue: string;
    uiUrl: string;
    uiPort: number;
  };
  dataDir: string;
  llm: {
    apiKey: string | undefined;
    baseUrl: string | undefined;
    model: string;
    timeoutMs: number;
    configured: boolean;
  };
  sandbox: {
    kind: SandboxKind;
    e2bApiKey: string | undefined;
    e2bDomain: string | undefined;
    e2bTemplate: string | undefined;
    /**
     * The backends this deployment offers: the default one, and E2B whenever a key is set. The
     * gateway accepts these and the worker builds these (src/sandbox/registry.ts).
     */
    available: SandboxKind[];
    pythonPath: string;
    workDir: string;
    /** Warm sandboxes kept started: as many as the arrival rate needs, between the two. */
    pool: { min: number; max: number };
    /**
     * The most `options.resources` may ask for (SANDBOX_MAX_*); the local sandbox's memory and
     * workspace limits are these, so a run that asks for nothing gets them.
     */
    maxima: ResourceMaxima;
  };
  apiKeys: string[];
  /** The operator's key: manages every tenant. */
  adminApiKey: string | undefined;
  /** Requests one API key may make per minute, per gateway process. */
  rateLimitPerMinute: number;
  /** Executions of one tenant that may run at once (0: no limit); the rest wait in `queued`. */
  maxRunningPerTenant: number;
  database: { url: string | null; sqliteFile: string };
  /** Whether subscriptions may send to loopback and private addresses (tests, closed networks). */
  webhooks: { allowPrivate: boolean };
  prices: { models: Record<string, ModelPrice>; sandboxPerSecond: number };
  worker: {
    maxConcurrentActivities: number;
    maxConcurrentWorkflowTasks: number;
    maxCachedWorkflows: number;
    /** Start activities in the response to the workflow task that schedules them. */
    eagerActivities: boolean;
    /**
     * After SIGTERM (or SIGINT), how long running activities may go on to finish; then they are
     * cancelled, and Temporal retries them on another worker.
     */
    shutdownGraceMs: number;
    /** Where the worker serves its own metrics (prom-client), and Temporal's SDK its; null: not served. */
    metrics: { host: string; port: number | null; sdkPort: number | null };
  };
  maxUploadBytes: number;
  /**
   * Where executions' files are kept: a folder on this host (`<DATA_DIR>/artifacts`), or an
   * S3-compatible bucket that workers and gateways on other hosts share.
   */
  artifacts: { kind: 'local'; dir: string } | { kind: 's3'; s3: S3StoreSettings };
  /** Days an ended execution's files are kept (a schedule removes older ones); 0: kept for good. */
  artifactRetentionDays: number;
  /**
   * The web console's sign-in: sessions signed with `secret` (see src/api/sessions.ts for the
   * default), lasting `ttlMs` and renewed while used; the cookie is `Secure` over HTTPS (`auto`), always
   * or never.
   */
  sessions: { secret: string | undefined; ttlMs: number; cookieSecure: 'auto' | 'true' | 'false' };
  /** Where traces go over OTLP/HTTP; none are exported without it. */
  otlpEndpoint: string | undefined;
  logLevel: string;
}

/** Thrown with every problem in the environment at once, so a person can fix them in one go. */
const DEFAULT_POOL = { min: 1, max: 4 };

/** SANDBOX_POOL_MIN and SANDBOX_POOL_MAX, or SANDBOX_POOL_SIZE for both; a max below the min is refused. */
function poolBounds(e: { SANDBOX_POOL_MIN?: number; SANDBOX_POOL_MAX?: number; SANDBOX_POOL_SIZE?: number }) {
  const min = e.SANDBOX_POOL_MIN ?? e.SANDBOX_POOL_SIZE ?? Math.min(DEFAULT_POOL.min, e.SANDBOX_POOL_MAX ?? Infinity);
  const max = e.SANDBOX_POOL_MAX ?? e.SANDBOX_POOL_SIZE ?? Math.max(DEFAULT_POOL.max, min);
  if (max < min) {
    throw new ConfigError(`Invalid configuration:\n  SANDBOX_POOL_MAX: ${max} is below SANDBOX_POOL_MIN (${min})`);
  }
  return { min, max };
}

export class ConfigError extends Error {
  override readonly name = 'ConfigError';
}

/** Reads the configuration from `env`. Called once per entry point, never at import time. */
export function loadConfig(env: NodeJS.ProcessEnv = process.env): Config {
  const parsed = schema.safeParse(env);
  if (!parsed.success) {
    const problems = parsed.error.issues.map((issue) => `${issue.path.join('.')}: ${issue.message}`);
    throw new ConfigError(`Invalid configuration:\n  ${problems.join('\n  ')}`);
  }
  const e = parsed.data;
  let temporal: ReturnType<typeof readTemporalSettings>;
  try {
    temporal = readTemporalSettings(env);
  } catch (error) {
    if (!(error instanceof TemporalSettingsError)) throw error;
    throw new ConfigError(`Invalid configuration:\n  ${error.problems.join('\n  ')}`);
  }
  if (e.SANDBOX === 'e2b' && e.E2B_API_KEY === undefined) {
    throw new ConfigError('Invalid configuration:\n  E2B_API_KEY: required when SANDBOX=e2b');
  }
  const apiKeys = (e.API_KEYS ?? '')
    .split(',')
    .map((key) => key.trim())
    .filter((key) => key !== '');
  // Without API keys the gateway is open, so it only listens on loopback.
  const host = e.HOST ?? '127.0.0.1';
  return {
    port: e.PORT,
    host,
    temporal: {
      address: temporal.connection.address,
      namespace: temporal.namespace,
      connection: temporal.connection,
      profile: temporal.profile,
      taskQueue: e.TASK_QUEUE,
      uiUrl: (e.TEMPORAL_UI_URL ?? `http://localhost:${e.TEMPORAL_UI_PORT}`).replace(/\/+$/, ''),
      uiPort: e.TEMPORAL_UI_PORT,
    },
    dataDir: path.resolve(e.DATA_DIR),
    llm: {
      apiKey: e.OPENAI_API_KEY,
      baseUrl: e.OPENAI_BASE_URL,
      model: e.LLM_MODEL,
      timeoutMs: e.LLM_TIMEOUT_MS,
      configured: e.OPENAI_API_KEY !== undefined || e.OPENAI_BASE_URL !== undefined,
    },
    sandbox: {
      kind: e.SANDBOX,
      e2bApiKey: e.E2B_API_KEY,
      e2bDomain: e.E2B_DOMAIN,
      e2bTemplate: e.E2B_TEMPLATE,
      available: availableSandboxes(e),
      pythonPath: e.PYTHON_PATH,
      // The sandbox user must be able to reach this folder, so it is not under DATA_DIR (often in a
      // home folder closed to other users) but in the system's temporary folder.
      workDir: path.resolve(e.SANDBOX_WORK_DIR ?? path.join(os.tmpdir(), 'agent-executions-sandbox')),
      pool: poolBounds(e),
      maxima: {
        cpu: e.SANDBOX_MAX_CPU ?? os.availableParallelism(),
        memoryMb: e.SANDBOX_MAX_MEMORY_MB,
        diskMb: e.SANDBOX_MAX_DISK_MB,
        timeoutMs: e.SANDBOX_MAX_TIMEOUT_MS,
      },
    },
    prices: {
      models: { ...DEFAULT_MODEL_PRICES, ...parsePrices(e.MODEL_PRICES) },
      sandboxPerSecond: e.SANDBOX_PRICE_PER_SECOND,
    },
    apiKeys,
    adminApiKey: e.ADMIN_API_KEY,
    rateLimitPerMinute: e.RATE_LIMIT_PER_MINUTE,
    maxRunningPerTenant: e.TENANT_MAX_RUNNING,
    webhooks: { allowPrivate: e.WEBHOOK_ALLOW_PRIVATE === 'true' },
    database: { url: e.DATABASE_URL ?? null, sqliteFile: path.join(path.resolve(e.DATA_DIR), 'service.db') },
    worker: {
      maxConcurrentActivities: e.WORKER_MAX_CONCURRENT_ACTIVITIES,
      maxConcurrentWorkflowTasks: e.WORKER_MAX_CONCURRENT_WORKFLOW_TASKS,
      maxCachedWorkflows: e.WORKER_MAX_CACHED_WORKFLOWS,
      eagerActivities: e.WORKER_EAGER_ACTIVITIES === 'true',
      shutdownGraceMs: e.WORKER_SHUTDOWN_GRACE_MS,
      metrics: {
        host: e.WORKER_METRICS_HOST,
        port: e.WORKER_METRICS_PORT ?? null,
        sdkPort: e.WORKER_SDK_METRICS_PORT ?? null,
      },
    },
    maxUploadBytes: e.MAX_UPLOAD_BYTES,
    artifacts: artifactSettings(e),
    artifactRetentionDays: e.ARTIFACT_RETENTION_DAYS,
    sessions: {
      secret: e.SESSION_SECRET,
      ttlMs: e.SESSION_TTL_MINUTES * 60_000,
      cookieSecure: e.SESSION_COOKIE_SECURE,
    },
    otlpEndpoint: e.OTEL_EXPORTER_OTLP_ENDPOINT,
    logLevel: e.LOG_LEVEL,
  };
}

/** ARTIFACT_STORE and, for `s3`, the bucket's ARTIFACT_S3_* settings; a bucket is required. */
function artifactSettings(e: z.infer<typeof schema>): Config['artifacts'] {
  if (e.ARTIFACT_STORE === 'local') return { kind: 'local', dir: path.join(path.resolve(e.DATA_DIR), 'artifacts') };
  const problems: string[] = [];
  if (e.ARTIFACT_S3_BUCKET === undefined) problems.push('ARTIFACT_S3_BUCKET: required when ARTIFACT_STORE=s3');
  if ((e.ARTIFACT_S3_ACCESS_KEY_ID === undefined) !== (e.ARTIFACT_S3_SECRET_ACCESS_KEY === undefined)) {
    problems.push('ARTIFACT_S3_ACCESS_KEY_ID and ARTIFACT_S3_SECRET_ACCESS_KEY: give both or neither');
  }
  const prefix = (e.ARTIFACT_S3_PREFIX ?? '').replace(/^\/+|\/+$/g, '');
  if (prefix !== '' && prefix.split('/').some((segment) => segment === '' || segment.startsWith('.'))) {
    problems.push('ARTIFACT_S3_PREFIX: plain folder names separated by single slashes');
  }
  if (problems.length > 0) throw new ConfigError(`Invalid configuration:\n  ${problems.join('\n  ')}`);
  return {
    kind: 's3',
    s3: {
      bucket: e.ARTIFACT_S3_BUCKET!,
      endpoint: e.ARTIFACT_S3_ENDPOINT,
      region: e.ARTIFACT_S3_REGION,
      prefix: prefix === '' ? '' : `${prefix}/`,
      // Other services than AWS mostly serve buckets as paths, not as host names.
      forcePathStyle: (e.ARTIFACT_S3_FORCE_PATH_STYLE ?? String(e.ARTIFACT_S3_ENDPOINT !== undefined)) === 'true',
      credentials:
        e.ARTIFACT_S3_ACCESS_KEY_ID === undefined || e.ARTIFACT_S3_SECRET_ACCESS_KEY === undefined
          ? undefined
          : { accessKeyId: e.ARTIFACT_S3_ACCESS_KEY_ID, secretAccessKey: e.ARTIFACT_S3_SECRET_ACCESS_KEY },
    },
  };
}

/** The default backend, and every other whose settings are present, in SANDBOX_KINDS order. */
function availableSandboxes(e: z.infer<typeof schema>): SandboxKind[] {
  const besideDefault: Record<SandboxKind, boolean> = {
    // Only as the default: a deployment that chose another backend need not have bubblewrap.
    local: false,
    e2b: e.E2B_API_KEY !== undefined,
  };
  return SANDBOX_KINDS.filter((kind) => kind === e.SANDBOX || besideDefault[kind]);
}

const priceTable = z.record(
  z.string(),
  z.object({ prompt: z.number().min(0), completion: z.number().min(0) }).strict(),
);

/** MODEL_PRICES: JSON `{"model": {"prompt": usdPerMillion, "completion": usdPerMillion}}`. */
function parsePrices(text: string | undefined): Record<string, ModelPrice> {
  if (text === undefined) return {};
  let value: unknown;
  try {
    value = JSON.parse(text);
  } catch {
    throw new ConfigError('Invalid configuration:\n  MODEL_PRICES: not valid JSON');
  }
  const parsed = priceTable.safeParse(value);
  if (!parsed.success) {
    throw new ConfigError(
      `Invalid configuration:\n  MODEL_PRICES: ${parsed.error.issues.map((i) => `${i.path.join('.')}: ${i.message}`).join('; ')}`,
    );
  }
  return parsed.data;
}

/** True for addresses only this machine can reach. */
export function isLoopback(host: string): boolean {
  return host === 'localhost' || host === '::1' || host.startsWith('127.');
}
