import express from 'express';
import type { KeyStore } from '../../db/keys';
import { HttpError, notFound, unprocessable } from '../http-error';
import type { KeyResolver } from '../key-resolver';
import { principalOf, requireScope } from '../middleware/authenticate';
import { createKeySchema } from '../schemas';
import { route } from './route';

export interface KeyRoutesDeps {
  keys: KeyStore;
  resolver: KeyResolver;
}

/**
 * /keys: a tenant's admin key manages its own tenant's keys; the operator's key manages every
 * tenant's. The secret of a new key is in the answer to its creation and nowhere else.
 */
export function keyRoutes({ keys, resolver }: KeyRoutesDeps): express.Router {
  const router = express.Router();

  router.post(
    '/keys',
    requireScope('admin'),
    route(async (req, res) => {
      const principal = principalOf(res);
      const body = createKeySchema.parse(req.body ?? {});
      let tenant = body.tenant ?? (principal.operator ? undefined : principal.tenant);
      if (tenant === undefined)
        throw unprocessable('VALIDATION_FAILED', 'tenant: the operator names the tenant of a key');
      if (!principal.operator && tenant !== principal.tenant) {
        throw new HttpError(403, 'FORBIDDEN', "A tenant's key can create keys for its own tenant only.");
      }
      if (body.expiresAt !== undefined && Date.parse(body.expiresAt) <= Date.now()) {
        throw unprocessable('VALIDATION_FAILED', 'expiresAt: the time is already past');
      }
      tenant = tenant.trim();
      const created = await keys.create({
        tenant,
        name: body.name,
        scopes: body.scopes,
        expiresAt: body.expiresAt === undefined ? null : new Date(body.expiresAt).toISOString(),
      });
      res.status(201).json({ ...created.key, secret: created.secret });
    }),
  );

  router.get(
    '/keys',
    requireScope('admin'),
    route(async (req, res) => {
      const principal = principalOf(res);
      const asked = typeof req.query.tenant === 'string' ? req.query.tenant : null;
      res.json({ keys: await keys.list(principal.operator ? asked : principal.tenant) });
    }),
  );

  router.delete(
    '/keys/:id',
    requireScope('admin'),
    route(async (req, res) => {
      const principal = principalOf(res);
      const revoked = await keys.revoke(String(req.params.id), principal.operator ? null : principal.tenant);
      if (revoked === null) throw notFound('No such key, or it is already revoked.');
      resolver.forget();
      res.status(204).end();
    }),
  );

  return router;
}
