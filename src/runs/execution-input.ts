import type { Config } from '../config';
import { MAX_ALERTS, type AlertCondition, type AlertSource } from '../domain/alerts';
import { fileNameProblem } from '../domain/file-names';
import { parsePlan } from '../domain/plan-schema';
import { pricesFor } from '../domain/pricing';
import { resourceProblems, type ResourceRequirement } from '../domain/resources';
import type { SandboxKind } from '../domain/sandbox-kinds';
import { MAX_CUSTOM_STRATEGIES, type CustomStrategy } from '../domain/custom-recovery';
import type { TaskKind, TriggeredBy } from '../domain/status';
import type { ExecutionInput, ExecutionOptions, NamedTaskRef, Plan, ScheduledRunRef } from '../domain/types';
import { HttpError, unprocessable } from '../api/http-error';
import type { AlertConditionBody, CreateExecutionBody } from '../api/schemas';

/** A file as it arrived, JSON (base64) or multipart, or a named task's default file. */
export interface IncomingFile {
  name: string;
  data: Buffer;
}

/** What a caller, a named task's run or a schedule asks to execute, before it is checked. */
export interface Submission {
  task: string | null;
  code: string | null;
  plan: unknown;
  files: IncomingFile[];
  options: CreateExecutionBody['options'];
  triggeredBy: TriggeredBy;
  idempotencyKey: string | null;
  /** The named task and version this run comes from. */
  namedTask?: NamedTaskRef;
  /** The schedule that started this run. */
  scheduled?: ScheduledRunRef;
  /** The recovery strategies the tenant registered, consulted after the submission's own. */
  tenantStrategies?: CustomStrategy[];
  /** The alert conditions of the named task this run comes from, watched after the run's own. */
  taskAlerts?: AlertConditionBody[];
  /** The tenant's default alert conditions, watched after the run's and its task's. */
  tenantAlerts?: AlertConditionBody[];
}

const NEEDS_MODEL = { variables: ['OPENAI_API_KEY', 'OPENAI_BASE_URL', 'LLM_MODEL'] };

/**
 * Checks a submission against what this deployment offers (sandboxes, a model, upload limits) and
 * turns it into the workflow's argument, without its files (they are stored next). The gateway
 * checks what callers send with it, and the worker what a schedule starts, so both refuse alike.
 * @throws HttpError 422 for what the deployment cannot run, 413 for a file past the limit.
 */
