import { SpanStatusCode } from '@opentelemetry/api';
import { Context, ApplicationFailure } from '@temporalio/activity';
import { randomUUID } from 'node:crypto';
import { createReadStream } from 'node:fs';
import { mkdir, mkdtemp, rm } from 'node:fs/promises';
import path from 'node:path';
import { buffer } from 'node:stream/consumers';
import { clip } from '../domain/clip';
import { ErrorType } from '../domain/errors';
import { relativePathProblem } from '../domain/file-names';
import { parsePlan, planReplySchema } from '../domain/plan-schema';
import type { SandboxKind } from '../domain/sandbox-kinds';
import type { ArtifactRef, ExecuteOutcome, ModelCall, Plan, PlanStep, RunResult, TokenUsage } from '../domain/types';
import type { LlmClient } from '../llm/llm-client';
import {
  analysisPrompt,
  codePrompt,
  extractCode,
  extractJson,
  planPrompt,
  planRetryPrompt,
  type FilePreview,
  type PreviousAttempt,
} from '../llm/prompts';
import type { Sandbox, SandboxExecution, SandboxInputFile, SandboxRunRequest } from '../sandbox/types';
import { sandboxFailure, sandboxOf } from './sandbox-failures';
import { ArtifactNotFoundError, type ArtifactStore } from '../storage/artifact-store';
import { tracer } from '../telemetry';
import { alertSampleSignal, type LiveOutput } from '../workflows/messages';
import type { AlertCondition } from '../domain/alerts';
import { SampledAlerts } from './alert-samples';
import type { CodeValidator, ValidationReport } from './code-validator';
import { createDeliveryActivities, type DeliveryDeps } from './deliveries';
import { createProfileActivities, profileTexts } from './data-profile';
import { askModel, type Question } from './model-calls';
import { SandboxModules } from './sandbox-modules';
import { createSlotActivities } from './slots';
import { createTaskRunActivities, type TaskRunDeps } from './task-runs';
import { createRetentionActivities, type RetentionDeps } from './retention';
import type { WorkerMetrics } from './worker-metrics';

/** What the activities need from the world; tests hand in real fakes. */
export interface ActivityDeps {
  llm: LlmClient | null;
  sandboxes: Partial<Record<SandboxKind, Sandbox>>;
  store: ArtifactStore;
  /** Parses (never runs) generated code with the host's python. */
  validator: CodeValidator;
  /** What each sandbox's Python has installed, for the validator (made here when not given). */
  modules?: SandboxModules;
  /** Host folder for per-run scratch space. */
  workRoot: string;
  /** The service's database and settings, for runs that resolve a named task (schedules). */
  runs: TaskRunDeps;
  /** Subscriptions and how to reach their receivers, for outgoing webhooks. */
  deliveries: DeliveryDeps;
  /** The worker's metrics of its sandbox runs and code checks, when it serves them. */
  metrics?: WorkerMetrics;
  /** What the retention schedule's runs need; without it they remove nothing. */
  retention?: RetentionDeps;
}

/** Text kept in history per attempt; the rest is cut with a marker. */
export const MAX_STDOUT_CHARS = 8 * 1024;
export const MAX_STDERR_CHARS = 4 * 1024;
const PREVIEW_BYTES = 2048;
const PREVIEW_LINES = 8;
const HEARTBEAT_MS = 500;
const LIVE_TAIL_CHARS = 4096;

/** The models a call may use: the one to ask first, then the execution's others in order. */
interface ModelChoice {
  model: string;
  /** Asked in order when `model` cannot answer at all (unknown, refused, context too small). */
  fallbackModels?: string[];
}

/** What every model activity returns beside its answer: for the metrics and the timeline. */
export interface ModelOutcome {
  usage: TokenUsage;
  /** Each answered call. Absent in results of workers from before it existed. */
  calls?: ModelCall[];
  /** What the timeline should say about the calls (a format refused, a shorter prompt, another model). */
  notes?: string[];
}

export interface PlanInput extends ModelChoice {
  executionId: string;
  task: string;
  files: ArtifactRef[];
  /** The profile of the uploaded files, when the sandbox made one: what the prompt quotes of them. */
  profile?: ArtifactRef;
}

export interface GenerateCodeInput extends ModelChoice {
  executionId: string;
  task: string | null;
  plan: Plan;
  step: PlanStep;
  files: ArtifactRef[];
  profile?: ArtifactRef;
  previousAttempts: PreviousAttempt[];
  /** A person's hints, newest last. */
  hints?: string[];
}

