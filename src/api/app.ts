import type { Client } from '@temporalio/client';
import express from 'express';
import type { Logger } from 'pino';
import type { Config } from '../config';
import type { ArtifactStore } from '../storage/artifact-store';
import { errorHandler } from './error-handler';
import { ExecutionService } from './execution-service';
import { WorkerWatch } from './worker-watch';
import { ExecutionFeeds } from './execution-feeds';
import { ListFeeds } from './list-feeds';
import { notFound } from './http-error';
import { HttpMetrics } from './metrics';
import { requestSpan } from './middleware/request-span';
import type { KeyStore } from '../db/keys';
import type { HookStore } from '../db/hooks';
import type { ScheduleStore } from '../db/schedules';
import type { AlertDefaultsStore } from '../db/alert-defaults';
import type { RecoveryStrategyStore } from '../db/recovery-strategies';
import type { SubscriptionStore } from '../db/subscriptions';
import { alertDefaultRoutes } from './routes/alert-defaults';
import { recoveryStrategyRoutes } from './routes/recovery-strategies';
import { subscriptionRoutes } from './routes/subscriptions';
import type { TaskStore } from '../db/tasks';
import { ScheduleService } from './schedule-service';
import { scheduleRoutes } from './routes/schedules';
import { KeyResolver } from './key-resolver';
import { authenticate } from './middleware/authenticate';
import { rateLimit } from './middleware/rate-limit';
import { jsonBody, multipartBody } from './middleware/body-parsers';
import { requestId } from './middleware/request-id';
import { requestLog } from './middleware/request-log';
import { executionRoutes } from './routes/executions';
import { hookAdminRoutes, inboundHookRoutes } from './routes/hooks';
import { keyRoutes } from './routes/keys';
import { taskRoutes } from './routes/tasks';
import { operationRoutes } from './routes/operations';
import { syncRoutes } from './routes/sync';
import { sessionRoutes } from './routes/session';
import { SessionSigner, sessionSecret } from './sessions';
import { consoleRoutes } from './console-files';

export interface AppDeps {
  client: Client;
  store: ArtifactStore;
  config: Config;
  logger: Logger;
  /** Tenants' API keys, in the service's database. */
  keys: KeyStore;
  /** Named tasks, in the service's database. */
  tasks: TaskStore;
  /** Inbound webhooks of named tasks. */
  hooks: HookStore;
  /** Whose each schedule is (the schedules themselves are Temporal's). */
  schedules: ScheduleStore;
  /** Subscriptions to execution events, and their delivery log. */
  subscriptions: SubscriptionStore;
  /** The recovery strategies each tenant registered. */
  strategies: RecoveryStrategyStore;
  /** Each tenant's default alert conditions; without it, no /api/alert-defaults and no tenant defaults. */
  alertDefaults?: AlertDefaultsStore;
  /** Where the console's built files are; the build of `npm run build:console` without it. */
  consoleDir?: string;
}

/**
 * The gateway: HTTP in front of the execution workflows. The one place that wires middleware and
 * routes, in the order they apply.
 */
export function createApp(deps: AppDeps): express.Express {
  const { client, config, logger } = deps;
  const workers = new WorkerWatch(client, config.temporal.namespace, config.temporal.taskQueue);
  const executions = new ExecutionService({
    client,
    store: deps.store,
    config,
    subscriptions: deps.subscriptions,
    strategies: deps.strategies,
    alertDefaults: deps.alertDefaults ?? null,
    workers,
  });
  const resolver = new KeyResolver({ legacyKeys: config.apiKeys, adminKey: config.adminApiKey, store: deps.keys });
  const sessions = new SessionSigner({
    secret: sessionSecret(config.sessions.secret, config.adminApiKey),
    ttlMs: config.sessions.ttlMs,
  });
  const signIn = sessionRoutes({ resolver, sessions, cookieSecure: config.sessions.cookieSecure });
  const metrics = new HttpMetrics();
  const multipart = multipartBody({ maxFileBytes: config.maxUploadBytes });
  const schedules = new ScheduleService({
    client,
    schedules: deps.schedules,
    tasks: deps.tasks,
    store: deps.store,
    config,
  });

  const app = express();
  app.disable('x-powered-by');
  app.set('trust proxy', false);
  app.use(requestId());
  app.use(requestSpan());
  app.use(requestLog({ logger, metrics }));
  app.use(operationRoutes({ client, metrics, workers }));

  const hookDeps = { tasks: deps.tasks, hooks: deps.hooks, store: deps.store, executions, metrics };
  // Signed deliveries carry no API key: mounted before authentication, with their raw body.
  app.use('/api', inboundHookRoutes(hookDeps));
  // The console's sign-in takes a key in its body and hands out the session cookie.
  app.use('/api', signIn.router);

  const api = express.Router();
  api.use(authenticate({ resolver, sessions, renew: signIn.open }));
  api.use(rateLimit({ perMinute: config.rateLimitPerMinute }));
  api.use(jsonBody({ maxFileBytes: config.maxUploadBytes }));
  api.use(
    executionRoutes({
      executions,
      feeds: new ExecutionFeeds(executions),
      listFeeds: new ListFeeds(),
      metrics,
      config,
      multipart,
    }),
  );
  api.use(syncRoutes({ executions, metrics, multipart }));
  api.use(keyRoutes({ keys: deps.keys, resolver }));
  api.use(taskRoutes({ tasks: deps.tasks, store: deps.store, executions, metrics, config, schedules }));
  api.use(scheduleRoutes({ schedules }));
  api.use(subscriptionRoutes({ subscriptions: deps.subscriptions, config }));
  api.use(recoveryStrategyRoutes({ strategies: deps.strategies }));
  if (deps.alertDefaults) api.use(alertDefaultRoutes({ alertDefaults: deps.alertDefaults }));
  api.use(hookAdminRoutes(hookDeps));
  app.use('/api', api);
  app.use(consoleRoutes(deps.consoleDir));

  app.use((req, _res, next) => next(notFound(`no route for ${req.method} ${req.path}`)));
  app.use(errorHandler(logger));
  return app;
}
