import type { Execution, ExecutionError, Result } from '@e2b/code-interpreter';
import { writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { MESSAGE_LEVELS, type CodeError, type MessageLevel } from '../domain/types';
import {
  SandboxConfigurationError,
  SandboxUnavailableError,
  type SandboxFailure,
  type SandboxMessage,
  type SandboxResult,
} from './types';

/** A result whose images are still bytes, before they are written into `outputDir`. */
export interface PendingResult extends Omit<SandboxResult, 'png' | 'jpeg'> {
  png?: Buffer;
  jpeg?: Buffer;
}

/** An E2B `Execution` in our terms, images not yet written. */
export interface MappedExecution {
  results: PendingResult[];
  logs: { stdout: string[]; stderr: string[] };
  truncated: { stdout: boolean; stderr: boolean };
  error: CodeError | null;
  failure: SandboxFailure | null;
}

/**
 * errno values in an OSError's text that mean a limit was hit rather than a bug in the code
 * (EMFILE, ENFILE, EFBIG, ENOSPC, EDQUOT): the same set runner.py uses for the local backend.
 */
const RESOURCE_ERRNO = /\[Errno (?:23|24|27|28|122)\]/;

/** Maps what `runCode` returned to our result shape; images stay in memory (see `placeImages`). */
export function mapExecution(execution: Execution, options: { maxOutputBytes: number }): MappedExecution {
  const stdout = new OutputCapture(options.maxOutputBytes);
  const stderr = new OutputCapture(options.maxOutputBytes);
  for (const chunk of execution.logs.stdout) stdout.push(chunk);
  for (const chunk of execution.logs.stderr) stderr.push(chunk);
  return {
    results: execution.results.flatMap((result) => mapResult(result, options.maxOutputBytes) ?? []),
    logs: { stdout: stdout.chunks, stderr: stderr.chunks },
    truncated: { stdout: stdout.truncated, stderr: stderr.truncated },
    ...mapError(execution.error, options.maxOutputBytes),
  };
}

/** One E2B `Result` in our terms, or null when it has no form we keep (only PDF, LaTeX, chart data…). */
export function mapResult(result: Result, maxChars: number): PendingResult | null {
  const mapped: PendingResult = { isMainResult: result.isMainResult === true };
  if (typeof result.text === 'string') mapped.text = truncate(result.text, maxChars);
  // Cut markup would be broken markup: past the limit, the text has to do.
  for (const key of ['html', 'markdown', 'svg'] as const) {
    const value = result[key];
    if (typeof value === 'string' && value.length <= maxChars) mapped[key] = value;
  }
  // The SDK types `json` as a string, but E2B's server sends the decoded object.
  const json: unknown = result.json;
  if (json !== undefined && json !== null && (JSON.stringify(json)?.length ?? Infinity) <= maxChars) {
    mapped.json = json;
  }
  const png = decodeImage(result.png);
  if (png) mapped.png = png;
  const jpeg = decodeImage(result.jpeg);
  if (jpeg) mapped.jpeg = jpeg;
  const kept = Object.keys(mapped).filter((key) => key !== 'isMainResult');
  return kept.length === 0 ? null : mapped;
}

/**
 * The code's exception as our `CodeError`, with the ANSI colours of IPython's traceback removed, and
 * the failure it means. `SystemExit` with code 0 or None is a normal end, as for the local backend.
 */
export function mapError(
  error: ExecutionError | undefined,
  maxChars: number,
): { error: CodeError | null; failure: SandboxFailure | null } {
  if (!error) return { error: null, failure: null };
  const name = stripAnsi(String(error.name ?? 'Error'));
  const value = stripAnsi(String(error.value ?? ''));
  if (name === 'SystemExit' && ['', '0', 'None'].includes(value.trim())) return { error: null, failure: null };
  const resource = name === 'MemoryError' || (/Error$/.test(name) && RESOURCE_ERRNO.test(value));
  return {
    error: {
      name,
      value: truncate(value, maxChars),
      traceback: truncate(tidyTraceback(String(error.traceback ?? '')), maxChars),
    },
    failure: resource ? 'RESOURCE_EXHAUSTED' : 'CODE_ERROR',
  };
}

/** Removes terminal escape sequences (colours, cursor moves) from text. */
export function stripAnsi(text: string): string {
  // eslint-disable-next-line no-control-regex -- matching ESC is the point
  return text.replace(/\u001b\[[0-?]*[ -/]*[@-~]|\u001b\][^\u0007\u001b]*(?:\u0007|\u001b\\)|\u001b[@-Z\\-_]/g, '');
}

/**
 * IPython's traceback without colours. E2B joins IPython's traceback parts with "" instead of "\n",
 * which glues the rule, the header and the first frame into one line; they are put back on their own
 * lines so that the model reading the error sees the usual layout.
 */
export function tidyTraceback(traceback: string): string {
  return stripAnsi(traceback)
    .replace(/^(-{20,})(?=\S)/, '$1\n')
    .replace(/(Traceback \(most recent call last\))(?=\S)/, '$1\n');
}

/**
 * Writes the results' images into `outputDir` as `figure-N.png` / `figure-N.jpg` (numbered in
 * order of appearance) under names no file in `taken` uses, and returns the results naming them.
 */
export async function placeImages(
  results: PendingResult[],
  outputDir: string,
  taken: Set<string>,
): Promise<SandboxResult[]> {
  const placed: SandboxResult[] = [];
  let figure = 0;
  const nameFor = (extension: string): string => {
    figure++;
    let name = `figure-${figure}.${extension}`;
    for (let n = 2; taken.has(name); n++) name = `figure-${figure}-${n}.${extension}`;
    taken.add(name);
    return name;
  };
  for (const { png, jpeg, ...rest } of results) {
    const result: SandboxResult = { ...rest };
    if (png) {
      result.png = nameFor('png');
      await writeFile(join(outputDir, result.png), png, { flag: 'wx' });
    }
    if (jpeg) {
      result.jpeg = nameFor('jpg');
      await writeFile(join(outputDir, result.jpeg), jpeg, { flag: 'wx' });
    }
    placed.push(result);
  }
  return placed;
}

/**
 * Keeps the first `max` UTF-8 bytes of a stream, cut on a character boundary; says when the stream
 * went past them.
 */
export class OutputCapture {
  readonly chunks: string[] = [];
  truncated = false;
  private bytes = 0;

  constructor(private readonly max: number) {}

  /** Keeps what fits of `chunk`; returns the kept part, and false as `ok` once past the limit. */
  push(chunk: string): { kept: string; ok: boolean } {
    if (this.truncated) return { kept: '', ok: false };
    const size = Buffer.byteLength(chunk);
    if (this.bytes + size <= this.max) {
      this.bytes += size;
      if (chunk !== '') this.chunks.push(chunk);
      return { kept: chunk, ok: true };
    }
    const kept = cutToBytes(chunk, this.max - this.bytes);
    this.bytes += Buffer.byteLength(kept);
    if (kept !== '') this.chunks.push(kept);
    this.truncated = true;
    return { kept, ok: false };
  }
}

/** The epilogue cell's lines: the kernel's usage, and the messages the code sent with `ml`. */
export const USAGE_MARKER = '__sandbox_usage__';
export const MESSAGES_MARKER = '__sandbox_messages__';
/** As many messages as the local runner keeps, each as long. */
const MAX_MESSAGES = 200;
const MAX_MESSAGE_CHARS = 2000;

/**
 * Reads the epilogue's output. The code shares the kernel and may have left threads printing, or
 * replaced the `ml` module: only our marked lines count, and in them only numbers and well-formed
 * messages. What is missing or malformed reads as zero usage and no messages.
 */
export function readEpilogue(stdout: string[]): {
  usage: { cpuMs: number; peakMemoryBytes: number };
  messages: SandboxMessage[];
} {
  const lines = stdout.join('').split('\n');
  const after = (marker: string): unknown => {
    const line = lines.find((text) => text.startsWith(`${marker} `));
    try {
      return line === undefined ? null : (JSON.parse(line.slice(marker.length + 1)) as unknown);
    } catch {
      return null;
    }
  };
  const usage = after(USAGE_MARKER);
  const counted =
    typeof usage === 'object' && usage !== null && 'cpuMs' in usage && 'peakMemoryBytes' in usage
      ? { cpuMs: usage.cpuMs, peakMemoryBytes: usage.peakMemoryBytes }
      : null;
  const sent = after(MESSAGES_MARKER);
  const messages = (Array.isArray(sent) ? sent : []).flatMap((item: unknown): SandboxMessage[] => {
    if (typeof item !== 'object' || item === null || !('level' in item) || !('message' in item)) return [];
    const { level, message } = item;
    if (!MESSAGE_LEVELS.some((known) => known === level) || typeof message !== 'string') return [];
    return [{ level: level as MessageLevel, message: truncate(message, MAX_MESSAGE_CHARS) }];
  });
  return {
    usage:
      counted !== null && isCount(counted.cpuMs) && isCount(counted.peakMemoryBytes)
        ? { cpuMs: counted.cpuMs, peakMemoryBytes: counted.peakMemoryBytes }
        : { cpuMs: 0, peakMemoryBytes: 0 },
    messages: messages.slice(0, MAX_MESSAGES),
  };
}

function isCount(value: unknown): value is number {
  return typeof value === 'number' && Number.isFinite(value) && value >= 0;
}

/** What an SDK call was doing when it failed; decides which failures are configuration problems. */
export type E2bStep = 'create' | 'reconnect' | 'upload' | 'run' | 'collect';

/**
 * Maps an error thrown by an E2B SDK call to ours: a refused or missing API key, and a refused
 * sandbox creation (bad template, bad request, forbidden), become `SandboxConfigurationError`;
 * everything else the SDK throws (network, rate limit, 5xx, busy, timeouts, a sandbox that vanished)
 * becomes the transient `SandboxUnavailableError`.
 */
export function sandboxErrorFromSdk(
  error: unknown,
  step: E2bStep,
): SandboxConfigurationError | SandboxUnavailableError {
  const name = error instanceof Error ? error.name : '';
  const message = error instanceof Error ? error.message : String(error);
  const status = statusOf(error);
  if (name === 'AuthenticationError' || status === 401) {
    return new SandboxConfigurationError(`E2B refused the API key (${step}): ${message}`, { cause: error });
  }
  if (
    step === 'create' &&
    (name === 'InvalidArgumentError' || name === 'TemplateError' || status === 400 || status === 403 || status === 404)
  ) {
    return new SandboxConfigurationError(`E2B refused to create the sandbox: ${message}`, { cause: error });
  }
  return new SandboxUnavailableError(`E2B ${step} failed: ${name ? `${name}: ` : ''}${message}`, { cause: error });
}

function statusOf(error: unknown): number | undefined {
  if (typeof error !== 'object' || error === null || !('statusCode' in error)) return undefined;
  return typeof error.statusCode === 'number' ? error.statusCode : undefined;
}

function decodeImage(base64: string | undefined): Buffer | null {
  if (typeof base64 !== 'string' || base64 === '') return null;
  const bytes = Buffer.from(base64, 'base64');
  return bytes.length === 0 ? null : bytes;
}

function truncate(text: string, max: number): string {
  return text.length <= max ? text : `${text.slice(0, max)}\n[truncated]`;
}

function cutToBytes(text: string, maxBytes: number): string {
  if (maxBytes <= 0) return '';
  const bytes = Buffer.from(text);
  let end = Math.min(maxBytes, bytes.length);
  // Back up over UTF-8 continuation bytes so that no character is split.
  while (end > 0 && end < bytes.length && (bytes[end] & 0xc0) === 0x80) end--;
  return bytes.subarray(0, end).toString('utf8');
}
