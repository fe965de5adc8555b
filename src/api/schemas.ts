import { z } from 'zod';
import { OVERLAP_POLICIES } from '../db/schedules';
import { SUBSCRIPTION_EVENTS } from '../db/subscriptions';
import { MAX_ALERTS } from '../domain/alerts';
import { alertConditionSchema } from '../domain/alerts-schema';
import { MAX_CUSTOM_STRATEGIES } from '../domain/custom-recovery';
import { customStrategySchema } from '../domain/custom-recovery-schema';
import { recoveryPolicySchema } from '../domain/plan-schema';
import { PRIORITY_KEYS } from '../domain/resources';
import { SANDBOX_KINDS } from '../domain/sandbox-kinds';
import { TRIGGERS } from '../domain/status';
import { parametersSchema } from '../domain/task-parameters';
import { SCOPES, TENANT_ID } from '../domain/tenancy';

const MAX_TASK_CHARS = 20_000;
const MAX_CODE_CHARS = 200_000;
export const MAX_FILES = 50;

export const fileSchema = z.object({
  name: z.string(),
  content: z.string(),
});

/** Where events go: `options.notify` of one execution, and POST /api/subscriptions. */
const notifySchema = z
  .object({
    url: z.string().trim().min(1).max(2000),
    events: z
      .array(z.enum(SUBSCRIPTION_EVENTS))
      .min(1)
      .default([...SUBSCRIPTION_EVENTS]),
    secret: z.string().min(16).max(200).optional(),
  })
  .strict();

export const createSubscriptionSchema = notifySchema;

/** `options.resources`: what the sandbox runs get; checked against the deployment's maxima and backend on submission. */
const resourcesSchema = z
  .object({
    cpu: z.number().positive().max(1024).optional(),
    memoryMb: z.number().int().min(64).max(1_048_576).optional(),
    diskMb: z.number().int().min(1).max(1_048_576).optional(),
    timeoutMs: z
      .number()
      .int()
      .min(500)
      .max(24 * 3600 * 1000)
      .optional(),
    priority: z.number().int().min(PRIORITY_KEYS.highest).max(PRIORITY_KEYS.lowest).optional(),
  })
  .strict();

export { alertConditionSchema, type AlertConditionBody } from '../domain/alerts-schema';

export const optionsSchema = z
  .object({
    maxAttempts: z.number().int().min(1).max(10).default(3),
    timeoutMs: z
      .number()
      .int()
      .min(1000)
      .max(7 * 24 * 3600 * 1000)
      .default(600_000),
    stepTimeoutMs: z
      .number()
      .int()
      .min(500)
      .max(3600 * 1000)
      .default(120_000),
    requireApproval: z.boolean().default(false),
    budgetUsd: z.number().positive().nullable().default(null),
    sandbox: z.enum(SANDBOX_KINDS).optional(),
    model: z.string().min(1).max(200).optional(),
    /** A chain of models: the first is asked, the next ones in order when one cannot answer at all. */
    models: z.array(z.string().min(1).max(200)).min(1).max(5).optional(),
    onExhausted: z.enum(['fail', 'ask']).default('fail'),
    repair: z.boolean().default(false),
    recovery: recoveryPolicySchema.optional(),
    /** Strategies of this execution's own, consulted before `recovery`, its tenant's and the defaults. */
    recoveryStrategies: z
      .array(customStrategySchema)
      .max(MAX_CUSTOM_STRATEGIES)
      .refine((strategies) => new Set(strategies.map((strategy) => strategy.id)).size === strategies.length, {
        message: 'two strategies have the same id',
      })
      .optional(),
    inputTimeoutMs: z
      .number()
      .int()
      .min(1000)
      .max(30 * 24 * 3600 * 1000)
      .default(24 * 3600 * 1000),
    /** A webhook of this execution's own: its events go to `url`, signed with `secret` (made when absent). */
    notify: notifySchema.optional(),
    resources: resourcesSchema.optional(),
    /** Alert conditions the execution watches from its start (with its task's and its tenant's defaults). */
    alerts: z.array(alertConditionSchema).max(MAX_ALERTS).optional(),
  })
  .strict()
  .refine((options) => !options.model || !options.models || options.models[0] === options.model, {
    message: 'options.model, when given with options.models, must be the first of them',
    path: ['models'],
  });

/** What a caller may say started an execution; `schedule` and `webhook` are the service's own. */
const callerTrigger = z
  .enum(['api', 'user'], { error: 'only "api" or "user": "schedule" and "webhook" are set by the service itself' })
  .default('api');

/** Named tasks' slugs: short, lower-case, safe in URLs and visibility queries. */
export const TASK_SLUG = /^[a-z0-9][a-z0-9-]{0,63}$/;

export const createExecutionSchema = z
  .object({
    task: z.string().trim().min(1).max(MAX_TASK_CHARS).optional(),
    files: z.array(fileSchema).max(MAX_FILES).default([]),
    code: z.string().min(1).max(MAX_CODE_CHARS).optional(),
    plan: z.unknown().optional(),
    options: optionsSchema.default(() => optionsSchema.parse({})),
    triggeredBy: callerTrigger,
  })
  .strict()
  .refine((body) => body.task !== undefined || body.code !== undefined || body.plan !== undefined, {
    message: 'give a task, a plan or code',
    path: ['task'],
  });

export type CreateExecutionBody = z.infer<typeof createExecutionSchema>;

/** The original single-call interface. */
export const syncTaskSchema = z
  .object({
    task_description: z.string().trim().min(1).max(MAX_TASK_CHARS),
    data_files: z.array(fileSchema).max(MAX_FILES).default([]),
    options: optionsSchema.optional(),
    triggeredBy: callerTrigger,
  })
  .strict();