export interface ExecuteCodeInput {
  executionId: string;
  stepId: string;
  attempt: number;
  code: string;
  files: ArtifactRef[];
  timeoutMs: number;
  sandbox: SandboxKind;
  /** Lower limits than the backend's own, from `options.resources` (the gateway refused what it cannot apply). */
  limits?: { memoryMb?: number; diskMb?: number };
  /**
   * The run of the execution, from its second (a restore) on: its files go under `runs/<run>/`, so
   * that they never replace the files of an earlier run's attempt of the same number.
   */
  run?: number;
  /**
   * The execution's conditions on what the run uses (`cpu_usage`, `memory_bytes`): evaluated on the
   * run's samples here, their transitions sent to the workflow as the `alertSample` signal.
   */
  alerts?: AlertCondition[];
}

export interface AnalyzeInput extends ModelChoice {
  executionId: string;
  task: string;
  plan: Plan;
  outcome: 'succeeded' | 'failed';
  stdout: string;
  results: string[];
  files: string[];
  error: string | null;
}

/** Builds the activities with their dependencies. */
export function createActivities(deps: ActivityDeps) {
  const { validator } = deps;
  const modules = deps.modules ?? new SandboxModules(deps.sandboxes, deps.workRoot);
  const requireLlm = (): LlmClient => {
    if (deps.llm) return deps.llm;
    throw ApplicationFailure.nonRetryable(
      'No language model is configured: set OPENAI_API_KEY or OPENAI_BASE_URL (and LLM_MODEL) for the worker.',
      ErrorType.MODEL_NOT_CONFIGURED,
    );
  };

  const unknownModels = new Set<string>();
  const ask = (question: Omit<Question, 'models'>, choice: ModelChoice) =>
    askModel(
      requireLlm(),
      {
        ...question,
        models: [choice.model, ...(choice.fallbackModels ?? []).filter((model) => model !== choice.model)],
      },
      unknownModels,
    );

  const previews = async (executionId: string, files: ArtifactRef[], profile?: ArtifactRef): Promise<FilePreview[]> => {
    const profiled = await profileTexts(deps.store, executionId, profile);
    return Promise.all(
      files.map(async (file) => {
        const text = profiled.get(file.name);
        return {
          name: file.name,
          size: file.size,
          preview: text === undefined ? await previewOf(deps.store, executionId, file) : '',
          ...(text === undefined ? {} : { profile: text }),
        };
      }),
    );
  };

  return {
    ...createTaskRunActivities(deps.runs),
    ...createDeliveryActivities(deps.deliveries),
    ...createSlotActivities(),
    ...createRetentionActivities(deps.retention ?? { store: deps.store, days: 0, client: null }),
    ...createProfileActivities(deps),
    /**
     * Turns the task into a plan of steps, asked for as a structured output. An answer that is not
     * a valid plan is asked for once more, with what is wrong with it, before the attempt fails.
     */
    async plan(input: PlanInput): Promise<{ plan: Plan } & ModelOutcome> {
      const files = await previews(input.executionId, input.files, input.profile);
      const prompt = planPrompt(input.task, files);
      const question = {
        purpose: 'plan' as const,
        schema: { name: 'plan', zod: planReplySchema },
        shorter: () => planPrompt(input.task, files, { brief: true }),
      };
      const first = await ask({ ...question, prompt }, input);
      let checked = readPlan(first.text);
      if (checked.ok) return { plan: checked.plan, ...outcomeOf([first]) };
      const second = await ask({ ...question, prompt: planRetryPrompt(prompt, first.text, checked.problems) }, input);
      checked = readPlan(second.text);
      if (checked.ok) return { plan: checked.plan, ...outcomeOf([first, second]) };
      throw ApplicationFailure.retryable(
        `The model's plan is not valid: ${checked.problems.join('; ')}`,
        ErrorType.LLM_BAD_OUTPUT,
      );
    },

    /**
     * Writes Python for one step, with earlier failed attempts and their errors as context; the
     * answer streams into heartbeats for the live view.
     */
    async generateCode(input: GenerateCodeInput): Promise<{ code: string } & ModelOutcome> {
      const codeInput = {
        task: input.task,
        plan: input.plan,
        step: input.step,
        files: await previews(input.executionId, input.files, input.profile),
        previousAttempts: input.previousAttempts,
        hints: input.hints ?? [],
      };
      const answer = await ask(
        {
          purpose: 'code',
          prompt: codePrompt(codeInput),
          shorter: () => codePrompt(codeInput, { brief: true }),
          live: { stepId: input.step.id, phase: 'generating' },
        },
        input,
      );
      const code = extractCode(answer.text);
      if (code === '') throw ApplicationFailure.retryable('The model answered without code.', ErrorType.LLM_BAD_OUTPUT);
      return { code, ...outcomeOf([answer]) };
    },

    /**
     * Refuses code that cannot run: syntax errors, forbidden imports, imports of modules the
     * sandbox does not have, paths outside the workspace.
     */
    async validateCode(input: { code: string; sandbox?: SandboxKind }): Promise<ValidationReport> {
      const installed = input.sandbox === undefined ? null : await modules.get(input.sandbox);
      const report = await validator.validate(input.code, installed ?? undefined);
      if (!report.ok) deps.metrics?.refused(input.sandbox ?? 'local');
      return report;
    },

    /** Runs code in a sandbox; a Python error is a result, not a thrown failure. */
    async executeCode(input: ExecuteCodeInput): Promise<ExecuteOutcome> {
      const sandbox = sandboxOf(deps.sandboxes, input.sandbox);
      const context = Context.current();
      const inputs = await Promise.all(
        input.files.map(async (file): Promise<SandboxInputFile> => {
          if ((await deps.store.stat(input.executionId, file.key)) === null) {
            throw ApplicationFailure.nonRetryable(`Input file ${file.name} is missing.`, ErrorType.ARTIFACT_MISSING);
          }
          return { name: file.name, open: () => deps.store.readStream(input.executionId, file.key) };
        }),
      );
      await mkdir(deps.workRoot, { recursive: true });
      const outputDir = await mkdtemp(path.join(deps.workRoot, 'out-'));
      // Heartbeats carry the tail of the output, so the gateway can show a running step live, and the
      // id of a remote sandbox, so that a retry of this activity can kill what an earlier try left.
      const earlier = context.info.heartbeatDetails as { sandboxId?: unknown } | undefined;
      const reconnectSandboxId = typeof earlier?.sandboxId === 'string' ? earlier.sandboxId : undefined;
      let sandboxId = reconnectSandboxId;
      let stdoutChars = 0;
      let tail = '';
      const beat = () => {
        const details: LiveOutput = { stepId: input.stepId, attempt: input.attempt, stdoutChars, tail, sandboxId };
        context.heartbeat(details);
      };
      const heartbeat = setInterval(beat, HEARTBEAT_MS);
      const began = Date.now();
      const sampled =
        input.alerts && input.alerts.length > 0
          ? new SampledAlerts(
              input.alerts,
              (transitions) =>
                context.client.workflow
                  .getHandle(input.executionId)
                  .signal(alertSampleSignal, { stepId: input.stepId, attempt: input.attempt, transitions }),
              (message, error) => context.log.warn(message, { error: String(error) }),
              began,
            )
          : null;
      try {
        beat();
        let execution: SandboxExecution;
        const span = tracer().startSpan('sandbox run', {
          attributes: {
            'sandbox.backend': sandbox.kind,
            'execution.id': input.executionId,
            'step.id': input.stepId,
            'step.attempt': input.attempt,
          },
        });
        try {
          execution = await sandbox.run({
            runId: `${input.executionId}-${input.stepId}-${input.attempt}-${randomUUID().slice(0, 8)}`,
            code: input.code,
            files: inputs,
            outputDir,
            timeoutMs: input.timeoutMs,
            ...(input.limits ? { limits: runLimits(input.limits) } : {}),
            signal: context.cancellationSignal,
            executionId: input.executionId,
            reconnectSandboxId,
            onSandboxStarted: (id) => {
              sandboxId = id;
              beat();
            },
            onStdout: (chunk) => {
              stdoutChars += chunk.length;
              tail = (tail + chunk).slice(-LIVE_TAIL_CHARS);
            },
            ...(sampled ? { onSample: (sample) => sampled.take(sample) } : {}),
          });
        } catch (error) {
          const outcome = context.cancellationSignal.aborted ? 'cancelled' : 'unavailable';
          deps.metrics?.runEnded(sandbox.kind, outcome, Date.now() - began);
          span.setAttribute('sandbox.outcome', outcome).setStatus({ code: SpanStatusCode.ERROR }).end();
          throw sandboxFailure(error);
        }
        // The workflow gets the run's alert transitions before its outcome.
        await sampled?.flushed();
        deps.metrics?.runEnded(sandbox.kind, execution.failure ?? 'succeeded', execution.usage.wallMs);
        span.setAttribute('sandbox.outcome', execution.failure ?? 'succeeded').end();
        return await storeOutcome(deps.store, input, execution, outputDir);
      } finally {
        clearInterval(heartbeat);
        await rm(outputDir, { recursive: true, force: true });
      }
    },

    /** Explains the results, or the final failure, to the person who asked. */
    async analyze(input: AnalyzeInput): Promise<{ analysis: string } & ModelOutcome> {
      const answer = await ask(
        {
          purpose: 'analysis',
          prompt: analysisPrompt(input),
          shorter: () => analysisPrompt(input, { brief: true }),
          live: { stepId: null, phase: 'analyzing' },
        },
        input,
      );
      return { analysis: answer.text.trim(), ...outcomeOf([answer]) };
    },
  };
}

