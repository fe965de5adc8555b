import type { Client } from '@temporalio/client';
import express, { type NextFunction, type Request, type Response } from 'express';
import multer, { MulterError } from 'multer';
import type { Logger } from 'pino';
import type { ZodType } from 'zod';
import type { Config } from '../config';
import { contentTypeFor } from '../domain/file-names';
import type { ArtifactRef, ExecutionSnapshot } from '../domain/types';
import type { ArtifactStore } from '../storage/artifact-store';
import { errorHandler } from './error-handler';
import { requestId } from './middleware/request-id';
import { ExecutionService, type IncomingFile } from './execution-service';
import { badRequest, HttpError, notFound } from './http-error';
import { HttpMetrics } from './metrics';
import { streamEvents } from './events';
import {
  cancelSchema,
  createExecutionSchema,
  inputSchema,
  listQuerySchema,
  MAX_FILES,
  pauseSchema,
  retrySchema,
  syncTaskSchema,
} from './schemas';

export interface AppDeps {
  client: Client;
  store: ArtifactStore;
  config: Config;
  logger: Logger;
}

type Handler = (req: Request, res: Response) => Promise<void>;

/** Express 5 forwards rejected promises to the error handler; this keeps the types honest. */
const route = (handler: Handler) => (req: Request, res: Response, next: NextFunction) => handler(req, res).catch(next);

function parse<T>(schema: ZodType<T>, value: unknown): T {
  const parsed = schema.safeParse(value);
  if (!parsed.success) throw parsed.error;
  return parsed.data;
}

/** Reads a base64 `content` field strictly: Node's decoder silently skips bad characters. */
function decodeBase64(name: string, content: string): Buffer {
  const compact = content.replace(/\s+/g, '');
  if (!/^[A-Za-z0-9+/]*={0,2}$/.test(compact) || compact.length % 4 === 1) {
    throw new HttpError(422, 'INVALID_FILE_CONTENT', `The content of ${JSON.stringify(name)} is not valid base64.`);
  }
  return Buffer.from(compact, 'base64');
}

/** Multipart text fields that carry JSON (options, plan) arrive as strings. */
function jsonField(value: unknown, field: string): unknown {
  if (typeof value !== 'string') return value;
  try {
    return JSON.parse(value);
  } catch {
    throw badRequest(`The multipart field "${field}" is not valid JSON.`);
  }
}

