import type { Client } from '@temporalio/client';
import express from 'express';
import type { HttpMetrics } from '../metrics';
import type { WorkerWatch } from '../worker-watch';
import { route } from './route';

export interface OperationRoutesDeps {
  client: Client;
  metrics: HttpMetrics;
  workers: WorkerWatch;
}

/**
 * GET /healthz and GET /metrics (Prometheus text), outside `/api`, without a key. Health is 200 while
 * Temporal answers, since the gateway can then serve (reads stay possible with no worker); `ok` is
 * true only when a worker polls the task queue too.
 */
export function operationRoutes({ client, metrics, workers }: OperationRoutesDeps): express.Router {
  const router = express.Router();
  router.get(
    '/healthz',
    route(async (_req, res) => {
      const up = await temporalIsUp(client);
      const polled = up && (await workers.seen());
      res
        .status(up ? 200 : 503)
        .json({ ok: up && polled, temporal: up ? 'up' : 'down', worker: polled ? 'up' : 'down' });
    }),
  );
  router.get(
    '/metrics',
    route(async (_req, res) => {
      res.type(metrics.contentType).send(await metrics.render());
    }),
  );
  return router;
}

async function temporalIsUp(client: Client): Promise<boolean> {
  try {
    await client.connection.withDeadline(Date.now() + 2000, () => client.workflowService.getSystemInfo({}));
    return true;
  } catch {
    return false;
  }
}
