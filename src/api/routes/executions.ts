import express, { type RequestHandler } from 'express';
import type { Config } from '../../config';
import { contentTypeFor } from '../../domain/file-names';
import type { ArtifactRef } from '../../domain/types';
import { streamEvents } from '../events';
import type { ExecutionFeeds } from '../execution-feeds';
import { streamList, type ListFeeds } from '../list-feeds';
import type { ExecutionService } from '../execution-service';
import type { HttpMetrics } from '../metrics';
import {
  alertConditionSchema,
  cancelSchema,
  createCheckpointSchema,
  deleteQuerySchema,
  inputSchema,
  listQuerySchema,
  pauseSchema,
  restoreSchema,
  retrySchema,
} from '../schemas';
import { readSubmission } from '../submission';
import { principalOf, requireScope } from '../middleware/authenticate';
import { route } from './route';

export interface ExecutionRoutesDeps {
  /** Acting for the caller of each request: `executions.for(principal)`. */
  executions: ExecutionService;
  /** The readers of watched executions, one each, shared by their live streams. */
  feeds: ExecutionFeeds;
  /** The readers of watched lists, one per tenant and query. */
  listFeeds: ListFeeds;
  metrics: HttpMetrics;
  config: Config;
  /** The multipart parser, `multipartBody()`. */
  multipart: RequestHandler;
}

/**
 * /executions: start, list, read (snapshot, artifacts, checkpoints, live events), control (cancel,
 * pause, resume, input, checkpoint, alerts), retry and restore.
 */
