import pino from 'pino';
import { isLoopback, loadConfig } from '../config';
import { artifactStoreFromConfig, checkArtifactStore } from '../storage/artifact-store-from-config';
import { openDatabase } from '../db/database';
import { KeyStore } from '../db/keys';
import { HookStore } from '../db/hooks';
import { TaskStore } from '../db/tasks';
import { ScheduleStore } from '../db/schedules';
import { RecoveryStrategyStore } from '../db/recovery-strategies';
import { AlertDefaultsStore } from '../db/alert-defaults';
import { SubscriptionStore } from '../db/subscriptions';
import { createApp } from './app';
import { ensureRetentionSchedule } from './retention-schedule';
import { startTracing } from '../telemetry';
import { gatewayClient, gatewayConnection } from './temporal-connection';

async function main(): Promise<void> {
  const config = loadConfig();
  const logger = pino({ level: config.logLevel });
  if (config.apiKeys.length === 0 && config.adminApiKey === undefined && !isLoopback(config.host)) {
    throw new Error(
      `Refusing to listen on ${config.host} without keys: set ADMIN_API_KEY (or API_KEYS), or HOST=127.0.0.1.`,
    );
  }
  const database = await openDatabase(config.database);
  const store = artifactStoreFromConfig(config);
  await checkArtifactStore(store, (message) => logger.warn(message));
  // Connect lazily so the gateway starts (and /healthz answers "down") while Temporal is away.
  const connection = gatewayConnection(config.temporal.connection);
  const tracing = startTracing('agent-executions-gateway', config.otlpEndpoint);
  const client = gatewayClient(connection, config.temporal.namespace);
  const app = createApp({
    client,
    store,
    config,
    logger,
    keys: new KeyStore(database.db),
    tasks: new TaskStore(database.db),
    hooks: new HookStore(database.db),
    schedules: new ScheduleStore(database.db),
    subscriptions: new SubscriptionStore(database.db),
    strategies: new RecoveryStrategyStore(database.db),
    alertDefaults: new AlertDefaultsStore(database.db),
  });
  const retention = ensureRetentionSchedule(client, config, logger);
  const server = app.listen(config.port, config.host, () => {
    logger.info({ url: `http://${config.host}:${config.port}` }, 'gateway listening');
  });
  server.on('error', (error: NodeJS.ErrnoException) => {
    const reason = error.code === 'EADDRINUSE' ? `port ${config.port} is already in use (set PORT)` : error.message;
    console.error(`gateway: cannot listen on ${config.host}:${config.port}: ${reason}`);
    process.exit(1);
  });
  const stop = () => {
    retention.stop();
    server.close(
      () =>
        void Promise.allSettled([connection.close(), database.close(), tracing.shutdown()]).finally(() =>
          process.exit(0),
        ),
    );
    setTimeout(() => process.exit(0), 5000).unref();
  };
  process.once('SIGINT', stop);
  process.once('SIGTERM', stop);
}

main().catch((error: unknown) => {
  console.error(error instanceof Error ? error.message : error);
  process.exit(1);
});
