import express from 'express';
import type { Config } from '../../config';
import { newSubscriptionSecret, type Subscription, type SubscriptionStore } from '../../db/subscriptions';
import { receiverProblem } from '../../webhooks/addresses';
import { notFound, unprocessable } from '../http-error';
import { principalOf, requireScope } from '../middleware/authenticate';
import { createSubscriptionSchema } from '../schemas';
import { route } from './route';

const shown = ({ tenant: _tenant, ...subscription }: Subscription) => subscription;

/**
 * /subscriptions: where a tenant's execution events are sent (needs `admin`: they carry results out
 * of the service). Deliveries are signed with the subscription's secret, shown once.
 */
export function subscriptionRoutes({
  subscriptions,
  config,
}: {
  subscriptions: SubscriptionStore;
  config: Config;
}): express.Router {
  const router = express.Router();
  const owned = async (tenant: string, id: string) => {
    const subscription = await subscriptions.get(tenant, id);
    if (subscription === null) throw notFound(`No subscription ${id}.`);
    return subscription;
  };

  router.post(
    '/subscriptions',
    requireScope('admin'),
    route(async (req, res) => {
      const body = createSubscriptionSchema.parse(req.body ?? {});
      const problem = receiverProblem(body.url, config.webhooks.allowPrivate);
      if (problem !== null) throw unprocessable('INVALID_RECEIVER', `url ${problem}.`);
      const secret = body.secret ?? newSubscriptionSecret();
      const made = await subscriptions.create({
        tenant: principalOf(res).tenant,
        url: body.url,
        events: body.events,
        secret,
      });
      res.status(201).json({ ...shown(made), ...(body.secret === undefined ? { secret } : {}) });
    }),
  );

  router.get(
    '/subscriptions',
    requireScope('admin'),
    route(async (_req, res) => {
      res.json({ subscriptions: (await subscriptions.list(principalOf(res).tenant)).map(shown) });
    }),
  );

  router.get(
    '/subscriptions/:id/deliveries',
    requireScope('admin'),
    route(async (req, res) => {
      const subscription = await owned(principalOf(res).tenant, String(req.params.id));
      res.json({ subscription: shown(subscription), deliveries: await subscriptions.deliveries(subscription.id) });
    }),
  );

  router.delete(
    '/subscriptions/:id',
    requireScope('admin'),
    route(async (req, res) => {
      if (!(await subscriptions.delete(principalOf(res).tenant, String(req.params.id)))) {
        throw notFound(`No subscription ${String(req.params.id)}.`);
      }
      res.status(204).end();
    }),
  );
  return router;
}
