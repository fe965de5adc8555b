import OpenAI, { APIConnectionError, APIConnectionTimeoutError, APIError, APIUserAbortError } from 'openai';
import { zodResponseFormat } from 'openai/helpers/zod';
import type { ZodType } from 'zod';
import type { TokenUsage } from '../domain/types';

/** How a JSON answer is asked for, from the most to the least an endpoint must support. */
export const OUTPUT_FORMATS = ['json_schema', 'json_object', 'text'] as const;
export type OutputFormat = (typeof OUTPUT_FORMATS)[number];

export interface ChatRequest {
  model: string;
  system: string;
  user: string;
  /**
   * Ask for JSON of this shape: with the schema itself (`json_schema`, strict) where the endpoint
   * takes it, else as any JSON object, else as plain text (the caller extracts and validates).
   */
  schema?: { name: string; zod: ZodType };
  /** Streams the answer: called with the whole text so far each time more of it arrives. */
  onText?: (text: string) => void;
  signal?: AbortSignal;
}

export interface ChatResponse {
  text: string;
  usage: TokenUsage;
  /** The endpoint sent no token counts (some do not while streaming): `usage` is estimated from characters. */
  usageEstimated: boolean;
  latencyMs: number;
  /** How the JSON was asked for, when a schema was given. */
  format: OutputFormat | null;
  /**
   * Set on the call that found the endpoint refusing a format for this model: the format it fell
   * back to. Later calls for the model start from that format and report nothing.
   */
  fellBack: { from: OutputFormat; to: OutputFormat; reason: string } | null;
}

/** The one thing activities need from a language model. */
export interface LlmClient {
  chat(request: ChatRequest): Promise<ChatResponse>;
}

/**
 * What went wrong with a model call, as far as what to do next differs:
 * - `rate_limited`, `unavailable` (5xx, unreachable, 408/409), `timeout`: try again later;
 * - `context_too_long`: the prompt is too long for the model; a shorter one may pass;
 * - `auth`: the endpoint refused the key; `unknown_model`: it does not serve the model;
 * - `refused`: any other refusal of the request.
 */
export type LlmErrorKind =
  'rate_limited' | 'unavailable' | 'timeout' | 'context_too_long' | 'auth' | 'unknown_model' | 'refused';

const RETRYABLE_KINDS: readonly LlmErrorKind[] = ['rate_limited', 'unavailable', 'timeout'];

/** A model call that failed; `retryable` tells a passing fault from a permanent refusal. */
export class LlmError extends Error {
  override readonly name = 'LlmError';
  readonly retryable: boolean;
  constructor(
    message: string,
    readonly kind: LlmErrorKind,
    readonly status?: number,
    /** How long the endpoint asked to be left alone (`retry-after`), when it said. */
    readonly retryAfterMs?: number,
  ) {
    super(message);
    this.retryable = RETRYABLE_KINDS.includes(kind);
  }
}

export interface OpenAiClientOptions {
  apiKey?: string;
  baseUrl?: string;
  /** How long a call may wait for its answer to begin, and a streamed answer for its next piece. */
  timeoutMs?: number;
}

/**
 * An LlmClient for any OpenAI-compatible endpoint. Retries are left to Temporal's activity retry
 * policy, so the client itself does not retry, except to step down to a response format the
 * endpoint takes; that step is remembered per model for the life of the client.
 */
export function createOpenAiClient(options: OpenAiClientOptions): LlmClient {
  const timeoutMs = options.timeoutMs ?? 120_000;
  const client = new OpenAI({
    // Local OpenAI-compatible servers often need no key, but the client insists on one.
    apiKey: options.apiKey ?? 'not-needed',
    baseURL: options.baseUrl,
    maxRetries: 0,
    // A backstop only: the deadline below is the one that counts.
    timeout: timeoutMs * 2,
  });
  const formats = new Map<string, OutputFormat>();

  const call = async (request: ChatRequest, format: OutputFormat | null) => {
    const params = {
      model: request.model,
      messages: [
        { role: 'system' as const, content: request.system },
        { role: 'user' as const, content: request.user },
      ],
      temperature: 0,
      ...(format === 'json_schema' && request.schema
        ? { response_format: zodResponseFormat(request.schema.zod, request.schema.name) }
        : format === 'json_object'
          ? { response_format: { type: 'json_object' as const } }
          : {}),
    };
    const began = Date.now();
    // The client's deadline is kept here rather than left to the openai package, so that a stalled
    // stream counts too: the time to the answer's start, then between two of its pieces.
    const deadline = new AbortController();
    const onAbort = () => deadline.abort(request.signal?.reason);
    request.signal?.addEventListener('abort', onAbort, { once: true });
    let timer = setTimeout(() => deadline.abort(STALLED), timeoutMs);
    const stalled = () =>
      deadline.signal.reason === STALLED && !request.signal?.aborted
        ? new LlmError(
            `the model endpoint did not answer in time: it ${sent ? 'stopped sending its answer' : 'sent nothing'} for ${timeoutMs} ms`,
            'timeout',
          )
        : null;
    let sent = false;
    try {
      if (!request.onText) {
        const completion = await client.chat.completions.create(params, { signal: deadline.signal });
        const text = completion.choices[0]?.message?.content ?? '';
        return { text, ...usageOf(completion.usage, request, text), latencyMs: Date.now() - began };
      }
      const stream = await client.chat.completions.create(
        { ...params, stream: true, stream_options: { include_usage: true } },
        { signal: deadline.signal },
      );
      let text = '';
      let usage: OpenAI.CompletionUsage | undefined;
      for await (const chunk of stream) {
        sent = true;
        clearTimeout(timer);
        timer = setTimeout(() => deadline.abort(STALLED), timeoutMs);
        const delta = chunk.choices[0]?.delta?.content;
        if (delta) {
          text += delta;
          request.onText(text);
        }
        if (chunk.usage) usage = chunk.usage;
      }
      // An aborted stream ends its loop quietly: the text is then not the whole answer.
      if (deadline.signal.aborted) throw stalled() ?? new APIUserAbortError();
      return { text, ...usageOf(usage, request, text), latencyMs: Date.now() - began };
    } catch (error) {
      throw stalled() ?? error;
    } finally {
      clearTimeout(timer);
      request.signal?.removeEventListener('abort', onAbort);
    }
  };

  return {
    async chat(request) {
      let format: OutputFormat | null = request.schema ? (formats.get(request.model) ?? 'json_schema') : null;
      let fellBack = null as ChatResponse['fellBack'];
      for (;;) {
        try {
          return { ...(await call(request, format)), format, fellBack };
        } catch (error) {
          const failure = toLlmError(error, request.model);
          const next = format === null ? null : OUTPUT_FORMATS[OUTPUT_FORMATS.indexOf(format) + 1];
          if (format !== null && next !== undefined && next !== null && refusesFormat(failure)) {
            fellBack = { from: fellBack?.from ?? format, to: next, reason: failure.message };
            formats.set(request.model, next);
            format = next;
            continue;
          }
          throw failure;
        }
      }
    },
  };
}