export type Activities = ReturnType<typeof createActivities>;

const MIB = 1024 ** 2;

/** A run's own limits, in the sandbox's units. */
function runLimits(limits: NonNullable<ExecuteCodeInput['limits']>): SandboxRunRequest['limits'] {
  return {
    ...(limits.memoryMb === undefined ? {} : { memoryBytes: limits.memoryMb * MIB }),
    ...(limits.diskMb === undefined ? {} : { workspaceBytes: limits.diskMb * MIB }),
  };
}

/** A plan from the model's answer: the JSON in it, checked; or what is wrong with it. */
function readPlan(text: string): { ok: true; plan: Plan } | { ok: false; problems: string[] } {
  let parsed: unknown;
  try {
    parsed = extractJson(text);
  } catch {
    return { ok: false, problems: ['the answer holds no JSON object'] };
  }
  return parsePlan(parsed);
}

/** The usage, calls and notes of the answers one activity got. */
function outcomeOf(answers: Array<{ usage: TokenUsage; calls: ModelCall[]; notes: string[] }>): ModelOutcome {
  return {
    usage: answers.reduce(
      (sum, answer) => ({
        prompt: sum.prompt + answer.calls.reduce((total, call) => total + call.prompt, 0),
        completion: sum.completion + answer.calls.reduce((total, call) => total + call.completion, 0),
      }),
      { prompt: 0, completion: 0 },
    ),
    calls: answers.flatMap((answer) => answer.calls),
    notes: answers.flatMap((answer) => answer.notes),
  };
}

