import express from 'express';
import { z } from 'zod';
import type { AlertDefaultsStore } from '../../db/alert-defaults';
import { MAX_ALERTS } from '../../domain/alerts';
import { principalOf, requireScope } from '../middleware/authenticate';
import { alertConditionSchema } from '../schemas';
import { route } from './route';

const putSchema = z.object({ alerts: z.array(alertConditionSchema).max(MAX_ALERTS) }).strict();

/**
 * /alert-defaults: the alert conditions every execution the tenant submits from then on watches,
 * after its own and its task's. Setting them needs `admin`: they change every execution of the tenant.
 */
export function alertDefaultRoutes({ alertDefaults }: { alertDefaults: AlertDefaultsStore }): express.Router {
  const router = express.Router();

  router.get(
    '/alert-defaults',
    requireScope('read'),
    route(async (_req, res) => {
      res.json(await alertDefaults.get(principalOf(res).tenant));
    }),
  );

  router.put(
    '/alert-defaults',
    requireScope('admin'),
    route(async (req, res) => {
      const { alerts } = putSchema.parse(req.body ?? {});
      res.json(await alertDefaults.put(principalOf(res).tenant, alerts));
    }),
  );
  return router;
}
