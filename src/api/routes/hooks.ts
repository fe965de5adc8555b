import express from 'express';
import type { HookStore } from '../../db/hooks';
import type { TaskStore } from '../../db/tasks';
import type { Principal } from '../../domain/tenancy';
import { HttpError, notFound, unprocessable } from '../http-error';
import { SIGNATURE_TOLERANCE_SECONDS, verifyDelivery } from '../hook-signature';
import { principalOf, requireScope } from '../middleware/authenticate';
import { createHookSchema } from '../schemas';
import { route } from './route';
import { startTaskRun, type TaskRoutesDeps } from './tasks';

export interface HookRoutesDeps extends Pick<TaskRoutesDeps, 'store' | 'executions' | 'metrics'> {
  tasks: TaskStore;
  hooks: HookStore;
  /** How long a rotated-out secret still signs deliveries. */
  rotationGraceMs?: number;
  /** The largest delivery body accepted. */
  maxBodyBytes?: number;
}

const hookUrl = (id: string) => `/api/hooks/${id}`;

/** /tasks/:slug/hooks: a tenant manages a task's inbound hooks (needs `run`). */
export function hookAdminRoutes({ tasks, hooks, rotationGraceMs = 3_600_000 }: HookRoutesDeps): express.Router {
  const router = express.Router();
  const taskOf = async (principal: Principal, slug: string) => {
    if ((await tasks.get(principal.tenant, slug)) === null) throw notFound(`No task "${slug}".`);
  };

  router.post(
    '/tasks/:slug/hooks',
    requireScope('run'),
    route(async (req, res) => {
      const principal = principalOf(res);
      const slug = String(req.params.slug);
      await taskOf(principal, slug);
      const body = createHookSchema.parse(req.body ?? {});
      const { hook, secret } = await hooks.create(principal.tenant, slug, body.mapping ?? null);
      res.status(201).json({ ...hook, url: hookUrl(hook.id), secret });
    }),
  );

  router.get(
    '/tasks/:slug/hooks',
    requireScope('read'),
    route(async (req, res) => {
      const principal = principalOf(res);
      const slug = String(req.params.slug);
      await taskOf(principal, slug);
      const list = await hooks.list(principal.tenant, slug);
      res.json({ hooks: list.map((hook) => ({ ...hook, url: hookUrl(hook.id) })) });
    }),
  );

  router.post(
    '/tasks/:slug/hooks/:id/rotate',
    requireScope('run'),
    route(async (req, res) => {
      const rotated = await hooks.rotate(principalOf(res).tenant, String(req.params.id), rotationGraceMs);
      if (rotated === null || rotated.hook.slug !== String(req.params.slug)) throw notFound('No such hook.');
      res.json({ ...rotated.hook, url: hookUrl(rotated.hook.id), secret: rotated.secret });
    }),
  );

  router.delete(
    '/tasks/:slug/hooks/:id',
    requireScope('run'),
    route(async (req, res) => {
      if (!(await hooks.delete(principalOf(res).tenant, String(req.params.id)))) throw notFound('No such hook.');
      res.status(204).end();
    }),
  );
  return router;
}

/** Reads `path` ("a.b.c") from a parsed JSON body. */
function pick(body: unknown, path: string): unknown {
  let node = body;
  for (const part of path.split('.')) {
    if (typeof node !== 'object' || node === null) return undefined;
    node = (node as Record<string, unknown>)[part];
  }
  return node;
}

/**
 * POST /api/hooks/:id: a signed delivery starts a run of the hook's task, with `triggeredBy:
 * "webhook"`. It carries no API key: the signature over the raw body is the credential (401 for a
 * missing, wrong, stale or replayed one). An `Idempotency-Key` or `X-Delivery-Id` makes a retried
 * delivery start one execution.
 */
export function inboundHookRoutes(deps: HookRoutesDeps): express.Router {
  const { tasks, hooks } = deps;
  const router = express.Router();
  router.post(
    '/hooks/:id',
    express.raw({ type: () => true, limit: deps.maxBodyBytes ?? 1024 * 1024 }),
    route(async (req, res) => {
      const raw = Buffer.isBuffer(req.body) ? req.body : Buffer.alloc(0);
      const hook = await hooks.find(String(req.params.id));
      // An unknown hook answers like a bad signature, so hook ids cannot be probed.
      const verdict = hook
        ? verifyDelivery(req.header('x-signature'), raw, hook.secrets, Math.floor(Date.now() / 1000))
        : { ok: false as const, reason: 'the signature does not match' };
      if (!verdict.ok) throw new HttpError(401, 'BAD_SIGNATURE', `The delivery was refused: ${verdict.reason}.`);
      if (!(await hooks.useSignature(hook!.id, verdict.signature, 2 * SIGNATURE_TOLERANCE_SECONDS * 1000))) {
        throw new HttpError(401, 'BAD_SIGNATURE', 'The delivery was refused: this signature was used before.');
      }
      let body: unknown = {};
      if (raw.length > 0) {
        try {
          body = JSON.parse(raw.toString('utf8'));
        } catch {
          throw new HttpError(400, 'MALFORMED_JSON', 'The delivery body is not valid JSON.');
        }
      }
      const task = await tasks.get(hook!.tenant, hook!.slug);
      if (task === null) throw notFound(`The hook's task "${hook!.slug}" no longer exists.`);
      // By default the body's fields that are parameters, by name; other fields are the sender's business.
      const inputs: Record<string, unknown> = {};
      if (hook!.mapping) {
        for (const [name, path] of Object.entries(hook!.mapping)) {
          const value = pick(body, path);
          if (value !== undefined) inputs[name] = value;
        }
      } else if (typeof body === 'object' && body !== null && !Array.isArray(body)) {
        for (const name of Object.keys(task.parameters.properties)) {
          const value = (body as Record<string, unknown>)[name];
          if (value !== undefined) inputs[name] = value;
        }
      } else {
        throw unprocessable('VALIDATION_FAILED', 'body: a JSON object whose fields are the task parameters');
      }
      const delivery = req.header('idempotency-key') ?? req.header('x-delivery-id');
      if (delivery !== undefined && delivery.length > 200)
        throw new HttpError(400, 'BAD_REQUEST', 'The delivery id is too long.');
      const principal: Principal = { tenant: hook!.tenant, scopes: ['run'], keyId: hook!.id, operator: false };
      const started = await startTaskRun(deps, principal, hook!.slug, {
        inputs,
        files: [],
        triggeredBy: 'webhook',
        idempotencyKey: delivery ? `hook:${hook!.id}:${delivery}` : null,
      });
      res.status(202).json(started);
    }),
  );
  return router;
}
