import type { Client } from '@temporalio/client';
import express from 'express';
import type { HttpMetrics } from '../metrics';
import { route } from './route';

export interface OperationRoutesDeps {
  client: Client;
  metrics: HttpMetrics;
}

/** GET /healthz (is Temporal reachable) and GET /metrics (Prometheus text); outside `/api`, without a key. */
export function operationRoutes({ client, metrics }: OperationRoutesDeps): express.Router {
  const router = express.Router();
  router.get(
    '/healthz',
    route(async (_req, res) => {
      const up = await temporalIsUp(client);
      res.status(up ? 200 : 503).json({ ok: up, temporal: up ? 'up' : 'down' });
    }),
  );
  router.get('/metrics', (_req, res) => {
    res.type('text/plain; version=0.0.4').send(metrics.render());
  });
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
