import { ApplicationFailure, Context } from '@temporalio/activity';
import type { ZodType } from 'zod';
import { ErrorType } from '../domain/errors';
import type { ModelCall, TokenUsage } from '../domain/types';
import { LlmError, type LlmClient } from '../llm/llm-client';
import type { Prompt } from '../llm/prompts';
import type { LiveText } from '../workflows/messages';

/** The longest pause a `retry-after` may impose on one retry; longer asks are cut to this. */
const MAX_RETRY_AFTER_MS = 10 * 60_000;
/** What streamed text a heartbeat carries: its end, enough for a live view. */
const LIVE_TAIL_CHARS = 4096;

/** One question to the model, and what may be done when the endpoint cannot answer it as asked. */
export interface Question {
  purpose: ModelCall['purpose'];
  prompt: Prompt;
  /** The model to ask first, then the others in order when one cannot answer at all. */
  models: string[];
  schema?: { name: string; zod: ZodType };
  /** A shorter prompt, for a model whose context the first one does not fit (asked once). */
  shorter?: () => Prompt;
  /** Stream the answer into heartbeats, for the live view of this step and phase. */
  live?: { stepId: string | null; phase: LiveText['phase'] };
}

/** An answer, with every call it took and what the timeline should say about them. */
export interface Answered {
  text: string;
  usage: TokenUsage;
  calls: ModelCall[];
  /** Things worth a line on the timeline: a format the endpoint refused, a shorter prompt, another model. */
  notes: string[];
}

/**
 * Asks the model one question: follows the fallback chain of models, shortens the prompt once when
 * a model's context is too small, streams into heartbeats, and turns what still fails into the
 * failure Temporal's retry policy acts on (with the endpoint's `retry-after` as the next delay).
 */
export async function askModel(
  llm: LlmClient,
  question: Question,
  /** Models the endpoint said it does not serve, for the worker's life: a chain skips them. */
  unknown: Set<string> = new Set(),
): Promise<Answered> {
  const calls: ModelCall[] = [];
  const notes: string[] = [];
  const context = Context.current();
  const onText = question.live ? streamer(context, question.live) : undefined;
  const served = question.models.filter((model) => !unknown.has(model));
  const models = served.length > 0 ? served : question.models;
  for (const [index, model] of models.entries()) {
    let prompt = question.prompt;
    let shortened = false;
    for (;;) {
      try {
        const response = await llm.chat({
          ...prompt,
          model,
          schema: question.schema,
          onText,
          signal: context.cancellationSignal,
        });
        calls.push({
          purpose: question.purpose,
          model,
          prompt: response.usage.prompt,
          completion: response.usage.completion,
          latencyMs: response.latencyMs,
          ...(response.format === null ? {} : { format: response.format }),
          ...(response.usageEstimated ? { estimated: true } : {}),
        });
        if (response.fellBack) {
          const { from, to, reason } = response.fellBack;
          notes.push(
            `the model endpoint refused ${from} answers for ${model} (${reason}); it is asked for ${to} from now on`,
          );
        }
        return { text: response.text, usage: response.usage, calls, notes };
      } catch (error) {
        if (!(error instanceof LlmError)) throw error;
        if (error.kind === 'context_too_long' && !shortened && question.shorter) {
          notes.push(`the prompt was too long for ${model}; it was asked again with a shorter one`);
          prompt = question.shorter();
          shortened = true;
          continue;
        }
        const next = models[index + 1];
        if (next !== undefined && fallsThrough(error)) {
          if (error.kind === 'unknown_model') unknown.add(model);
          notes.push(`${model} could not answer (${error.message}); asking ${next} instead`);
          context.log.warn('model fallback', { from: model, to: next, kind: error.kind });
          break;
        }
        throw failureOf(error);
      }
    }
  }
  throw ApplicationFailure.nonRetryable('No model was given to ask.', ErrorType.LLM_ERROR);
}

/** Errors the next model of a chain may not have: it may be served, and its context may be larger. */
function fallsThrough(error: LlmError): boolean {
  return error.kind === 'unknown_model' || error.kind === 'context_too_long' || error.kind === 'refused';
}

function failureOf(error: LlmError): ApplicationFailure {
  const nextRetryDelay =
    error.retryAfterMs === undefined ? undefined : Math.min(MAX_RETRY_AFTER_MS, Math.max(0, error.retryAfterMs));
  switch (error.kind) {
    case 'rate_limited':
      return ApplicationFailure.create({ message: error.message, type: ErrorType.LLM_RATE_LIMITED, nextRetryDelay });
    case 'unavailable':
    case 'timeout':
      return ApplicationFailure.create({ message: error.message, type: ErrorType.LLM_UNAVAILABLE, nextRetryDelay });
    case 'context_too_long':
      return ApplicationFailure.nonRetryable(error.message, ErrorType.LLM_CONTEXT_TOO_LONG);
    case 'auth':
    case 'unknown_model':
    case 'refused':
      return ApplicationFailure.nonRetryable(error.message, ErrorType.LLM_ERROR);
  }
}

/** Heartbeats the end of the text streamed so far; the SDK sends at most one a second (the first at once). */
function streamer(context: Context, live: NonNullable<Question['live']>): (text: string) => void {
  const attempt = context.info.attempt;
  return (text) => {
    const details: LiveText = {
      kind: 'text',
      stepId: live.stepId,
      phase: live.phase,
      attempt,
      chars: text.length,
      tail: text.slice(-LIVE_TAIL_CHARS),
    };
    context.heartbeat(details);
  };
}