export function executionRoutes({
  executions,
  feeds,
  listFeeds,
  metrics,
  config,
  multipart,
}: ExecutionRoutesDeps): express.Router {
  const router = express.Router();
  const links = (id: string) => ({
    self: `/api/executions/${id}`,
    events: `/api/executions/${id}/events`,
    temporalUi: `${config.temporal.uiUrl}/namespaces/${encodeURIComponent(config.temporal.namespace)}/workflows/${encodeURIComponent(id)}`,
  });

  router.post(
    '/executions',
    requireScope('run'),
    multipart,
    route(async (req, res) => {
      const service = executions.for(principalOf(res));
      const submission = readSubmission(req, 'execution');
      const started = await service.submit(submission);
      if (started.created) metrics.executionStarted(submission.triggeredBy);
      res.status(202).json({
        id: started.id,
        status: started.status,
        ...(started.notify ? { notify: started.notify } : {}),
        links: links(started.id),
      });
    }),
  );

  router.get(
    '/executions',
    requireScope('read'),
    route(async (req, res) => {
      const service = executions.for(principalOf(res));
      const page = await service.list(listQuerySchema.parse(req.query));
      res.json({
        executions: page.executions.map((summary) => ({ ...summary, links: links(summary.id) })),
        nextPageToken: page.nextPageToken,
      });
    }),
  );

  // Before /executions/:id, which would take "stream" for an id.
  router.get(
    '/executions/stream',
    requireScope('read'),
    route(async (req, res) => {
      const principal = principalOf(res);
      const query = listQuerySchema.parse(req.query);
      const key = JSON.stringify([principal.operator ? '*' : principal.tenant, query]);
      const closed = metrics.streamOpened();
      try {
        await streamList(listFeeds, key, executions.for(principal), query, links, req, res);
      } finally {
        closed();
      }
    }),
  );

  router.get(
    '/executions/:id',
    requireScope('read'),
    route(async (req, res) => {
      const service = executions.for(principalOf(res));
      const id = String(req.params.id);
      const detail = await service.detail(id);
      res.json({ ...withUrls(detail, id), links: links(id) });
    }),
  );

  router.get(
    '/executions/:id/artifacts/*key',
    requireScope('read'),
    route(async (req, res) => {
      const service = executions.for(principalOf(res));
      const id = String(req.params.id);
      const key = ([] as string[]).concat(req.params.key as string | string[]).join('/');
      const { stream, size } = await service.artifact(id, key);
      res.type(contentTypeFor(key));
      res.setHeader('content-length', String(size));
      res.setHeader('x-content-type-options', 'nosniff');
      res.setHeader('content-disposition', `inline; filename="${key.split('/').pop()?.replace(/"/g, '') ?? 'file'}"`);
      stream.on('error', () => res.destroy()).pipe(res);
    }),
  );

  router.post(
    '/executions/:id/cancel',
    requireScope('run'),
    route(async (req, res) => {
      const service = executions.for(principalOf(res));
      const id = String(req.params.id);
      const body = cancelSchema.parse(req.body ?? {});
      await service.cancel(id, body.reason);
      // Cancelling completes in the workflow later; there is no new status to report yet.
      res.status(202).json({ id, accepted: true });
    }),
  );

  router.delete(
    '/executions/:id',
    requireScope('run'),
    route(async (req, res) => {
      const service = executions.for(principalOf(res));
      const id = String(req.params.id);
      const { force } = deleteQuerySchema.parse(req.query);
      const removed = await service.remove(id, force);
      // 200 once the history is gone; 202 while Temporal is still removing it.
      res.status(removed.historyDeleted ? 200 : 202).json({ id, ...removed });
    }),
  );

  router.post(
    '/executions/:id/pause',
    requireScope('run'),
    route(async (req, res) => {
      const service = executions.for(principalOf(res));
      const id = String(req.params.id);
      const status = await service.pause(id, pauseSchema.parse(req.body ?? {}).reason);
      res.status(202).json({ id, status });
    }),
  );

  router.post(
    '/executions/:id/resume',
    requireScope('run'),
    route(async (req, res) => {
      const service = executions.for(principalOf(res));
      const id = String(req.params.id);
      const status = await service.resume(id, pauseSchema.parse(req.body ?? {}).reason);
      res.status(202).json({ id, status });
    }),
  );

  router.post(
    '/executions/:id/input',
    requireScope('run'),
    route(async (req, res) => {
      const service = executions.for(principalOf(res));
      const id = String(req.params.id);
      const status = await service.answer(id, inputSchema.parse(req.body ?? {}));
      res.status(202).json({ id, status });
    }),
  );

  router.get(
    '/executions/:id/checkpoints',
    requireScope('read'),
    route(async (req, res) => {
      const service = executions.for(principalOf(res));
      const id = String(req.params.id);
      res.json(withUrls(await service.checkpoints(id), id));
    }),
  );

  router.post(
    '/executions/:id/checkpoints',
    requireScope('run'),
    route(async (req, res) => {
      const service = executions.for(principalOf(res));
      const id = String(req.params.id);
      createCheckpointSchema.parse(req.body ?? {});
      res.status(201).json(withUrls(await service.createCheckpoint(id), id));
    }),
  );

  router.get(
    '/executions/:id/alerts',
    requireScope('read'),
    route(async (req, res) => {
      const service = executions.for(principalOf(res));
      res.json({ alerts: await service.alerts(String(req.params.id)) });
    }),
  );

  router.post(
    '/executions/:id/alerts',
    requireScope('run'),
    route(async (req, res) => {
      const service = executions.for(principalOf(res));
      const { duration, ...rest } = alertConditionSchema.parse(req.body ?? {});
      const alert = await service.setAlert(String(req.params.id), {
        ...rest,
        ...(duration ? { durationMs: duration } : {}),
      });
      res.status(201).json(alert);
    }),
  );

  router.delete(
    '/executions/:id/alerts/:alertId',
    requireScope('run'),
    route(async (req, res) => {
      const service = executions.for(principalOf(res));
      const removed = await service.removeAlert(String(req.params.id), String(req.params.alertId));
      res.json({ removed: true, alert: removed });
    }),
  );

  router.post(
    '/executions/:id/restore',
    requireScope('run'),
    route(async (req, res) => {
      const service = executions.for(principalOf(res));
      const id = String(req.params.id);
      const body = restoreSchema.parse(req.body ?? {});
      const restored = await service.restore(id, body.checkpointId, body.code);
      res.status(202).json({ ...restored, checkpointId: body.checkpointId, status: 'queued', links: links(id) });
    }),
  );

  router.post(
    '/executions/:id/retry',
    requireScope('run'),
    route(async (req, res) => {
      const service = executions.for(principalOf(res));
      const parentId = String(req.params.id);
      const body = retrySchema.parse(req.body ?? {});
      const { id } = await service.retry(parentId, body.fromStep, body.code);
      metrics.executionStarted('api');
      res.status(202).json({ id, status: 'queued', parentId, links: links(id) });
    }),
  );

  router.get(
    '/executions/:id/events',
    requireScope('read'),
    route(async (req, res) => {
      const service = executions.for(principalOf(res));
      const id = String(req.params.id);
      const lastEventId = Number(req.header('last-event-id') ?? req.query.lastEventId ?? 0);
      const closed = metrics.streamOpened();
      try {
        await streamEvents(service, feeds, id, Number.isFinite(lastEventId) ? lastEventId : 0, req, res);
      } finally {
        closed();
      }
    }),
  );

  return router;
}

const isArtifactRef = (value: unknown): value is ArtifactRef =>
  typeof value === 'object' &&
  value !== null &&
  typeof (value as ArtifactRef).key === 'string' &&
  typeof (value as ArtifactRef).sha256 === 'string' &&
  typeof (value as ArtifactRef).size === 'number';

/** Adds a download `url` to every artifact reference in a snapshot. */
export function withUrls<T>(value: T, id: string): T {
  const visit = (node: unknown): unknown => {
    if (Array.isArray(node)) return node.map(visit);
    if (typeof node !== 'object' || node === null) return node;
    if (isArtifactRef(node)) return { ...node, url: `/api/executions/${id}/artifacts/${node.key}` };
    return Object.fromEntries(Object.entries(node).map(([key, child]) => [key, visit(child)]));
  };
  return visit(value) as T;
}
