import express from 'express';
import { principalOf, requireScope } from '../middleware/authenticate';
import type { ScheduleService } from '../schedule-service';
import { createScheduleSchema, updateScheduleSchema } from '../schemas';
import { route } from './route';

/**
 * /tasks/:slug/schedules: Temporal Schedules of the caller's tenant's named tasks. Creating,
 * changing and deleting one needs `run`; reading needs `read`.
 */
export function scheduleRoutes({ schedules }: { schedules: ScheduleService }): express.Router {
  const router = express.Router();
  const params = (req: express.Request) => ({ slug: String(req.params.slug), id: String(req.params.id) });

  router.post(
    '/tasks/:slug/schedules',
    requireScope('run'),
    route(async (req, res) => {
      const body = createScheduleSchema.parse(req.body ?? {});
      res.status(201).json(await schedules.create(principalOf(res).tenant, String(req.params.slug), body));
    }),
  );

  router.get(
    '/tasks/:slug/schedules',
    requireScope('read'),
    route(async (req, res) => {
      res.json({ schedules: await schedules.list(principalOf(res).tenant, String(req.params.slug)) });
    }),
  );

  router.get(
    '/tasks/:slug/schedules/:id',
    requireScope('read'),
    route(async (req, res) => {
      const { slug, id } = params(req);
      res.json(await schedules.get(principalOf(res).tenant, slug, id));
    }),
  );

  router.patch(
    '/tasks/:slug/schedules/:id',
    requireScope('run'),
    route(async (req, res) => {
      const { slug, id } = params(req);
      const change = updateScheduleSchema.parse(req.body ?? {});
      res.json(await schedules.update(principalOf(res).tenant, slug, id, change));
    }),
  );

  router.post(
    '/tasks/:slug/schedules/:id/trigger',
    requireScope('run'),
    route(async (req, res) => {
      const { slug, id } = params(req);
      await schedules.trigger(principalOf(res).tenant, slug, id);
      res.status(202).json({ triggered: true, runs: `/api/executions?task=${slug}&triggeredBy=schedule` });
    }),
  );

  router.delete(
    '/tasks/:slug/schedules/:id',
    requireScope('run'),
    route(async (req, res) => {
      const { slug, id } = params(req);
      await schedules.delete(principalOf(res).tenant, slug, id);
      res.status(204).end();
    }),
  );
  return router;
}
