/**
 * `npm run cluster`: the service as a team runs it once it outgrows one process, on this machine
 * and without Docker. Debian's PostgreSQL and the Temporal server (deploy/temporal/cluster.yaml,
 * the file docker-compose.yml mounts too) with mutual TLS on its frontend, then several workers and
 * the gateway, connected through Temporal's environment variables like any other deployment. The
 * data stays in DATA_DIR/cluster, so a second run goes on where the first stopped. Ctrl-C stops all.
 *
 * Settings: CLUSTER_TEMPORAL_PORT (7233; the server takes it and the eight after it),
 * CLUSTER_POSTGRES_PORT (5433), CLUSTER_WORKERS (2), CLUSTER_TLS (true), and the service's own
 * (PORT, DATA_DIR, ADMIN_API_KEY, OPENAI_*, …). The service's records go to a database of their own
 * on the cluster's PostgreSQL unless DATABASE_URL names another.
 */
import { mkdirSync } from 'node:fs';
import path from 'node:path';
import { z } from 'zod';
import { loadConfig } from '../src/config';
import { startCluster, type Cluster } from '../src/dev/temporal-cluster';
import { canConnect, waitForPort } from '../src/dev/temporal-dev-server';
import { Services, waitForHealth } from './lib/services';

const settings = z.object({
  CLUSTER_TEMPORAL_PORT: z.coerce.number().int().min(1).max(65_526).default(7233),
  CLUSTER_POSTGRES_PORT: z.coerce.number().int().min(1).max(65_535).default(5433),
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

  let stopping = false;
  const stop = async (code: number) => {
    if (stopping) return;
    stopping = true;
    console.log('\nStopping the gateway and the workers, then the Temporal server and PostgreSQL...');
    await services.stopAll(config.worker.shutdownGraceMs + 5000);
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
  console.log(`  Temporal:  ${cluster.address} on PostgreSQL ${postgresPort}${certs ? ', mutual TLS' : ''}`);
  console.log(`  Workers:   ${parsed.data.CLUSTER_WORKERS}`);
  console.log(`  The CLI:   temporal workflow list --address ${cluster.address}${cliTls}`);
  console.log(`  Server log: ${path.join(dir, 'temporal.log')}`);
  console.log('  Ctrl-C stops everything started here.');
  console.log('');
}

main().catch((error: unknown) => {
  console.error(error instanceof Error ? error.message : error);
  process.exit(1);
});
