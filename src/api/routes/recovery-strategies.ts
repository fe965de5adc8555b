import express from 'express';
import { MAX_TENANT_STRATEGIES, type RecoveryStrategyStore } from '../../db/recovery-strategies';
import { customStrategySchema } from '../../domain/custom-recovery-schema';
import { HttpError, notFound, unprocessable } from '../http-error';
import { principalOf, requireScope } from '../middleware/authenticate';
import { route } from './route';

/**
 * /recovery-strategies: a tenant's own answers to failed attempts, consulted by each execution it
 * submits from then on, after the execution's own and before the built-in ones. Needs `admin`: they
 * change what every execution of the tenant does.
 */
export function recoveryStrategyRoutes({ strategies }: { strategies: RecoveryStrategyStore }): express.Router {
  const router = express.Router();

  router.post(
    '/recovery-strategies',
    requireScope('admin'),
    route(async (req, res) => {
      const strategy = customStrategySchema.parse(req.body ?? {});
      const { tenant } = principalOf(res);
      if ((await strategies.count(tenant)) >= MAX_TENANT_STRATEGIES) {
        throw unprocessable(
          'TOO_MANY_STRATEGIES',
          `A tenant may register at most ${MAX_TENANT_STRATEGIES} recovery strategies; delete one first.`,
        );
      }
      const made = await strategies.create(tenant, strategy);
      if (made === null) {
        throw new HttpError(409, 'STRATEGY_EXISTS', `A recovery strategy "${strategy.id}" exists already.`);
      }
      res.status(201).json(made);
    }),
  );

  router.get(
    '/recovery-strategies',
    requireScope('read'),
    route(async (_req, res) => {
      res.json({ strategies: await strategies.list(principalOf(res).tenant) });
    }),
  );

  router.delete(
    '/recovery-strategies/:id',
    requireScope('admin'),
    route(async (req, res) => {
      if (!(await strategies.delete(principalOf(res).tenant, String(req.params.id)))) {
        throw notFound(`No recovery strategy ${String(req.params.id)}.`);
      }
      res.status(204).end();
    }),
  );
  return router;
}
