import { chmodSync, mkdtempSync, readFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { Connection } from '@temporalio/client';
import pg from 'pg';
import { startCluster, type Cluster } from '../../src/dev/temporal-cluster';
import { canConnect, freePort } from '../../src/dev/temporal-dev-server';
import { base64, useHarness } from '../support/harness';

/** A frontend port whose eight followers are free too (the server's other ports). */
async function freePortRun(): Promise<number> {
  for (;;) {
    // Below the kernel's ephemeral range (32768 and up), where outgoing connections take their ports.
    const first = 10_000 + Math.floor(Math.random() * 20_000);
    const taken = await Promise.all(Array.from({ length: 9 }, (_, i) => canConnect('127.0.0.1', first + i)));
    if (!taken.some(Boolean)) return first;
  }
}

/** The numbers 1..n in a CSV, and code that prints their sum: a result known in advance. */
const numbers = (n: number) => ['n', ...Array.from({ length: n }, (_, i) => String(i + 1))].join('\n') + '\n';
const SUM_CODE = [
  'import time, pandas as pd',
  "total = int(pd.read_csv('numbers.csv')['n'].sum())",
  'time.sleep(1)',
  "print('sum', total)",
  "open('sum.txt', 'w').write(str(total))",
].join('\n');

/**
 * The production path on this machine: the Temporal server (not the dev server) on PostgreSQL,
 * reached over mutual TLS through Temporal's environment configuration, with the service's own
 * records on the same PostgreSQL, two workers, and the server killed and started again.
 */
describe('a Temporal cluster on PostgreSQL with mutual TLS', () => {
  let cluster: Cluster;

  beforeAll(async () => {
    const dir = mkdtempSync(path.join(os.tmpdir(), 'cluster-test-'));
    // PostgreSQL runs as its own user, which must be able to reach its data folder.
    chmodSync(dir, 0o755);
    cluster = await startCluster({ dir, port: await freePortRun(), postgresPort: await freePort() });
  }, 180_000);

  afterAll(async () => {
    await cluster?.stop();
  });

  test('a client without a certificate of the cluster’s authority is refused', async () => {
    const { certs } = cluster;
    if (certs === null) throw new Error('the cluster was started without TLS');
    const attempts = [
      { address: cluster.address },
      {
        address: cluster.address,
        tls: { serverNameOverride: 'localhost', serverRootCACertificate: readFileSync(certs.ca) },
      },
    ];
    // The same call with the cluster's client certificate answers, so the refusals are the certificate's doing.
    const trusted = await Connection.connect(cluster.connection);
    try {
      expect((await trusted.workflowService.getSystemInfo({})).serverVersion).toBe('1.29.1');
    } finally {
      await trusted.close();
    }
    for (const options of attempts) {
      const refused = Connection.connect({ ...options, connectTimeout: 3000 }).then(async (connection) => {
        try {
          await connection.workflowService.getSystemInfo({});
        } finally {
          await connection.close();
        }
      });
      await expect(refused).rejects.toThrow(/(UNAVAILABLE|handshake|connection|closed|certificate|deadline)/i);
    }
  });

  describe('the service on it', () => {
    const harness = useHarness({
      model: false,
      env: () => ({ ...cluster.clientEnv, DATABASE_URL: cluster.databaseUrl, ADMIN_API_KEY: 'operator-key' }),
    });
    harness.defaultHeaders = { authorization: 'Bearer operator-key' };

    test('two workers run executions to their known result; the service’s records are on the cluster’s database', async () => {
      await harness.spawnWorker();
      // Both poll: Temporal lists a poller once its first poll has arrived.
      const pollers = async () => {
        const described = await harness.client.workflowService.describeTaskQueue({
          namespace: cluster.namespace,
          taskQueue: { name: harness.config.temporal.taskQueue },
          taskQueueType: 2, // activities
        });
        return new Set(described.pollers?.map((poller) => poller.identity)).size;
      };
      for (let i = 0; i < 100 && (await pollers()) < 2; i++) await new Promise((resolve) => setTimeout(resolve, 100));
      expect(await pollers()).toBe(2);

      const ids: Array<{ id: string; n: number }> = [];
      for (const n of [3, 10, 25, 100, 7, 42]) {
        const response = await harness.request('POST', '/api/executions', {
          code: SUM_CODE,
          files: [{ name: 'numbers.csv', content: base64(numbers(n)) }],
        });
        expect(response.status).toBe(202);
        ids.push({ id: response.body.id as string, n });
      }
      for (const { id, n } of ids) {
        const done = await harness.waitForEnd(id, 120_000);
        expect(done.status).toBe('succeeded');
        expect(done.steps[0].attempts.at(-1)?.stdout).toBe(`sum ${(n * (n + 1)) / 2}\n`);
      }

      const key = await harness.request('POST', '/api/keys', { tenant: 'acme', name: 'ci', scopes: ['read'] });
      expect(key.status).toBe(201);
      const db = new pg.Client({ connectionString: cluster.databaseUrl });
      await db.connect();
      try {
        const tenants = await db.query('SELECT id FROM tenants');
        expect(tenants.rows.map((row: { id: string }) => row.id)).toContain('acme');
      } finally {
        await db.end();
      }
    }, 240_000);

    test('the server killed (SIGKILL) and started again: the gateway says 503 meanwhile, and executions in flight finish', async () => {
      const ids: Array<{ id: string; n: number }> = [];
      for (const n of [5, 50, 500]) {
        const response = await harness.request('POST', '/api/executions', {
          code: SUM_CODE.replace('time.sleep(1)', 'time.sleep(4)'),
          files: [{ name: 'numbers.csv', content: base64(numbers(n)) }],
        });
        expect(response.status).toBe(202);
        ids.push({ id: response.body.id as string, n });
      }
      await harness.waitFor(ids[0].id, (snapshot) => snapshot.progress.currentPhase === 'executing');
      await cluster.stopServer('SIGKILL');

      const down = await harness.request('GET', `/api/executions/${ids[0].id}`);
      expect(down.status).toBe(503);
      expect(down.body.error.code).toBeDefined();

      await cluster.startServer();
      for (const { id, n } of ids) {
        const done = await harness.waitForEnd(id, 180_000);
        expect(done.status).toBe('succeeded');
        expect(done.steps[0].attempts.at(-1)?.stdout).toBe(`sum ${(n * (n + 1)) / 2}\n`);
        expect(done.timeline.filter((event) => event.event === 'EXECUTION_COMPLETED')).toHaveLength(1);
      }
    }, 300_000);
  });
});
