import OpenAI, { APIConnectionError, APIError } from 'openai';
import type { TokenUsage } from '../domain/types';

export interface ChatRequest {
  model: string;
  system: string;
  user: string;
  /** Ask the endpoint for a JSON object. */
  json?: boolean;
  signal?: AbortSignal;
}

export interface ChatResponse {
  text: string;
  usage: TokenUsage;
}

/** The one thing activities need from a language model. */
export interface LlmClient {
  chat(request: ChatRequest): Promise<ChatResponse>;
}

/** A model call that failed; `retryable` tells a passing fault from a permanent refusal. */
export class LlmError extends Error {
  override readonly name = 'LlmError';
  constructor(
    message: string,
    readonly retryable: boolean,
    readonly status?: number,
  ) {
    super(message);
  }
}

export interface OpenAiClientOptions {
  apiKey?: string;
  baseUrl?: string;
  timeoutMs?: number;
}

/**
 * An LlmClient for any OpenAI-compatible endpoint. Retries are left to Temporal's activity retry
 * policy, so the client itself does not retry.
 */
export function createOpenAiClient(options: OpenAiClientOptions): LlmClient {
  const client = new OpenAI({
    // Local OpenAI-compatible servers often need no key, but the client insists on one.
    apiKey: options.apiKey ?? 'not-needed',
    baseURL: options.baseUrl,
    maxRetries: 0,
    timeout: options.timeoutMs ?? 120_000,
  });
  return {
    async chat(request) {
      try {
        const completion = await client.chat.completions.create(
          {
            model: request.model,
            messages: [
              { role: 'system', content: request.system },
              { role: 'user', content: request.user },
            ],
            temperature: 0,
            ...(request.json ? { response_format: { type: 'json_object' as const } } : {}),
          },
          { signal: request.signal },
        );
        const text = completion.choices[0]?.message?.content ?? '';
        return {
          text,
          usage: {
            prompt: completion.usage?.prompt_tokens ?? 0,
            completion: completion.usage?.completion_tokens ?? 0,
          },
        };
      } catch (error) {
        throw toLlmError(error);
      }
    },
  };
}

function toLlmError(error: unknown): LlmError {
  if (error instanceof APIConnectionError) {
    return new LlmError(`model endpoint unreachable: ${error.message}`, true);
  }
  if (error instanceof APIError) {
    const status = error.status;
    const retryable = status === undefined || status === 408 || status === 409 || status === 429 || status >= 500;
    return new LlmError(`model endpoint answered ${status ?? 'an error'}: ${error.message}`, retryable, status);
  }
  if (error instanceof Error && error.name === 'AbortError') throw error;
  return new LlmError(error instanceof Error ? error.message : String(error), true);
}
