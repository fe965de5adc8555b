import type { Readable } from 'node:stream';
import type { SandboxKind } from '../domain/sandbox-kinds';
import type { CodeError, MessageLevel, ResourceUsage } from '../domain/types';

export type { SandboxKind } from '../domain/sandbox-kinds';

/** A file to place in the sandbox's workspace before the code runs. */
export interface SandboxInputFile {
  /** Name inside the workspace: a relative path, checked again by the backend. */
  name: string;
  /**
   * Opens the bytes, wherever they are kept (the artifact store, a test's file). Called once per
   * run, when the backend places the file; if it rejects, or the stream fails, the run rejects.
   */
  open(): Promise<Readable>;
}

export interface SandboxRunRequest {
  /** Unique per run; used to name the run's processes and folders. */
  runId: string;
  /** The execution the run belongs to; backends that label their sandboxes use it (default: runId). */
  executionId?: string;
  /** Python source. Never passed in argv. */
  code: string;
  files: SandboxInputFile[];
  /** Host folder, existing and empty, into which the sandbox copies every file the code wrote. */
  outputDir: string;
  /** Wall-time limit; past it the whole process tree is killed and the run ends SANDBOX_TIMEOUT. */
  timeoutMs: number;
  /**
   * This run's own limits, below the backend's (a higher one is cut to the backend's). The local
   * backend applies both; E2B cannot size a sandbox per run, so the gateway refuses them for it and
   * its backend rejects a run that still carries them.
   */
  limits?: { memoryBytes?: number; workspaceBytes?: number };
  /** Aborting kills the run at once. */
  signal?: AbortSignal;
  onStdout?: (chunk: string) => void;
  onStderr?: (chunk: string) => void;
  /**
   * Called once the backend holds a remote sandbox, with its id, before any code runs. The caller
   * keeps the id (in its heartbeat details) so that a retry can pass it back as `reconnectSandboxId`.
   * Backends without remote sandboxes (local) never call it.
   */
  onSandboxStarted?: (sandboxId: string) => void;
  /**
   * Called about every SAMPLE_INTERVAL_MS while the code runs with what the run uses: the CPU time
   * of its processes so far (milliseconds, counted from the job's start) and their resident memory.
   * Backends that cannot see their sandbox's processes (E2B) never call it.
   */
  onSample?: (sample: SandboxSample) => void;
  /**
   * The sandbox id an earlier, interrupted attempt of the same run reported: the backend kills that
   * sandbox, if it still exists, before starting a fresh one. Ignored by backends without remote sandboxes.
   */
  reconnectSandboxId?: string;
}

export interface SandboxSample {
  /** Worker clock, epoch milliseconds. */
  atMs: number;
  cpuMs: number;
  rssBytes: number;
}

/** How often a backend that samples its runs (local) reports. */
export const SAMPLE_INTERVAL_MS = 500;

/** Why a run did not succeed, in the terms the workflow acts on. */
export type SandboxFailure = 'CODE_ERROR' | 'SANDBOX_TIMEOUT' | 'RESOURCE_EXHAUSTED' | 'OUTPUT_LIMIT';

/**
 * One rich result, modelled on E2B's `Result`. Binary images (`png`, `jpeg`) name a file in
 * `outputDir`; `svg` is the markup itself.
 */
export interface SandboxResult {
  text?: string;
  html?: string;
  markdown?: string;
  json?: unknown;
  png?: string;
  jpeg?: string;
  svg?: string;
  /** True for the value of the code's trailing expression, false for displayed output (figures). */
  isMainResult: boolean;
}

/** A file the code wrote, copied to `outputDir`. */
export interface SandboxOutputFile {
  /** Path relative to the workspace, with `/` separators. */
  name: string;
  /** Where it is now on the host (inside `outputDir`). */
  path: string;
  size: number;
}

/** The result of one run, the same shape for every backend (modelled on E2B's `Execution`). */
export interface SandboxExecution {
  results: SandboxResult[];
  logs: { stdout: string[]; stderr: string[] };
  error: CodeError | null;
  failure: SandboxFailure | null;
  files: SandboxOutputFile[];
  usage: ResourceUsage;
  truncated: { stdout: boolean; stderr: boolean };
  /**
   * Typed messages for the execution's log: the sandbox's own (an input kept out of the root) first,
   * then those the code sent with the `ml` helpers.
   */
  messages?: SandboxMessage[];
}

export interface SandboxMessage {
  level: MessageLevel;
  message: string;
}

/** Thrown when a sandbox cannot be started at all; transient, retried by Temporal. */
export class SandboxUnavailableError extends Error {
  override readonly name = 'SandboxUnavailableError';
}

/**
 * Thrown when the backend is configured wrongly (missing or refused API key, unknown template):
 * retrying cannot help, so the caller should fail for good and say what to fix.
 */
export class SandboxConfigurationError extends Error {
  override readonly name = 'SandboxConfigurationError';
}

/** A place to run untrusted Python. */
/** What a backend with a pool of started sandboxes reports about it. */
export interface PoolStats {
  idleWarm: number;
  idleBare: number;
  /** Runs since the start that took a warm sandbox, a bare one, or had one started for them. */
  warmHits: number;
  bareHits: number;
  misses: number;
}

export interface Sandbox {
  readonly kind: SandboxKind;
  run(request: SandboxRunRequest): Promise<SandboxExecution>;
  /** The pool's state, for backends that keep one. */
  poolStats?(): PoolStats;
  /** Starts what makes the first jobs fast (a pool of started sandboxes); runs work before it ends. */
  warmUp?(): Promise<void>;
  close(): Promise<void>;
}

export interface SandboxLimits {
  /** Address space of the Python process. */
  memoryBytes: number;
  cpuSeconds: number;
  maxProcesses: number;
  /** Largest single file the code may write. */
  maxFileBytes: number;
  maxOpenFiles: number;
  /** Size of the workspace tmpfs. */
  workspaceBytes: number;
  /** Bytes of stdout (and, separately, stderr) kept; past it the rest is dropped. */
  maxOutputBytes: number;
  /** How many written files are collected at most. */
  maxFiles: number;
}

export const DEFAULT_SANDBOX_LIMITS: SandboxLimits = {
  memoryBytes: 2 * 1024 ** 3,
  cpuSeconds: 300,
  maxProcesses: 64,
  maxFileBytes: 256 * 1024 ** 2,
  maxOpenFiles: 256,
  workspaceBytes: 512 * 1024 ** 2,
  maxOutputBytes: 1024 * 1024,
  maxFiles: 100,
};
