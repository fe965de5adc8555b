import { CliError, oneLine } from './cli-error';
import { EXIT, exitCodeForHttpStatus } from './exit-codes';
import type { CliSettings } from './settings';

/** How long a request (not an event stream) may take: control requests wait up to 15 s for a worker. */
const REQUEST_TIMEOUT_MS = 60_000;

export interface RequestOptions {
  body?: unknown;
  query?: Record<string, string | number | boolean | undefined>;
  headers?: Record<string, string>;
}

/**
 * The gateway's HTTP API over fetch, for the caller in `settings`. Every failure is a `CliError`
 * whose message is one line: the gateway's own error message and code, or why it could not be
 * reached.
 */
export class GatewayClient {
  constructor(
    private readonly settings: CliSettings,
    private readonly fetchImpl: typeof fetch = fetch,
  ) {}

  get baseUrl(): string {
    return this.settings.url;
  }

  /** Sends a request and answers its JSON body (null for an answer without one, such as a 204). */
  async json<T = unknown>(method: string, path: string, options: RequestOptions = {}): Promise<T> {
    const response = await this.send(method, path, options, AbortSignal.timeout(REQUEST_TIMEOUT_MS));
    const text = await this.readText(response);
    if (text.trim() === '') return null as T;
    try {
      return JSON.parse(text) as T;
    } catch {
      throw new CliError(EXIT.ERROR, `${method} ${path} answered ${response.status} with a body that is not JSON.`);
    }
  }

  /** The bytes at `path` (an artifact download). */
  async bytes(path: string): Promise<Buffer> {
    const response = await this.send('GET', path, {}, AbortSignal.timeout(REQUEST_TIMEOUT_MS));
    try {
      return Buffer.from(await response.arrayBuffer());
    } catch (error) {
      throw this.unreachable(error);
    }
  }

  /** Opens a long-lived response (an event stream); `signal` ends it. */
  async open(path: string, headers: Record<string, string>, signal: AbortSignal): Promise<Response> {
    return this.send('GET', path, { headers }, signal);
  }

  private async send(method: string, path: string, options: RequestOptions, signal: AbortSignal): Promise<Response> {
    const url = new URL(path, `${this.settings.url}/`);
    for (const [name, value] of Object.entries(options.query ?? {})) {
      if (value !== undefined) url.searchParams.set(name, String(value));
    }
    const headers: Record<string, string> = { accept: 'application/json', ...options.headers };
    if (this.settings.key !== undefined) headers.authorization = `Bearer ${this.settings.key}`;
    if (options.body !== undefined) headers['content-type'] = 'application/json';
    let response: Response;
    try {
      response = await this.fetchImpl(url, {
        method,
        headers,
        body: options.body === undefined ? undefined : JSON.stringify(options.body),
        signal,
      });
    } catch (error) {
      throw this.unreachable(error);
    }
    if (response.ok) return response;
    const text = await this.readText(response);
    const retryAfter = response.headers.get('retry-after');
    const { code, message } = gatewayError(response.status, text);
    const suffix = retryAfter === null ? '' : `; retry after ${retryAfter} s`;
    throw new CliError(exitCodeForHttpStatus(response.status), `${message} (${response.status} ${code}${suffix})`);
  }

  private async readText(response: Response): Promise<string> {
    try {
      return await response.text();
    } catch (error) {
      throw this.unreachable(error);
    }
  }

  private unreachable(error: unknown): CliError {
    return new CliError(
      EXIT.UNREACHABLE,
      `Cannot reach the gateway at ${this.settings.url}: ${networkReason(error)}.`,
      {
        cause: error,
      },
    );
  }
}

/** The code and message of an error answer: the gateway's error shape, or what can be said without it. */
export function gatewayError(status: number, body: string): { code: string; message: string } {
  try {
    const parsed = JSON.parse(body) as { error?: { code?: unknown; message?: unknown } };
    const { code, message } = parsed.error ?? {};
    if (typeof code === 'string' && typeof message === 'string') return { code, message: oneLine(message) };
  } catch {
    // Not the gateway's error shape: a proxy's page, or another server at that address.
  }
  return { code: 'HTTP_ERROR', message: `The server answered ${status} without the gateway's error body` };
}

const KNOWN_CODES: Record<string, string> = {
  ECONNREFUSED: 'connection refused',
  ENOTFOUND: 'no such host',
  EAI_AGAIN: 'the host name could not be resolved',
  ECONNRESET: 'the connection was reset',
  ETIMEDOUT: 'the connection timed out',
  EHOSTUNREACH: 'the host is unreachable',
  UND_ERR_CONNECT_TIMEOUT: 'the connection timed out',
  UND_ERR_SOCKET: 'the connection was closed',
};

/** Why a fetch failed, in words: the system's error code when there is one. */
export function networkReason(error: unknown): string {
  // AbortSignal.timeout() rejects with a DOMException, which need not be an Error of this realm.
  const name = (error as { name?: unknown } | null)?.name;
  if (name === 'TimeoutError' || name === 'AbortError') {
    return 'no answer in time';
  }
  let deepest = error instanceof Error ? error.message : 'the request failed';
  for (let current = error, depth = 0; current && depth < 4; depth++) {
    const code = (current as { code?: unknown }).code;
    if (typeof code === 'string') return KNOWN_CODES[code] ? `${KNOWN_CODES[code]} (${code})` : code;
    if (current instanceof Error) deepest = current.message;
    current = (current as { cause?: unknown }).cause;
  }
  return oneLine(deepest);
}
