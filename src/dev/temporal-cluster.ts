/**
 * A real Temporal cluster on this machine, without Docker: Debian's PostgreSQL, the Temporal server
 * built by setup (deploy/temporal/cluster.yaml, the config docker-compose.yml mounts too), its
 * schemas created and updated with Temporal's SQL tool, the namespace and our search attributes
 * registered through the operator API, and, by default, mutual TLS on the frontend with
 * certificates made here with openssl. `npm run cluster` and the cluster tests start it.
 */
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { createWriteStream, existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { Connection } from '@temporalio/client';
import { msToTs } from '@temporalio/common/lib/time';
import pg from 'pg';
import type { TemporalConnectionSettings } from '../temporal-settings';
import { SEARCH_ATTRIBUTES } from '../workflows/messages';
import { startPostgres, type LocalPostgres } from './postgres';
import { canConnect } from './temporal-dev-server';

const root = path.resolve(__dirname, '../..');
export const TEMPORAL_SERVER_BIN = path.join(root, '.tools/bin/temporal-server');
export const TEMPORAL_SQL_TOOL_BIN = path.join(root, '.tools/bin/temporal-sql-tool');
/** Temporal's PostgreSQL schemas, copied by setup from the server's module. */
export const SCHEMA_DIR = path.join(root, '.tools/temporal-schema/postgresql/v12');
/** The server's config and dynamic config, shared with docker-compose.yml. */
export const CONFIG_DIR = path.join(root, 'deploy/temporal');

/** The operator API's numbers for the search attribute types we use (temporal.api.enums.v1.IndexedValueType). */
const INDEXED_VALUE_TYPES: Record<(typeof SEARCH_ATTRIBUTES)[keyof typeof SEARCH_ATTRIBUTES], number> = {
  Keyword: 2,
};

/** The server's ports, from the frontend's: each service's gRPC port, then their membership ports. */
export function clusterPorts(frontend: number) {
  return {
    FRONTEND_PORT: frontend,
    HISTORY_PORT: frontend + 1,
    MATCHING_PORT: frontend + 2,
    WORKER_PORT: frontend + 3,
    FRONTEND_HTTP_PORT: frontend + 4,
    FRONTEND_MEMBERSHIP_PORT: frontend + 5,
    HISTORY_MEMBERSHIP_PORT: frontend + 6,
    MATCHING_MEMBERSHIP_PORT: frontend + 7,
    WORKER_MEMBERSHIP_PORT: frontend + 8,
  };
}

/** How long a namespace the cluster creates keeps a closed execution's history, unless told. */
export const DEFAULT_RETENTION_DAYS = 7;

/** The settings deploy/temporal/cluster.yaml reads, as the cluster gives them to the server. */
export function serverEnvironment(
  port: number,
  postgresPort: number,
  certs: ClusterCerts | null,
): Record<string, string> {
  return {
    PATH: process.env.PATH ?? '/usr/bin:/bin',
    DB_HOST: '127.0.0.1',
    DB_PORT: String(postgresPort),
    DB_USER: 'service',
    DYNAMIC_CONFIG_FILE: path.join(CONFIG_DIR, 'dynamicconfig.yaml'),
    ...Object.fromEntries(Object.entries(clusterPorts(port)).map(([name, value]) => [name, String(value)])),
    ...(certs
      ? {
          FRONTEND_TLS_CERT: certs.serverCert,
          FRONTEND_TLS_KEY: certs.serverKey,
          FRONTEND_TLS_CLIENT_CA: certs.ca,
          FRONTEND_TLS_SERVER_NAME: 'localhost',
          SYSTEM_WORKER_TLS_CERT: certs.clientCert,
          SYSTEM_WORKER_TLS_KEY: certs.clientKey,
        }
      : {}),
  };
}

export interface ClusterOptions {
  /** Where PostgreSQL's data, the certificates and the server's log live; reused by a second start. */
  dir: string;
  /** The frontend's port; the server's other eight ports follow it (see clusterPorts). */
  port: number;
  postgresPort: number;
  namespace?: string;
  /** Mutual TLS on the frontend (default true). */
  tls?: boolean;
  /** How long the namespace keeps a closed execution's history (DEFAULT_RETENTION_DAYS). */
  retentionDays?: number;
  /** The server's output: to `dir/temporal.log` (default), or this process's own. */
  stdio?: 'log' | 'inherit';
}

export interface Cluster {
  address: string;
  namespace: string;
  /** What our gateway and workers connect with. */
  connection: TemporalConnectionSettings;
  /** The same as environment variables (Temporal's own names, read by loadConfig). */
  clientEnv: Record<string, string>;
  /** A database of its own on the cluster's PostgreSQL, for the service's records (DATABASE_URL). */
  databaseUrl: string;
  postgres: LocalPostgres;
  /** The certificates, when TLS is on. */
  certs: ClusterCerts | null;
  /** Stops the server with SIGTERM, or kills it (SIGKILL); PostgreSQL stays up. */
  stopServer(signal?: 'SIGTERM' | 'SIGKILL'): Promise<void>;
  /** Starts the server again on the same data, and waits until it serves the namespace. */
  startServer(): Promise<void>;
  /** Stops the server, then PostgreSQL. */
  stop(): Promise<void>;
}

export interface ClusterCerts {
  ca: string;
  serverCert: string;
  serverKey: string;
  clientCert: string;
  clientKey: string;
}

/** Starts PostgreSQL and the Temporal server, and resolves once the namespace answers. */
export async function startCluster(options: ClusterOptions): Promise<Cluster> {
  for (const bin of [TEMPORAL_SERVER_BIN, TEMPORAL_SQL_TOOL_BIN]) {
    if (!existsSync(bin)) throw new Error(`${bin} is missing: run scripts/setup.sh`);
  }
  const ports = clusterPorts(options.port);
  for (const port of [...Object.values(ports), options.postgresPort]) {
    if (await canConnect('127.0.0.1', port)) {
      throw new Error(`port ${port} is in use: the cluster needs ports ${options.port}-${options.port + 8} free`);
    }
  }
  const namespace = options.namespace ?? 'default';
  mkdirSync(options.dir, { recursive: true });
  const certs = options.tls === false ? null : makeCerts(path.join(options.dir, 'certs'));
  const postgres = await startPostgres(path.join(options.dir, 'postgres'), options.postgresPort);
  try {
    await prepareDatabases(options.postgresPort);
  } catch (error) {
    await postgres.stop();
    throw error;
  }

  const address = `127.0.0.1:${options.port}`;
  const connection: TemporalConnectionSettings = certs
    ? {
        address,
        tls: {
          serverNameOverride: 'localhost',
          serverRootCACertificate: readFileSync(certs.ca),
          clientCertPair: { crt: readFileSync(certs.clientCert), key: readFileSync(certs.clientKey) },
        },
      }
    : { address };
  const serverEnv = serverEnvironment(options.port, options.postgresPort, certs);
  let server: ChildProcess | null = null;
  const startServer = async () => {
    const logFile = path.join(options.dir, 'temporal.log');
    const out = options.stdio === 'inherit' ? 'inherit' : createWriteStream(logFile, { flags: 'a' });
    const child = spawn(TEMPORAL_SERVER_BIN, ['--root', CONFIG_DIR, '--config', '.', '--env', 'cluster', 'start'], {
      env: serverEnv,
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    if (out === 'inherit') {
      child.stdout.pipe(process.stdout);
      child.stderr.pipe(process.stderr);
    } else {
      child.stdout.pipe(out);
      child.stderr.pipe(out);
    }
    server = child;
    let exited: string | null = null;
    child.once('exit', (code, signal) => (exited = signal ?? `exit code ${code}`));
    try {
      await prepareNamespace(connection, namespace, options.retentionDays ?? DEFAULT_RETENTION_DAYS, () => exited);
    } catch (error) {
      child.kill('SIGKILL');
      const where = out === 'inherit' ? 'above' : `in ${logFile}`;
      throw new Error(`the Temporal server did not start (${String(error)}); see its log ${where}`);
    }
  };
  const stopServer = (signal: 'SIGTERM' | 'SIGKILL' = 'SIGTERM') =>
    new Promise<void>((resolve) => {
      const child = server;
      if (child === null || child.exitCode !== null || child.signalCode !== null) return resolve();
      child.once('exit', () => resolve());
      child.kill(signal);
      setTimeout(() => child.kill('SIGKILL'), 15_000).unref();
    });
  try {
    await startServer();
  } catch (error) {
    await postgres.stop();
    throw error;
  }
  const clientEnv: Record<string, string> = {
    TEMPORAL_ADDRESS: address,
    TEMPORAL_NAMESPACE: namespace,
    ...(certs
      ? {
          TEMPORAL_TLS_SERVER_CA_CERT_PATH: certs.ca,
          TEMPORAL_TLS_CLIENT_CERT_PATH: certs.clientCert,
          TEMPORAL_TLS_CLIENT_KEY_PATH: certs.clientKey,
          TEMPORAL_TLS_SERVER_NAME: 'localhost',
        }
      : {}),
  };
  return {
    address,
    namespace,
    connection,
    clientEnv,
    databaseUrl: `postgres://service@127.0.0.1:${options.postgresPort}/service`,
    postgres,
    certs,
    stopServer,
    startServer,
    stop: async () => {
      await stopServer();
      await postgres.stop();
    },
  };
}

/**
 * A certificate authority, the frontend's certificate (localhost and 127.0.0.1) and one client
 * certificate, made once with openssl and reused.
 */
function makeCerts(dir: string): ClusterCerts {
  const at = (name: string) => path.join(dir, name);
  const certs: ClusterCerts = {
    ca: at('ca.pem'),
    serverCert: at('server.pem'),
    serverKey: at('server.key'),
    clientCert: at('client.pem'),
    clientKey: at('client.key'),
  };
  if (Object.values(certs).every((file) => existsSync(file))) return certs;
  mkdirSync(dir, { recursive: true });
  const openssl = (...args: string[]) => {
    const result = spawnSync('openssl', args, { encoding: 'utf8' });
    if (result.status !== 0) throw new Error(`openssl ${args[0]} failed: ${result.stderr || result.error}`);
  };
  const days = '825';
  openssl(
    'req',
    '-x509',
    '-newkey',
    'rsa:2048',
    '-nodes',
    '-days',
    days,
    '-subj',
    '/CN=agent-executions cluster CA',
    '-keyout',
    at('ca.key'),
    '-out',
    certs.ca,
  );
  const issue = (name: 'server' | 'client', subject: string, extensions: string) => {
    const ext = at(`${name}.ext`);
    writeFileSync(ext, extensions);
    openssl(
      'req',
      '-newkey',
      'rsa:2048',
      '-nodes',
      '-subj',
      subject,
      '-keyout',
      at(`${name}.key`),
      '-out',
      at(`${name}.csr`),
    );
    openssl(
      'x509',
      '-req',
      '-in',
      at(`${name}.csr`),
      '-CA',
      certs.ca,
      '-CAkey',
      at('ca.key'),
      '-CAcreateserial',
      '-days',
      days,
      '-extfile',
      ext,
      '-out',
      at(`${name}.pem`),
    );
  };
  issue(
    'server',
    '/CN=localhost',
    'subjectAltName=DNS:localhost,IP:127.0.0.1\nextendedKeyUsage=serverAuth\nkeyUsage=digitalSignature,keyEncipherment\n',
  );
  issue('client', '/CN=agent-executions', 'extendedKeyUsage=clientAuth\nkeyUsage=digitalSignature,keyEncipherment\n');
  return certs;
}

/**
 * The server's two databases, created and given Temporal's schema the first time and brought up
 * to date every time, and one for the service's own records.
 */
async function prepareDatabases(port: number): Promise<void> {
  const client = new pg.Client({ host: '127.0.0.1', port, user: 'service', database: 'postgres' });
  await client.connect();
  const missing: string[] = [];
  try {
    for (const name of ['temporal', 'temporal_visibility', 'service']) {
      const found = await client.query('SELECT 1 FROM pg_database WHERE datname = $1', [name]);
      if (found.rowCount === 0) {
        await client.query(`CREATE DATABASE ${name}`);
        missing.push(name);
      }
    }
  } finally {
    await client.end();
  }
  const env = {
    ...process.env,
    SQL_PLUGIN: 'postgres12',
    SQL_HOST: '127.0.0.1',
    SQL_PORT: String(port),
    SQL_USER: 'service',
    SQL_PASSWORD: '',
  };
  const tool = (database: string, ...args: string[]) => {
    const result = spawnSync(TEMPORAL_SQL_TOOL_BIN, ['--db', database, ...args], { env, encoding: 'utf8' });
    if (result.status !== 0) {
      throw new Error(`temporal-sql-tool ${args[0]} on ${database} failed: ${result.stderr || result.stdout}`);
    }
  };
  for (const [database, schema] of [
    ['temporal', 'temporal'],
    ['temporal_visibility', 'visibility'],
  ] as const) {
    if (missing.includes(database)) tool(database, 'setup-schema', '-v', '0.0');
    tool(database, 'update-schema', '-d', path.join(SCHEMA_DIR, schema, 'versioned'));
  }
}

/**
 * Waits until the frontend answers, then registers the namespace (with its retention) and our
 * search attributes where they are missing, and waits until both are in use.
 */
async function prepareNamespace(
  settings: TemporalConnectionSettings,
  namespace: string,
  retentionDays: number,
  exited: () => string | null,
): Promise<void> {
  const deadline = Date.now() + 120_000;
  const pause = () => new Promise((resolve) => setTimeout(resolve, 500));
  let connection: Connection | null = null;
  let lastError: unknown = null;
  while (connection === null) {
    const gone = exited();
    if (gone !== null) throw new Error(`the server stopped (${gone})`);
    if (Date.now() > deadline) throw new Error(`no answer in 120 s: ${String(lastError)}`);
    try {
      const attempt = await Connection.connect({ ...settings, connectTimeout: 2000 });
      await attempt.workflowService.getSystemInfo({});
      connection = attempt;
    } catch (error) {
      lastError = error;
      await pause();
    }
  }
  try {
    const retention = msToTs(retentionDays * 24 * 3600 * 1000);
    for (;;) {
      try {
        await connection.workflowService.describeNamespace({ namespace });
        break;
      } catch (error) {
        if (Date.now() > deadline) throw error;
        if (isNotFound(error)) {
          await connection.workflowService
            .registerNamespace({ namespace, workflowExecutionRetentionPeriod: retention })
            .catch((failure: unknown) => {
              if (!isAlreadyExists(failure)) throw failure;
            });
        }
        await pause();
      }
    }
    // A namespace just registered reaches the frontend's cache within seconds: until then, NOT_FOUND.
    for (;;) {
      const missing = await connection.operatorService.listSearchAttributes({ namespace }).then(
        (listed) => Object.keys(SEARCH_ATTRIBUTES).filter((name) => !(name in (listed.customAttributes ?? {}))),
        (error: unknown) => {
          if (!isNotFound(error) || Date.now() > deadline) throw error;
          return null;
        },
      );
      if (missing !== null && missing.length === 0) break;
      if (Date.now() > deadline) throw new Error(`search attributes not registered: ${missing?.join(', ')}`);
      if (missing !== null) {
        await connection.operatorService
          .addSearchAttributes({
            namespace,
            searchAttributes: Object.fromEntries(
              missing.map((name) => [
                name,
                INDEXED_VALUE_TYPES[SEARCH_ATTRIBUTES[name as keyof typeof SEARCH_ATTRIBUTES]],
              ]),
            ),
          })
          // Registered by another caller meanwhile, or not yet possible: the next listing tells.
          .catch(() => undefined);
      }
      await pause();
    }
  } finally {
    await connection.close();
  }
}

function isNotFound(error: unknown): boolean {
  return (error as { code?: number }).code === 5;
}

function isAlreadyExists(error: unknown): boolean {
  return (error as { code?: number }).code === 6;
}
