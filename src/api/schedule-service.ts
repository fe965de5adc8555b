import {
  ScheduleNotFoundError,
  ScheduleOverlapPolicy,
  type Client,
  type ScheduleDescription,
  type ScheduleOptions,
} from '@temporalio/client';
import type { Config } from '../config';
import { ScheduleStore, type OverlapPolicy, type ScheduleRecord, type ScheduleSpec } from '../db/schedules';
import type { TaskStore } from '../db/tasks';
import type { ExecutionInput, ScheduledRunRef } from '../domain/types';
import { executionInputFrom } from '../runs/execution-input';
import { taskRunSubmission } from '../runs/task-run';
import type { ArtifactStore } from '../storage/artifact-store';
import {
  WORKFLOW_TYPE,
  executionStatusKey,
  taskKindKey,
  taskSlugKey,
  tenantKey,
  triggeredByKey,
} from '../workflows/messages';
import { HttpError, notFound, unprocessable } from './http-error';
import { everyMs, type createScheduleSchema } from './schemas';
import type { z } from 'zod';

type CreateSchedule = z.infer<typeof createScheduleSchema>;

const OVERLAP: Record<OverlapPolicy, ScheduleOverlapPolicy> = {
  skip: ScheduleOverlapPolicy.SKIP,
  buffer_one: ScheduleOverlapPolicy.BUFFER_ONE,
  allow_all: ScheduleOverlapPolicy.ALLOW_ALL,
  cancel_other: ScheduleOverlapPolicy.CANCEL_OTHER,
};
const MIN_INTERVAL_MS = 1000;
const MEMO_TASK_CHARS = 500;
const RECENT_RUNS = 10;

/** A schedule as the gateway shows it: its record, and what Temporal says of it now. */
export interface ScheduleView {
  id: string;
  task: { slug: string; version: number | 'latest' };
  inputs: Record<string, unknown>;
  spec: ScheduleSpec;
  overlap: OverlapPolicy;
  paused: boolean;
  note: string | null;
  nextRuns: string[];
  recentRuns: Array<{ executionId: string; scheduledAt: string; startedAt: string }>;
  createdAt: string;
}

/**
 * Schedules of named tasks, as Temporal Schedules: each run starts the execution workflow with a
 * reference to the task, which the run resolves in its first step. The database says whose a
 * schedule is; Temporal runs it, and shows it on the Web UI's Schedules page.
 */
export class ScheduleService {
  constructor(
    private readonly deps: {
      client: Client;
      schedules: ScheduleStore;
      tasks: TaskStore;
      store: ArtifactStore;
      config: Config;
    },
  ) {}

  /**
   * Creates a schedule of `slug` for `tenant`: its inputs are checked now, as a run would check
   * them (422), and the timing by Temporal (422 for a cron expression it does not take).
   */
  async create(tenant: string, slug: string, body: CreateSchedule): Promise<ScheduleView> {
    const { client, schedules, tasks, store, config } = this.deps;
    const task = await tasks.get(tenant, slug);
    if (task === null) throw notFound(`No task "${slug}".`);
    if (typeof body.version === 'number' && (await tasks.get(tenant, slug, body.version)) === null) {
      throw notFound(`No task "${slug}" at version ${body.version}.`);
    }
    checkTimezone(body.timezone);
    if (body.every !== undefined && everyMs(body.every) < MIN_INTERVAL_MS) {
      throw unprocessable('VALIDATION_FAILED', `every: at least ${MIN_INTERVAL_MS / 1000} second`);
    }
    const id = ScheduleStore.newId();
    const version = body.version ?? task.version;
    const scheduled: ScheduledRunRef = { scheduleId: id, tenant, slug, version, inputs: body.inputs };
    // The run resolves the task again; this checks it now and is what the run shows until then.
    const submission = await taskRunSubmission({ tasks, store }, tenant, slug, {
      inputs: body.inputs,
      files: [],
      version: version === 'latest' ? undefined : version,
      triggeredBy: 'schedule',
      idempotencyKey: null,
      scheduled,
    });
    const { executionId: _placeholder, ...argument } = executionInputFrom(config, { ...submission, files: [] }, id);
    const spec: ScheduleSpec =
      body.cron !== undefined
        ? { cron: body.cron, timezone: body.timezone }
        : { every: body.every!, timezone: body.timezone };
    const record = await schedules.create({
      id,
      tenant,
      slug,
      version,
      inputs: body.inputs,
      spec,
      overlap: body.overlap,
    });
    try {
      await client.schedule.create(this.options(record, { ...argument, files: [], tenant }, body.paused, body.note));
    } catch (error) {
      await schedules.delete(tenant, id);
      if (isInvalidArgument(error)) {
        throw unprocessable('INVALID_SCHEDULE', `Temporal refused the schedule: ${messageOf(error)}`);
      }
      throw error;
    }
    return this.view(record);
  }

  async list(tenant: string, slug: string): Promise<ScheduleView[]> {
    const records = await this.deps.schedules.list(tenant, slug);
    return Promise.all(records.map((record) => this.view(record)));
  }

  async get(tenant: string, slug: string, id: string): Promise<ScheduleView> {
    return this.view(await this.recordOf(tenant, slug, id));
  }

