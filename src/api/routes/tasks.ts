import express, { type Request } from 'express';
import { randomUUID } from 'node:crypto';
import type { TaskDefinition, TaskStore } from '../../db/tasks';
import { fileNameProblem } from '../../domain/file-names';
import { unknownPlaceholders } from '../../domain/task-parameters';
import type { Principal } from '../../domain/tenancy';
import type { ArtifactRef } from '../../domain/types';
import type { ArtifactStore } from '../../storage/artifact-store';
import type { Config } from '../../config';
import type { ExecutionService } from '../execution-service';
import type { ScheduleService } from '../schedule-service';
import { taskFilesHome, taskRunSubmission, type TaskRunRequest } from '../../runs/task-run';
import { HttpError, notFound, unprocessable } from '../http-error';
import type { HttpMetrics } from '../metrics';
import { principalOf, requireScope } from '../middleware/authenticate';
import { createTaskSchema, taskDefinitionSchema, taskRunSchema } from '../schemas';
import { decodeFile, idempotencyKey } from '../submission';
import { route } from './route';

export interface TaskRoutesDeps {
  tasks: TaskStore;
  store: ArtifactStore;
  executions: ExecutionService;
  metrics: HttpMetrics;
  config: Config;
  /** A deleted task's schedules are deleted with it. */
  schedules: ScheduleService;
}

/**
 * /tasks: named tasks of the caller's tenant, each save a new version; `POST /tasks/:slug/runs`
 * starts an execution of one, its parameters checked and put into the task text.
 */
export function taskRoutes({ tasks, store, executions, metrics, config, schedules }: TaskRoutesDeps): express.Router {
  const router = express.Router();
  const tenantOf = (principal: Principal) => principal.tenant;
  const runDeps = { tasks, store, executions, metrics };

  /** Checks a definition beyond its shape, and stores its files. */
  const definitionFrom = async (
    principal: Principal,
    slug: string,
    body: ReturnType<typeof taskDefinitionSchema.parse>,
  ): Promise<TaskDefinition> => {
    const unknown = unknownPlaceholders(body.description, body.parameters);
    if (unknown.length > 0) {
      throw unprocessable(
        'VALIDATION_FAILED',
        `description: the placeholder(s) ${unknown.map((name) => `{{${name}}}`).join(', ')} name no parameter`,
      );
    }
    if (body.code !== undefined && body.plan !== undefined) {
      throw unprocessable('VALIDATION_FAILED', 'Send either `code` (run as the only step) or a `plan`, not both.');
    }
    const files: ArtifactRef[] = [];
    const names = new Set<string>();
    const scope = randomUUID();
    for (const file of body.files.map(decodeFile)) {
      const problem = fileNameProblem(file.name);
      if (problem !== null)
        throw unprocessable('INVALID_FILE_NAME', `The file name ${JSON.stringify(file.name)} ${problem}.`);
      if (names.has(file.name))
        throw unprocessable('DUPLICATE_FILE_NAME', `Two files are named ${JSON.stringify(file.name)}.`);
      if (file.data.length > config.maxUploadBytes) {
        throw new HttpError(413, 'FILE_TOO_LARGE', `The file ${file.name} is larger than the limit.`);
      }
      names.add(file.name);
      files.push(await store.put(taskFilesHome(tenantOf(principal), slug), scope, file.name, file.data));
    }
    return {
      title: body.title,
      description: body.description,
      parameters: body.parameters,
      code: body.code ?? null,
      plan: body.plan ?? null,
      options: body.options ?? null,
      files,
    };
  };

  const shown = (task: NonNullable<Awaited<ReturnType<TaskStore['get']>>>) => {
    const { tenant: _tenant, ...rest } = task;
    return {
      ...rest,
      files: task.files.map(({ name, size, sha256, contentType }) => ({ name, size, sha256, contentType })),
    };
  };

  router.post(
    '/tasks',
    requireScope('run'),
    route(async (req, res) => {
      const principal = principalOf(res);
      const body = createTaskSchema.parse(req.body ?? {});
      const saved = await tasks.save(
        tenantOf(principal),
        body.slug,
        await definitionFrom(principal, body.slug, body),
        true,
      );
      if (saved === null)
        throw new HttpError(
          409,
          'TASK_EXISTS',
          `A task "${body.slug}" exists: PUT /api/tasks/${body.slug} saves a new version.`,
        );
      res.status(201).json(shown(saved));
    }),
  );

  router.get(
    '/tasks',
    requireScope('read'),
    route(async (_req, res) => {
      res.json({ tasks: (await tasks.list(tenantOf(principalOf(res)))).map(shown) });
    }),
  );

  router.get(
    '/tasks/:slug',
    requireScope('read'),
    route(async (req, res) => {
      const tenant = tenantOf(principalOf(res));
      const slug = String(req.params.slug);
      const version = versionParam(req);
      const task = await tasks.get(tenant, slug, version);
      if (task === null) throw notFound(`No task "${slug}"${version === undefined ? '' : ` at version ${version}`}.`);
      res.json({ ...shown(task), versions: await tasks.versions(tenant, slug) });
    }),
  );

  router.put(
    '/tasks/:slug',
    requireScope('run'),
    route(async (req, res) => {
      const principal = principalOf(res);
      const slug = String(req.params.slug);
      const body = taskDefinitionSchema.parse(req.body ?? {});
      const saved = await tasks.save(tenantOf(principal), slug, await definitionFrom(principal, slug, body), false);
      if (saved === null) throw notFound(`No task "${slug}": POST /api/tasks creates it.`);
      res.json(shown(saved));
    }),
  );

  router.delete(
    '/tasks/:slug',
    requireScope('run'),
    route(async (req, res) => {
      const slug = String(req.params.slug);
      const tenant = tenantOf(principalOf(res));
      if ((await tasks.get(tenant, slug)) === null) throw notFound(`No task "${slug}".`);
      await schedules.deleteAllOf(tenant, slug);
      if (!(await tasks.delete(tenant, slug))) throw notFound(`No task "${slug}".`);
      res.status(204).end();
    }),
  );

  router.post(
    '/tasks/:slug/runs',
    requireScope('run'),
    route(async (req, res) => {
      const body = taskRunSchema.parse(req.body ?? {});
      const started = await startTaskRun(runDeps, principalOf(res), String(req.params.slug), {
        ...body,
        files: body.files.map(decodeFile),
        idempotencyKey: idempotencyKey(req),
      });
      res.status(202).json(started);
    }),
  );

  return router;
}

/**
 * Starts a run of a named task for `principal` (see `taskRunSubmission` for what is checked) and
 * answers what the caller gets back.
 */
export async function startTaskRun(
  { tasks, store, executions, metrics }: Pick<TaskRoutesDeps, 'tasks' | 'store' | 'executions' | 'metrics'>,
  principal: Principal,
  slug: string,
  request: TaskRunRequest,
) {
  const submission = await taskRunSubmission({ tasks, store }, principal.tenant, slug, request);
  const started = await executions.for(principal).submit(submission);
  if (started.created) metrics.executionStarted(submission.triggeredBy);
  return {
    id: started.id,
    status: started.status,
    task: submission.namedTask,
    links: { self: `/api/executions/${started.id}`, events: `/api/executions/${started.id}/events` },
  };
}

function versionParam(req: Request): number | undefined {
  if (req.query.version === undefined) return undefined;
  const version = Number(req.query.version);
  if (!Number.isInteger(version) || version < 1)
    throw unprocessable('VALIDATION_FAILED', 'version: a whole number from 1');
  return version;
}