export function executionInputFrom(config: Config, submission: Submission, id: string): Omit<ExecutionInput, 'files'> {
  const { options } = submission;
  const sandbox = options.sandbox ?? config.sandbox.kind;
  if (!config.sandbox.available.includes(sandbox)) {
    throw unprocessable(
      'SANDBOX_NOT_AVAILABLE',
      `The ${sandbox} sandbox is not enabled here; available: ${config.sandbox.available.join(', ')} ` +
        '(SANDBOX, and E2B_API_KEY for e2b).',
    );
  }
  if (options.resources !== undefined) checkResources(options.resources, config, sandbox);
  let plan: Plan | null = null;
  if (submission.plan !== undefined && submission.plan !== null && submission.code !== null) {
    throw unprocessable('VALIDATION_FAILED', 'Send either `code` (run as the only step) or a `plan`, not both.');
  }
  if (submission.plan !== undefined && submission.plan !== null) {
    const checked = parsePlan(submission.plan);
    if (!checked.ok) throw unprocessable('INVALID_PLAN', 'The plan is not valid.', { problems: checked.problems });
    plan = checked.plan;
  }
  if (submission.code === null && !config.llm.configured) {
    throw unprocessable(
      'MODEL_NOT_CONFIGURED',
      'This task needs a language model and none is configured: set OPENAI_API_KEY (and OPENAI_BASE_URL for a ' +
        'server other than OpenAI) and LLM_MODEL, or send `code` to run.',
      NEEDS_MODEL,
    );
  }
  if (options.repair && !config.llm.configured) {
    throw unprocessable(
      'MODEL_NOT_CONFIGURED',
      '`options.repair` lets the model rewrite failed code, and no language model is configured: set ' +
        'OPENAI_API_KEY (and OPENAI_BASE_URL, LLM_MODEL), or leave `repair` out.',
      NEEDS_MODEL,
    );
  }
  const names = new Set<string>();
  for (const file of submission.files) {
    const problem = fileNameProblem(file.name);
    if (problem !== null) {
      throw unprocessable('INVALID_FILE_NAME', `The file name ${JSON.stringify(file.name)} ${problem}.`, {
        name: file.name,
      });
    }
    if (names.has(file.name)) {
      throw unprocessable('DUPLICATE_FILE_NAME', `Two files are named ${JSON.stringify(file.name)}.`);
    }
    names.add(file.name);
    if (file.data.length > config.maxUploadBytes) {
      throw new HttpError(
        413,
        'FILE_TOO_LARGE',
        `The file ${file.name} is larger than the limit of ${config.maxUploadBytes} bytes.`,
        { name: file.name, limit: config.maxUploadBytes },
      );
    }
  }
  const model = options.model ?? options.models?.[0] ?? config.llm.model;
  const fallbackModels = [...new Set(options.models ?? [])].filter((other) => other !== model);
  const executionOptions: ExecutionOptions = {
    maxAttempts: options.maxAttempts,
    timeoutMs: options.timeoutMs,
    stepTimeoutMs: options.stepTimeoutMs,
    requireApproval: options.requireApproval,
    budgetUsd: options.budgetUsd,
    sandbox,
    model,
    onExhausted: options.onExhausted,
    repair: options.repair,
    inputTimeoutMs: options.inputTimeoutMs,
    ...(options.recovery ? { recovery: options.recovery } : {}),
    ...(options.resources && Object.keys(options.resources).length > 0 ? { resources: options.resources } : {}),
    ...customRecoveryOf(options.recoveryStrategies ?? [], submission.tenantStrategies ?? []),
    ...alertsOf([
      ['execution', options.alerts ?? []],
      ['task', submission.taskAlerts ?? []],
      ['tenant', submission.tenantAlerts ?? []],
    ]),
    prices: pricesFor(model, config.prices.models, config.prices.sandboxPerSecond),
    ...(fallbackModels.length > 0
      ? {
          fallbackModels,
          fallbackPrices: Object.fromEntries(
            fallbackModels.map((other) => [
              other,
              pricesFor(other, config.prices.models, config.prices.sandboxPerSecond),
            ]),
          ),
        }
      : {}),
  };
  const kind: TaskKind = submission.code !== null ? 'code' : plan !== null ? 'plan' : 'task';
  return {
    executionId: id,
    task: submission.task,
    code: submission.code,
    plan,
    options: executionOptions,
    triggeredBy: submission.triggeredBy,
    kind,
    modelAvailable: config.llm.configured,
    createdAt: new Date().toISOString(),
    ...(submission.namedTask ? { namedTask: submission.namedTask } : {}),
    ...(submission.scheduled ? { scheduled: submission.scheduled } : {}),
    ...(config.maxRunningPerTenant > 0 ? { slots: { limit: config.maxRunningPerTenant } } : {}),
  };
}

/**
 * The strategies an execution consults first: its own in their order, then the tenant's it does not
 * override by id, at most MAX_CUSTOM_STRATEGIES of them.
 */
function customRecoveryOf(own: CustomStrategy[], tenant: CustomStrategy[]): { customRecovery?: CustomStrategy[] } {
  const ids = new Set(own.map((strategy) => strategy.id));
  const all = [...own, ...tenant.filter((strategy) => !ids.has(strategy.id))].slice(0, MAX_CUSTOM_STRATEGIES);
  return all.length > 0 ? { customRecovery: all } : {};
}

/**
 * The conditions an execution watches from its start, numbered `alert-1`, `alert-2`, … in order:
 * the run's own, its task's, its tenant's, at most MAX_ALERTS of them.
 */
function alertsOf(groups: Array<[AlertSource, AlertConditionBody[]]>): { alerts?: AlertCondition[] } {
  const all = groups
    .flatMap(([source, bodies]) => bodies.map((body) => ({ source, body })))
    .slice(0, MAX_ALERTS)
    .map(({ source, body }, index): AlertCondition => ({
      id: `alert-${index + 1}`,
      metric: body.metric,
      operator: body.operator,
      threshold: body.threshold,
      ...(body.duration ? { durationMs: body.duration } : {}),
      source,
    }));
  return all.length > 0 ? { alerts: all } : {};
}

/**
 * Refuses a resource requirement past the deployment's maxima (RESOURCE_LIMIT_EXCEEDED) or one the
 * chosen backend cannot apply (RESOURCE_NOT_SUPPORTED), naming every field at fault.
 */
function checkResources(requirement: ResourceRequirement, config: Config, sandbox: SandboxKind): void {
  const problems = resourceProblems(requirement, config.sandbox.maxima, sandbox);
  if (problems.length === 0) return;
  const code = problems.some((problem) => problem.reason === 'above_maximum')
    ? 'RESOURCE_LIMIT_EXCEEDED'
    : 'RESOURCE_NOT_SUPPORTED';
  throw unprocessable(code, `${problems.map((problem) => problem.message).join('; ')}.`, {
    problems,
    maxima: config.sandbox.maxima,
    sandbox,
  });
}
