/**
 * `npm run cluster`: the service as a team runs it once it outgrows one process, on this machine
 * and without Docker. Debian's PostgreSQL and the Temporal server (deploy/temporal/cluster.yaml,
 * the file docker-compose.yml mounts too) with mutual TLS on its frontend, then several workers and
 * the gateway, connected through Temporal's environment variables like any other deployment. The
 * data stays in DATA_DIR/cluster, so a second run goes on where the first stopped. Ctrl-C stops all.
 *
 * Executions' files go to SeaweedFS, an S3-compatible store built by setup, which every worker and
 * the gateway share as they would across hosts.
 *
 * Settings: CLUSTER_TEMPORAL_PORT (7233; the server takes it and the eight after it),
 * CLUSTER_POSTGRES_PORT (5433), CLUSTER_S3_PORT (8333), CLUSTER_WORKERS (2), CLUSTER_TLS (true), and
 * the service's own (PORT, DATA_DIR, ADMIN_API_KEY, OPENAI_*, …). The service's records go to a
 * database of their own on the cluster's PostgreSQL unless DATABASE_URL names another; the files go
 * to the cluster's SeaweedFS unless ARTIFACT_STORE is set.
 */
import { randomBytes } from 'node:crypto';
import { existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { z } from 'zod';
import { loadConfig } from '../src/config';
import { startCluster, type Cluster } from '../src/dev/temporal-cluster';
import { canConnect, waitForPort } from '../src/dev/temporal-dev-server';
import { startSeaweed, type Seaweed } from '../src/dev/seaweedfs';
import { Services, waitForHealth } from './lib/services';

const settings = z.object({
  CLUSTER_TEMPORAL_PORT: z.coerce.number().int().min(1).max(65_526).default(7233),
  CLUSTER_POSTGRES_PORT: z.coerce.number().int().min(1).max(65_535).default(5433),
  CLUSTER_S3_PORT: z.coerce.number().int().min(1).max(65_535).default(8333),
  CLUSTER_WORKERS: z.coerce.number().int().min(1).max(16).default(2),
  CLUSTER_TLS: z.enum(['true', 'false']).default('true'),
});

async function main(): Promise<void> {
  const parsed = settings.safeParse(process.env);
  if (!parsed.success) {
    const problems = parsed.error.issues.map((issue) => `${issue.path.join('.')}: ${issue.message}`);
    throw new Error(`Invalid configuration:\n  ${problems.join('\n  ')}`);
  }
  const { CLUSTER_TEMPORAL_PORT: temporalPort, CLUSTER_POSTGRES_PORT: postgresPort } = parsed.data;
  const config = loadConfig();
  const gatewayHost = config.host === '0.0.0.0' ? '127.0.0.1' : config.host;
  if (await canConnect(gatewayHost, config.port)) {
    throw new Error(`Port ${config.port} is already in use: stop what listens there, or set PORT.`);
  }
  const dir = path.join(config.dataDir, 'cluster');
  mkdirSync(dir, { recursive: true });
  console.log(`Starting PostgreSQL on ${postgresPort} and the Temporal server on ${temporalPort} (data in ${dir})...`);
  const cluster: Cluster = await startCluster({
    dir,
    port: temporalPort,
    postgresPort,
    namespace: config.temporal.namespace,
    tls: parsed.data.CLUSTER_TLS === 'true',
    // Histories kept as long as the files (Temporal keeps at least a day), when the namespace is made.
    ...(config.artifactRetentionDays > 0
      ? { retentionDays: Math.max(1, Math.ceil(config.artifactRetentionDays)) }
      : {}),
  });
  let seaweed: Seaweed | null = null;
  let artifactEnv: Record<string, string> = {};
  if (process.env.ARTIFACT_STORE === undefined) {
    const seaweedDir = path.join(dir, 'seaweedfs');
    const credentials = clusterS3Credentials(seaweedDir);
    console.log(`Starting SeaweedFS, the shared artifact store, with S3 on ${parsed.data.CLUSTER_S3_PORT}...`);
    try {
      seaweed = await startSeaweed({
        dir: seaweedDir,
        bucket: 'artifacts',
        s3Port: parsed.data.CLUSTER_S3_PORT,
        ...credentials,
      });
    } catch (error) {
      await cluster.stop();
      throw error;
    }
    artifactEnv = {
      ARTIFACT_STORE: 's3',
      ARTIFACT_S3_BUCKET: 'artifacts',
      ARTIFACT_S3_ENDPOINT: seaweed.endpoint,
      ARTIFACT_S3_ACCESS_KEY_ID: credentials.accessKeyId,
      ARTIFACT_S3_SECRET_ACCESS_KEY: credentials.secretAccessKey,
    };
  }

  let stopping = false;
  const stop = async (code: number) => {
    if (stopping) return;
    stopping = true;
    console.log('\nStopping the gateway and the workers, then the stores and the Temporal server...');
    await services.stopAll(config.worker.shutdownGraceMs + 5000);
    await seaweed?.stop();
    await cluster.stop();
    process.exit(code);
  };
  const services = new Services(() => void stop(1));
  process.once('SIGINT', () => void stop(0));
  process.once('SIGTERM', () => void stop(0));

  // Every Temporal setting of our own processes comes from the cluster, whatever this shell has.
  const inherited = Object.fromEntries(Object.entries(process.env).filter(([name]) => !name.startsWith('TEMPORAL_')));
  const env = {
    ...inherited,
    ...cluster.clientEnv,
    DATABASE_URL: process.env.DATABASE_URL ?? cluster.databaseUrl,
    ...artifactEnv,
  };
  for (let n = 1; n <= parsed.data.CLUSTER_WORKERS; n++) services.launch(`worker ${n}`, 'src/worker.ts', env);
  services.launch('gateway', 'src/api/server.ts', env);
  if (!(await waitForPort(gatewayHost, config.port, 60_000))) {
    console.error('The gateway did not start.');
    return stop(1);
  }
  if (!(await waitForHealth(`http://${gatewayHost}:${config.port}/healthz`, 120_000))) {
    console.error('No worker polled the task queue within 120 s; see the worker logs above.');
    return stop(1);
  }
  const shownHost = config.host === '0.0.0.0' ? 'localhost' : config.host;
  const { certs } = cluster;
  const cliTls = certs
    ? ` --tls-ca-path ${certs.ca} --tls-cert-path ${certs.clientCert} --tls-key-path ${certs.clientKey} --tls-server-name localhost`
    : '';
  console.log('');
  console.log(`  Gateway:   http://${shownHost}:${config.port}  (try GET /healthz)`);
  console.log(`  Console:   http://${shownHost}:${config.port}/`);
  console.log(`  Temporal:  ${cluster.address} on PostgreSQL ${postgresPort}${certs ? ', mutual TLS' : ''}`);
  console.log(`  Workers:   ${parsed.data.CLUSTER_WORKERS}`);
  console.log(
    seaweed
      ? `  Files:     S3 at ${seaweed.endpoint}, bucket artifacts (keys in ${path.join(dir, 'seaweedfs', 'credentials.json')})`
      : `  Files:     ARTIFACT_STORE=${process.env.ARTIFACT_STORE}`,
  );
  console.log(`  The CLI:   temporal workflow list --address ${cluster.address}${cliTls}`);
  console.log(`  Server log: ${path.join(dir, 'temporal.log')}`);
  console.log('  Ctrl-C stops everything started here.');
  console.log('');
}

/** The cluster's S3 identity: made once, then read back, so that a second run signs in the same. */
function clusterS3Credentials(dir: string): { accessKeyId: string; secretAccessKey: string } {
  const file = path.join(dir, 'credentials.json');
  if (existsSync(file))
    return JSON.parse(readFileSync(file, 'utf8')) as { accessKeyId: string; secretAccessKey: string };
  mkdirSync(dir, { recursive: true });
  const credentials = {
    accessKeyId: `cluster-${randomBytes(6).toString('hex')}`,
    secretAccessKey: randomBytes(24).toString('hex'),
  };
  writeFileSync(file, JSON.stringify(credentials, null, 2), { mode: 0o600 });
  return credentials;
}

main().catch((error: unknown) => {
  console.error(error instanceof Error ? error.message : error);
  process.exit(1);
});
