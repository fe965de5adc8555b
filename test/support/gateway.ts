import type { Client } from '@temporalio/client';
import type { Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import pino from 'pino';
import { createApp } from '../../src/api/app';
import { ensureRetentionSchedule } from '../../src/api/retention-schedule';
import { openDatabase } from '../../src/db/database';
import { KeyStore } from '../../src/db/keys';
import { HookStore } from '../../src/db/hooks';
import { TaskStore } from '../../src/db/tasks';
import { ScheduleStore } from '../../src/db/schedules';
import { RecoveryStrategyStore } from '../../src/db/recovery-strategies';
import { AlertDefaultsStore } from '../../src/db/alert-defaults';
import { SubscriptionStore } from '../../src/db/subscriptions';
import type { Config } from '../../src/config';
import { artifactStoreFromConfig } from '../../src/storage/artifact-store-from-config';

/**
 * The gateway in this process on a free loopback port, for tests, benches and the history recorder;
 * with the artifact store the configuration asks for, as the worker's.
 */
export async function startGateway(
  client: Client,
  config: Config,
  logLevel = 'silent',
): Promise<{ server: Server; baseUrl: string }> {
  const database = await openDatabase(config.database);
  const app = createApp({
    client,
    store: artifactStoreFromConfig(config),
    config,
    logger: pino({ level: logLevel }),
    keys: new KeyStore(database.db),
    tasks: new TaskStore(database.db),
    hooks: new HookStore(database.db),
    schedules: new ScheduleStore(database.db),
    subscriptions: new SubscriptionStore(database.db),
    strategies: new RecoveryStrategyStore(database.db),
    alertDefaults: new AlertDefaultsStore(database.db),
  });
  const retention = ensureRetentionSchedule(client, config, pino({ level: logLevel }));
  const server = await new Promise<Server>((resolve) => {
    const listening = app.listen(0, '127.0.0.1', () => resolve(listening));
  });
  server.once('close', () => {
    retention.stop();
    void database.close();
  });
  return { server, baseUrl: `http://127.0.0.1:${(server.address() as AddressInfo).port}` };
}