export const cancelSchema = z.object({ reason: z.string().max(1000).optional() }).strict();
export const pauseSchema = cancelSchema;

/** `DELETE /executions/:id?force=true`: terminate an active execution first. */
export const deleteQuerySchema = z
  .object({
    force: z
      .enum(['true', 'false'])
      .optional()
      .transform((value) => value === 'true'),
  })
  .strict();

export const inputSchema = z
  .object({ approve: z.boolean().optional(), input: z.unknown().optional() })
  .strict()
  .refine((body) => body.approve !== undefined || body.input !== undefined, {
    message: 'send "approve", "input" or both',
  });

export const listQuerySchema = z.object({
  status: z
    .enum([
      'queued',
      'starting',
      'running',
      'paused',
      'awaiting_input',
      'succeeded',
      'failed',
      'cancelled',
      'timed_out',
    ])
    .optional(),
  triggeredBy: z.enum(TRIGGERS).optional(),
  task: z.string().regex(TASK_SLUG, 'a task slug: lower-case letters, digits and "-"').optional(),
  /** Only the operator's key may pick a tenant; a tenant's key always lists its own. */
  tenant: z.string().regex(TENANT_ID, 'a tenant id: lower-case letters, digits and "-"').optional(),
  pageSize: z.coerce.number().int().min(1).max(100).default(20),
  nextPageToken: z.string().max(4096).optional(),
});

export const retrySchema = z
  .object({
    fromStep: z.string().min(1).max(64),
    code: z.string().min(1).max(MAX_CODE_CHARS).optional(),
  })
  .strict();

/** POST /executions/:id/restore. */
export const restoreSchema = z
  .object({
    checkpointId: z.string().min(1).max(64),
    code: z.string().min(1).max(MAX_CODE_CHARS).optional(),
  })
  .strict();

/** POST /executions/:id/checkpoints: nothing to send. */
export const createCheckpointSchema = z.object({}).strict();

export const createKeySchema = z
  .object({
    /** The operator names the tenant; a tenant's admin key may only name its own (or leave it out). */
    tenant: z.string().regex(TENANT_ID, 'a tenant id: lower-case letters, digits and "-"').optional(),
    name: z.string().trim().min(1).max(100),
    scopes: z.array(z.enum(SCOPES)).min(1),
    expiresAt: z.iso.datetime({ offset: true }).optional(),
  })
  .strict();

/** A named task as saved by POST /api/tasks (with `slug`) and PUT /api/tasks/:slug. */
export const taskDefinitionSchema = z
  .object({
    title: z.string().trim().min(1).max(200),
    description: z.string().trim().min(1).max(MAX_TASK_CHARS),
    parameters: parametersSchema.default({ type: 'object', properties: {}, required: [] }),
    code: z.string().min(1).max(MAX_CODE_CHARS).optional(),
    plan: z.unknown().optional(),
    options: optionsSchema.optional(),
    files: z.array(fileSchema).max(MAX_FILES).default([]),
  })
  .strict();

export const createTaskSchema = taskDefinitionSchema.extend({
  slug: z.string().regex(TASK_SLUG, 'a task slug: lower-case letters, digits and "-"'),
});

/** POST /api/tasks/:slug/runs. */
export const taskRunSchema = z
  .object({
    inputs: z.record(z.string(), z.unknown()).default({}),
    files: z.array(fileSchema).max(MAX_FILES).default([]),
    options: z.record(z.string(), z.unknown()).optional(),
    version: z.number().int().min(1).optional(),
    triggeredBy: callerTrigger,
  })
  .strict();

/** POST /api/tasks/:slug/hooks: how a delivery's JSON body maps onto the task's parameters. */
export const createHookSchema = z
  .object({
    /** `{parameter: "dotted.path.in.body"}`; without it, the body's fields by name. */
    mapping: z.record(z.string().regex(/^[A-Za-z_][A-Za-z0-9_]{0,63}$/), z.string().min(1).max(200)).optional(),
  })
  .strict();

/** "30s", "5m", "2h", "1d" or "500ms": a schedule's interval. */
const EVERY = /^(\d{1,9})\s*(ms|s|m|h|d)$/;

/** POST /api/tasks/:slug/schedules: `cron` or `every`, not both. */
export const createScheduleSchema = z
  .object({
    cron: z.string().trim().min(1).max(200).optional(),
    every: z.string().trim().regex(EVERY, 'an interval such as "30s", "5m", "2h" or "1d"').optional(),
    timezone: z.string().trim().min(1).max(64).default('UTC'),
    inputs: z.record(z.string(), z.unknown()).default({}),
    overlap: z.enum(OVERLAP_POLICIES).default('skip'),
    paused: z.boolean().default(false),
    note: z.string().max(500).optional(),
    /** The version every run uses; "latest" for the latest at each run. Default: the current one. */
    version: z.union([z.number().int().min(1), z.literal('latest')]).optional(),
  })
  .strict()
  .refine((body) => (body.cron === undefined) !== (body.every === undefined), {
    message: 'send either `cron` or `every`',
    path: ['cron'],
  });

/** PATCH /api/tasks/:slug/schedules/:id. */
export const updateScheduleSchema = z
  .object({ paused: z.boolean().optional(), note: z.string().max(500).optional() })
  .strict()
  .refine((body) => body.paused !== undefined || body.note !== undefined, {
    message: 'send `paused`, `note` or both',
    path: ['paused'],
  });

/** An interval of the schedule schema in milliseconds. */
export function everyMs(every: string): number {
  const [, amount, unit] = EVERY.exec(every) as RegExpExecArray;
  const unitMs = { ms: 1, s: 1000, m: 60_000, h: 3_600_000, d: 86_400_000 }[unit as 'ms' | 's' | 'm' | 'h' | 'd'];
  return Number(amount) * unitMs;
}