async function storeOutcome(
  store: ArtifactStore,
  input: ExecuteCodeInput,
  execution: SandboxExecution,
  outputDir: string,
): Promise<ExecuteOutcome> {
  const scope = `${input.run === undefined ? '' : `runs/${input.run}/`}steps/${input.stepId}/${input.attempt}`;
  // Hidden files and the like are not kept: the store takes plain names and relative paths only.
  const notes: string[] = [];
  const keepable = execution.files.filter((file) => {
    const problem = relativePathProblem(file.name);
    if (problem !== null)
      notes.push(`[sandbox] the written file ${JSON.stringify(file.name)} was not kept: it ${problem}`);
    return problem === null;
  });
  const files = await Promise.all(
    keepable.map((file) => store.putStream(input.executionId, scope, file.name, createReadStream(file.path))),
  );
  const results: RunResult[] = [];
  for (const result of execution.results) {
    const { png, jpeg, json, ...rest } = result;
    const stored: RunResult = { ...rest };
    const image = (name: string) =>
      store.putStream(
        input.executionId,
        `${scope}/figures`,
        path.basename(name),
        createReadStream(path.join(outputDir, name)),
      );
    if (png !== undefined) stored.png = await image(png);
    if (jpeg !== undefined) stored.jpeg = await image(jpeg);
    // Large values stay out of workflow history: text is cut, a large JSON value is replaced by a note.
    for (const field of ['text', 'html', 'markdown', 'svg'] as const) {
      const value = stored[field];
      if (value !== undefined) stored[field] = clip(value, MAX_STDOUT_CHARS);
    }
    if (json !== undefined) {
      const size = JSON.stringify(json)?.length ?? 0;
      stored.json = size <= MAX_STDOUT_CHARS ? json : { note: `a JSON value of ${size} characters was left out` };
    }
    results.push(stored);
  }
  return {
    ok: execution.failure === null && execution.error === null,
    errorType: execution.failure ?? (execution.error ? ErrorType.CODE_ERROR : null),
    error: execution.error,
    stdout: clip(execution.logs.stdout.join(''), MAX_STDOUT_CHARS),
    stderr: clip([...execution.logs.stderr, ...notes.map((note) => `${note}\n`)].join(''), MAX_STDERR_CHARS),
    results,
    files,
    usage: execution.usage,
    messages: execution.messages ?? [],
  };
}

async function previewOf(store: ArtifactStore, executionId: string, file: ArtifactRef): Promise<string> {
  if (file.size === 0) return '';
  let head: Buffer;
  try {
    head = await buffer(await store.readStream(executionId, file.key, { start: 0, end: PREVIEW_BYTES - 1 }));
  } catch (error) {
    if (error instanceof ArtifactNotFoundError) return '';
    throw error;
  }
  if (head.includes(0)) return '';
  return head.toString('utf8').split(/\r?\n/).slice(0, PREVIEW_LINES).join('\n');
}