  /** Pauses or unpauses a schedule, or changes its note. */
  async update(tenant: string, slug: string, id: string, change: { paused?: boolean; note?: string }) {
    const record = await this.recordOf(tenant, slug, id);
    const handle = this.deps.client.schedule.getHandle(id);
    if (change.paused === true) await handle.pause(change.note ?? 'paused through the API');
    else if (change.paused === false) await handle.unpause(change.note ?? 'unpaused through the API');
    else {
      await handle.update((previous) => ({ ...previous, state: { ...previous.state, note: change.note } }));
    }
    return this.view(record);
  }

  /** Starts a run now, under the schedule's overlap policy. */
  async trigger(tenant: string, slug: string, id: string): Promise<void> {
    await this.recordOf(tenant, slug, id);
    await this.deps.client.schedule.getHandle(id).trigger();
  }

  /** Deletes the schedule; the runs it started are left as they are. */
  async delete(tenant: string, slug: string, id: string): Promise<void> {
    await this.recordOf(tenant, slug, id);
    await this.deleteSchedule(tenant, id);
  }

  /** Deletes every schedule of a task (the task is being deleted). */
  async deleteAllOf(tenant: string, slug: string): Promise<void> {
    for (const record of await this.deps.schedules.list(tenant, slug)) await this.deleteSchedule(tenant, record.id);
  }

  private async deleteSchedule(tenant: string, id: string): Promise<void> {
    try {
      await this.deps.client.schedule.getHandle(id).delete();
    } catch (error) {
      if (!(error instanceof ScheduleNotFoundError)) throw error;
    }
    await this.deps.schedules.delete(tenant, id);
  }

  private async recordOf(tenant: string, slug: string, id: string): Promise<ScheduleRecord> {
    const record = await this.deps.schedules.get(tenant, id);
    if (record === null || record.slug !== slug) throw notFound(`No schedule ${id} of task "${slug}".`);
    return record;
  }

  private options(
    record: ScheduleRecord,
    argument: Omit<ExecutionInput, 'executionId'>,
    paused: boolean,
    note: string | undefined,
  ): ScheduleOptions {
    const { config } = this.deps;
    const { spec } = record;
    return {
      scheduleId: record.id,
      spec:
        'cron' in spec
          ? { cronExpressions: [spec.cron], timezone: spec.timezone }
          : { intervals: [{ every: everyMs(spec.every) }], timezone: spec.timezone },
      action: {
        type: 'startWorkflow',
        workflowType: WORKFLOW_TYPE,
        taskQueue: config.temporal.taskQueue,
        // Temporal adds the time of each run to this id.
        workflowId: record.id,
        args: [argument],
        memo: {
          task: argument.task === null ? null : argument.task.slice(0, MEMO_TASK_CHARS),
          kind: argument.kind,
          triggeredBy: 'schedule',
          tenant: record.tenant,
          parentId: null,
        },
        typedSearchAttributes: [
          { key: executionStatusKey, value: 'queued' },
          { key: triggeredByKey, value: 'schedule' },
          { key: taskKindKey, value: argument.kind },
          { key: tenantKey, value: record.tenant },
          { key: taskSlugKey, value: record.slug },
        ],
      },
      policies: { overlap: OVERLAP[record.overlap], catchupWindow: '1 minute' },
      state: { paused, ...(note === undefined ? {} : { note }) },
    };
  }

  private async view(record: ScheduleRecord): Promise<ScheduleView> {
    let description: ScheduleDescription | null = null;
    try {
      description = await this.deps.client.schedule.getHandle(record.id).describe();
    } catch (error) {
      if (!(error instanceof ScheduleNotFoundError)) throw error;
    }
    if (description === null) {
      throw new HttpError(
        409,
        'SCHEDULE_MISSING',
        `Temporal has no schedule ${record.id} any more (deleted outside the service?): DELETE it here to forget it.`,
      );
    }
    return {
      id: record.id,
      task: { slug: record.slug, version: record.version },
      inputs: record.inputs,
      spec: record.spec,
      overlap: record.overlap,
      paused: description.state.paused,
      note: description.state.note || null,
      nextRuns: description.info.nextActionTimes.map((time) => time.toISOString()),
      recentRuns: description.info.recentActions.slice(-RECENT_RUNS).map((run) => ({
        executionId: run.action.workflow.workflowId,
        scheduledAt: run.scheduledAt.toISOString(),
        startedAt: run.takenAt.toISOString(),
      })),
      createdAt: record.createdAt,
    };
  }
}

function checkTimezone(timezone: string): void {
  try {
    new Intl.DateTimeFormat('en', { timeZone: timezone });
  } catch {
    throw unprocessable(
      'VALIDATION_FAILED',
      `timezone: "${timezone}" is not an IANA time zone (such as "Europe/Paris")`,
    );
  }
}

/**
 * Whether Temporal refused the schedule's timing: the SDK checks a cron string's shape itself (a
 * TypeError), the server the rest (gRPC status 3, INVALID_ARGUMENT, possibly as a ServiceError's cause).
 */
function isInvalidArgument(error: unknown): boolean {
  if (error instanceof TypeError) return true;
  const code = (value: unknown) =>
    typeof value === 'object' && value !== null ? (value as { code?: unknown }).code : null;
  return code(error) === 3 || code((error as { cause?: unknown } | null)?.cause) === 3;
}

function messageOf(error: unknown): string {
  const text = error instanceof Error ? error.message : String(error);
  return text.replace(/^\d+ [A-Z_]+: /, '');
}