/** The reason the client's own deadline aborts a call with. */
const STALLED = Symbol('stalled');

function usageOf(
  usage: OpenAI.CompletionUsage | null | undefined,
  request: ChatRequest,
  text: string,
): { usage: TokenUsage; usageEstimated: boolean } {
  if (usage)
    return { usage: { prompt: usage.prompt_tokens, completion: usage.completion_tokens }, usageEstimated: false };
  // About four characters a token, the usual rule for English text and code.
  const prompt = Math.ceil((request.system.length + request.user.length) / 4);
  return { usage: { prompt, completion: Math.ceil(text.length / 4) }, usageEstimated: true };
}

/** A 400 about the response format: the endpoint does not take that kind of `response_format`. */
function refusesFormat(error: LlmError): boolean {
  return (
    error.kind === 'refused' &&
    (error.status === 400 || error.status === 422) &&
    /response_format|json_schema|json_object|structured output/i.test(error.message)
  );
}

const CONTEXT_TOO_LONG =
  /context[_ ]length|context window|context size|maximum context|too many tokens|prompt is too long|reduce the length/i;

function toLlmError(error: unknown, model: string): LlmError {
  if (error instanceof LlmError) return error;
  if (error instanceof APIUserAbortError || (error instanceof Error && error.name === 'AbortError')) throw error;
  if (error instanceof APIConnectionTimeoutError) {
    return new LlmError(`the model endpoint did not answer in time: ${error.message}`, 'timeout');
  }
  if (error instanceof APIConnectionError) {
    return new LlmError(`model endpoint unreachable: ${error.message}`, 'unavailable');
  }
  if (error instanceof APIError) {
    const status = error.status;
    const said = `model endpoint answered ${status ?? 'an error'}: ${error.message}`;
    const code = typeof error.code === 'string' ? error.code : '';
    if (status === 429) return new LlmError(said, 'rate_limited', status, retryAfterMs(error.headers));
    if (status === undefined || status === 408 || status === 409 || status >= 500) {
      return new LlmError(said, 'unavailable', status, retryAfterMs(error.headers));
    }
    if (code === 'context_length_exceeded' || CONTEXT_TOO_LONG.test(error.message)) {
      return new LlmError(`${said} (the prompt is too long for the model "${model}")`, 'context_too_long', status);
    }
    if (status === 401 || status === 403) {
      return new LlmError(
        `${said}. The endpoint refused the worker's key: set OPENAI_API_KEY (and OPENAI_BASE_URL for another endpoint) for the worker.`,
        'auth',
        status,
      );
    }
    if (status === 404 || code === 'model_not_found') {
      return new LlmError(
        `${said}. The endpoint does not serve the model "${model}": set LLM_MODEL for the worker, or options.model (or options.models) on the execution, to a model it serves.`,
        'unknown_model',
        status,
      );
    }
    return new LlmError(said, 'refused', status);
  }
  return new LlmError(error instanceof Error ? error.message : String(error), 'unavailable');
}

/** `retry-after-ms`, or `retry-after` in seconds or as a date; undefined when absent or unreadable. */
function retryAfterMs(headers: Headers | undefined): number | undefined {
  const ms = Number(headers?.get('retry-after-ms'));
  if (Number.isFinite(ms) && ms > 0) return ms;
  const value = headers?.get('retry-after');
  if (!value) return undefined;
  const seconds = Number(value);
  if (Number.isFinite(seconds)) return seconds >= 0 ? seconds * 1000 : undefined;
  const at = Date.parse(value);
  return Number.isNaN(at) ? undefined : Math.max(0, at - Date.now());
}