/** The gateway: HTTP in front of the execution workflows. */
export function createApp(deps: AppDeps): express.Express {
  const { config, logger } = deps;
  const service = new ExecutionService(deps.client, deps.store, config);
  const metrics = new HttpMetrics();
  const app = express();
  app.disable('x-powered-by');
  app.set('trust proxy', false);

  // Base64 inflates files by a third; the per-file limit is checked again after decoding.
  const jsonLimit = Math.ceil(config.maxUploadBytes * 1.4) + 1024 * 1024;
  const multipart = multer({
    storage: multer.memoryStorage(),
    limits: { fileSize: config.maxUploadBytes, files: MAX_FILES, fields: 20, fieldSize: 1024 * 1024 },
  }).any();
  // A body the multipart parser cannot read (a boundary that does not match its header, a cut part) is
  // the caller's mistake: 400, not the parser's bare error.
  const upload = {
    any: () => (req: Request, res: Response, next: NextFunction) =>
      multipart(req, res, (error?: unknown) => {
        if (error === undefined || error === null || error instanceof MulterError) return next(error);
        const reason = error instanceof Error ? error.message : String(error);
        next(new HttpError(400, 'BAD_MULTIPART', `The multipart body could not be read: ${reason}.`));
      }),
  };

  app.use(requestId());
  app.use((req, res, next) => {
    const started = process.hrtime.bigint();
    res.on('finish', () => {
      const requestId = res.locals.requestId as string;
      const ms = Number(process.hrtime.bigint() - started) / 1e6;
      const routePath = (req.route as { path?: string } | undefined)?.path ?? 'unmatched';
      metrics.observe(req.method, routePath, res.statusCode, ms);
      logger.info({ requestId, method: req.method, url: req.originalUrl, status: res.statusCode, ms }, 'request');
    });
    next();
  });

  app.get(
    '/healthz',
    route(async (_req, res) => {
      const up = await temporalIsUp(deps.client);
      res.status(up ? 200 : 503).json({ ok: up, temporal: up ? 'up' : 'down' });
    }),
  );
  app.get('/metrics', (_req, res) => {
    res.type('text/plain; version=0.0.4').send(metrics.render());
  });

  const api = express.Router();
  api.use(authenticate(config.apiKeys));
  api.use(express.json({ limit: jsonLimit }));

  const links = (id: string) => ({
    self: `/api/executions/${id}`,
    events: `/api/executions/${id}/events`,
    temporalUi: `${config.temporal.uiUrl}/namespaces/${encodeURIComponent(config.temporal.namespace)}/workflows/${encodeURIComponent(id)}`,
  });

  /** Accepts the JSON body, or a multipart body with its files as parts. */
  const readSubmission = (req: Request, fileField: 'files' | 'data_files') => {
    const body = (req.body ?? {}) as Record<string, unknown>;
    const uploaded = (req.files as Express.Multer.File[] | undefined) ?? [];
    if (req.is('multipart/form-data')) {
      const fields: Record<string, unknown> = { ...body };
      for (const key of ['options', 'plan', fileField]) if (key in fields) fields[key] = jsonField(fields[key], key);
      return { fields, multipartFiles: uploaded.map((file) => ({ name: file.originalname, data: file.buffer })) };
    }
    if (!req.is('application/json')) {
      throw new HttpError(415, 'UNSUPPORTED_MEDIA_TYPE', 'Send application/json or multipart/form-data.');
    }
    return { fields: body, multipartFiles: [] as IncomingFile[] };
  };

  api.post(
    '/executions',
    upload.any(),
    route(async (req, res) => {
      const { fields, multipartFiles } = readSubmission(req, 'files');
      const body = parse(createExecutionSchema, fields);
      const files = [
        ...body.files.map((file) => ({ name: file.name, data: decodeBase64(file.name, file.content) })),
        ...multipartFiles,
      ];
      const started = await service.submit({
        task: body.task ?? null,
        code: body.code ?? null,
        plan: body.plan,
        files,
        options: body.options,
        triggeredBy: body.triggeredBy,
        idempotencyKey: idempotencyKey(req),
      });
      if (started.created) metrics.executionsSubmitted++;
      res.status(202).json({ id: started.id, status: started.status, links: links(started.id) });
    }),
  );

  api.get(
    '/executions',
    route(async (req, res) => {
      const query = parse(listQuerySchema, req.query);
      const page = await service.list(query);
      res.json({
        executions: page.executions.map((summary) => ({ ...summary, links: links(summary.id) })),
        nextPageToken: page.nextPageToken,
      });
    }),
  );

  api.get(
    '/executions/:id',
    route(async (req, res) => {
      const id = String(req.params.id);
      const snapshot = await service.get(id);
      res.json({ ...withUrls(snapshot, id), links: links(id) });
    }),
  );

  api.get(
    '/executions/:id/artifacts/*key',
    route(async (req, res) => {
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

  api.post(
    '/executions/:id/cancel',
    route(async (req, res) => {
      const id = String(req.params.id);
      const body = parse(cancelSchema, req.body ?? {});
      await service.cancel(id, body.reason);
      res.status(202).json({ id, accepted: true });
    }),
  );

  api.post(
    '/executions/:id/pause',
    route(async (req, res) => {
      const id = String(req.params.id);
      const status = await service.pause(id, parse(pauseSchema, req.body ?? {}).reason);
      res.status(202).json({ id, status });
    }),
  );

  api.post(
    '/executions/:id/resume',
    route(async (req, res) => {
      const id = String(req.params.id);
      const status = await service.resume(id, parse(pauseSchema, req.body ?? {}).reason);
      res.status(202).json({ id, status });
    }),
  );

  api.post(
    '/executions/:id/input',
    route(async (req, res) => {
      const id = String(req.params.id);
      const status = await service.answer(id, parse(inputSchema, req.body ?? {}));
      res.status(202).json({ id, status });
    }),
  );

  api.get(
    '/executions/:id/checkpoints',
    route(async (req, res) => {
      const id = String(req.params.id);
      res.json({ checkpoints: withUrls(await service.checkpoints(id), id) });
    }),
  );

  api.post(
    '/executions/:id/retry',
    route(async (req, res) => {
      const parentId = String(req.params.id);
      const body = parse(retrySchema, req.body ?? {});
      const { id } = await service.retry(parentId, body.fromStep, body.code);
      metrics.executionsSubmitted++;
      res.status(202).json({ id, status: 'queued', parentId, links: links(id) });
    }),
  );

  api.get(
    '/executions/:id/events',
    route(async (req, res) => {
      const id = String(req.params.id);
      const lastEventId = Number(req.header('last-event-id') ?? req.query.lastEventId ?? 0);
      await streamEvents(service, id, Number.isFinite(lastEventId) ? lastEventId : 0, req, res);
    }),
  );

  api.post(
    '/task/run/sync',
    upload.any(),
    route(async (req, res) => {
      const { fields, multipartFiles } = readSubmission(req, 'data_files');
      const body = parse(syncTaskSchema, fields);
      const files = [
        ...body.data_files.map((file) => ({ name: file.name, data: decodeBase64(file.name, file.content) })),
        ...multipartFiles,
      ];
      const started = await service.submit({
        task: body.task_description,
        code: null,
        plan: undefined,
        files,
        options: body.options ?? parse(createExecutionSchema, { task: body.task_description }).options,
        triggeredBy: 'api',
        idempotencyKey: idempotencyKey(req),
      });
      if (started.created) metrics.executionsSubmitted++;
      const snapshot = await service.waitForEnd(started.id);
      res.json(await syncResponse(service, snapshot));
    }),
  );

  app.use('/api', api);
  app.use((req, _res, next) => next(notFound(`no route for ${req.method} ${req.path}`)));
  app.use(errorHandler(logger));
  return app;
}

function idempotencyKey(req: Request): string | null {
  const key = req.header('idempotency-key');
  if (key === undefined || key.trim() === '') return null;
  if (key.length > 255) throw badRequest('The Idempotency-Key header is longer than 255 characters.');
  return key.trim();
}

function authenticate(keys: string[]) {
  return (req: Request, _res: Response, next: NextFunction) => {
    if (keys.length === 0) return next();
    const bearer = /^Bearer\s+(.+)$/i.exec(req.header('authorization') ?? '')?.[1];
    const key = bearer ?? req.header('x-api-key');
    if (key !== undefined && keys.includes(key.trim())) return next();
    next(new HttpError(401, 'UNAUTHORIZED', 'Send a valid API key as "Authorization: Bearer <key>".'));
  };
}

async function temporalIsUp(client: Client): Promise<boolean> {
  try {
    await client.connection.withDeadline(Date.now() + 2000, () => client.workflowService.getSystemInfo({}));
    return true;
  } catch {
    return false;
  }
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

/** The answer of the original single-call interface. */
async function syncResponse(service: ExecutionService, snapshot: ExecutionSnapshot) {
  const succeeded = snapshot.status === 'succeeded';
  const plots = await Promise.all(
    (snapshot.result?.outputs.plots ?? []).map(async (plot) =>
      (await service.read(snapshot.id, plot.key)).toString('base64'),
    ),
  );
  const logs = snapshot.steps
    .flatMap((step) => step.attempts.map((attempt) => attempt.stdout))
    .filter((text) => text !== '')
    .join('\n');
  return {
    executionId: snapshot.id,
    status: succeeded ? 'success' : 'error',
    success: succeeded,
    analysis: snapshot.result?.analysis ?? null,
    outputs: { plots, data: snapshot.result?.outputs.data ?? null },
    logs,
    attempts: snapshot.steps.flatMap((step) =>
      step.attempts.map((attempt) => ({
        stepId: step.id,
        n: attempt.n,
        author: attempt.author,
        status: attempt.status,
      })),
    ),
    error: succeeded ? null : (snapshot.error?.message ?? `execution ended ${snapshot.status}`),
    files: (snapshot.result?.files ?? []).map((file) => file.name),
  };
}
