import type { TaskStore } from '../db/tasks';
import type { TriggeredBy } from '../domain/status';
import { checkInputs, renderDescription } from '../domain/task-parameters';
import type { ScheduledRunRef } from '../domain/types';
import type { ArtifactStore } from '../storage/artifact-store';
import { HttpError, notFound } from '../api/http-error';
import { alertConditionSchema, optionsSchema } from '../api/schemas';

const alertListSchema = alertConditionSchema.array();
import type { IncomingFile, Submission } from './execution-input';

/** Where a named task's default files live in the artifact store. */
export const taskFilesHome = (tenant: string, slug: string) => `task-${tenant}.${slug}`;

/** What a run of a named task asks for, from a caller, an inbound hook or a schedule. */
export interface TaskRunRequest {
  inputs: Record<string, unknown>;
  files: IncomingFile[];
  options?: Record<string, unknown>;
  /** A version of the task; the latest when absent. */
  version?: number;
  triggeredBy: TriggeredBy;
  idempotencyKey: string | null;
  scheduled?: ScheduledRunRef;
}

/**
 * The submission a run of a named task makes: its inputs checked against the parameters (422
 * INVALID_INPUTS per field) and put into the task text, with the task's files (a run's file of the
 * same name replacing one) and its options under the run's.
 * @throws HttpError 404 when the task (or the version) does not exist, 422 for inputs that do not fit.
 */
export async function taskRunSubmission(
  { tasks, store }: { tasks: TaskStore; store: ArtifactStore },
  tenant: string,
  slug: string,
  request: TaskRunRequest,
): Promise<Submission> {
  const task = await tasks.get(tenant, slug, request.version);
  if (task === null) {
    throw notFound(`No task "${slug}"${request.version === undefined ? '' : ` at version ${request.version}`}.`);
  }
  const checked = checkInputs(task.parameters, request.inputs);
  if (!checked.ok) {
    throw new HttpError(
      422,
      'INVALID_INPUTS',
      checked.problems.map((problem) => `${problem.path} ${problem.message}`).join('; '),
      { issues: checked.problems },
    );
  }
  const { alerts: taskAlertsGiven, ...taskOptions } = task.options ?? {};
  const taskAlerts = taskAlertsGiven === undefined ? [] : alertListSchema.parse(taskAlertsGiven);
  const defaults: IncomingFile[] = [];
  for (const file of task.files) {
    if (request.files.some((given) => given.name === file.name)) continue;
    defaults.push({ name: file.name, data: await store.read(taskFilesHome(task.tenant, slug), file.key) });
  }
  return {
    task: renderDescription(task.description, checked.values),
    code: task.code,
    plan: task.plan ?? undefined,
    files: [...defaults, ...request.files],
    // The task's alerts are its runs' defaults, watched beside a run's own rather than replaced by them.
    options: optionsSchema.parse({ ...taskOptions, ...(request.options ?? {}) }),
    ...(taskAlerts.length > 0 ? { taskAlerts } : {}),
    triggeredBy: request.triggeredBy,
    idempotencyKey: request.idempotencyKey,
    namedTask: { slug, version: task.version },
    ...(request.scheduled ? { scheduled: request.scheduled } : {}),
  };
}
