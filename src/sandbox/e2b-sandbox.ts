import type {
  EntryInfo,
  Execution,
  FilesystemReadOpts,
  FilesystemWriteOpts,
  OutputMessage,
  RunCodeOpts,
  SandboxConnectOpts,
  SandboxOpts,
  WriteInfo,
} from '@e2b/code-interpreter';
import { readFileSync } from 'node:fs';
import { mkdir, writeFile } from 'node:fs/promises';
import { dirname, join, posix, resolve, sep } from 'node:path';
import { buffer } from 'node:stream/consumers';
import {
  MESSAGES_MARKER,
  OutputCapture,
  USAGE_MARKER,
  mapExecution,
  placeImages,
  readEpilogue,
  sandboxErrorFromSdk,
  type E2bStep,
} from './e2b-mapping';
import { rootPlacement } from '../domain/file-names';
import {
  DEFAULT_SANDBOX_LIMITS,
  SandboxConfigurationError,
  SandboxUnavailableError,
  type Sandbox,
  type SandboxExecution,
  type SandboxFailure,
  type SandboxLimits,
  type SandboxMessage,
  type SandboxOutputFile,
  type SandboxRunRequest,
} from './types';
import { abortError, assertInputName } from './input-names';
import { assertNever } from '../domain/assert-never';

/** Where the inputs go and the code runs, inside the E2B sandbox. */
export const E2B_WORKSPACE = '/home/user/workspace';
/** Where the `ml` module is uploaded: outside the workspace, so that it is never collected. */
export const E2B_ML_MODULE = '/home/user/.sandbox/ml.py';
const ML_SOURCE = readFileSync(join(__dirname, 'e2b-ml.py'), 'utf8');
const DEFAULT_DOMAIN = 'e2b.app';
const DEFAULT_LIFETIME_MARGIN_MS = 120_000;
const DEFAULT_REQUEST_TIMEOUT_MS = 60_000;
/** The SDK's own execution timeout is set this much past ours, so that ours decides. */
const RUN_CODE_GRACE_MS = 10_000;
/** How deep below the workspace written files are looked for. */
const LIST_DEPTH = 16;
/** Written files in these folders are caches, not output (as for the local backend). */
const SKIPPED_DIRS = new Set(['__pycache__', '.matplotlib', '.cache', '.ipynb_checkpoints']);

// Runs in the kernel before the code, as its own cell so that the code's line numbers stay its own.
// A function, so that the code's namespace gains no names.
const PRELUDE = `
def _sandbox_prelude():
    import os, resource, sys
    import importlib.util
    os.makedirs(${JSON.stringify(E2B_WORKSPACE)}, exist_ok=True)
    os.chdir(${JSON.stringify(E2B_WORKSPACE)})
    spec = importlib.util.spec_from_file_location("ml", ${JSON.stringify(E2B_ML_MODULE)})
    ml = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(ml)
    sys.modules["ml"] = ml
    own = resource.getrusage(resource.RUSAGE_SELF)
    children = resource.getrusage(resource.RUSAGE_CHILDREN)
    sys._sandbox_cpu_start = own.ru_utime + own.ru_stime + children.ru_utime + children.ru_stime
_sandbox_prelude()
del _sandbox_prelude
`;

// The kernel started before the code (and imported pandas), so CPU time is counted from the prelude;
// peak memory is the kernel's whole life, which is what a fresh sandbox per run makes of it.
const EPILOGUE = `
def _sandbox_usage():
    import builtins, json, resource, sys
    own = resource.getrusage(resource.RUSAGE_SELF)
    children = resource.getrusage(resource.RUSAGE_CHILDREN)
    cpu = own.ru_utime + own.ru_stime + children.ru_utime + children.ru_stime - getattr(sys, "_sandbox_cpu_start", 0.0)
    peak = max(own.ru_maxrss, children.ru_maxrss) * 1024
    builtins.print(${JSON.stringify(USAGE_MARKER)}, json.dumps({"cpuMs": round(max(cpu, 0) * 1000), "peakMemoryBytes": peak}))
    messages = getattr(sys.modules.get("ml"), "_messages", [])
    builtins.print(${JSON.stringify(MESSAGES_MARKER)}, json.dumps(messages if isinstance(messages, list) else [], default=str))
_sandbox_usage()
del _sandbox_usage
`;

/**
 * What the backend uses of one E2B sandbox; the SDK's `Sandbox` from @e2b/code-interpreter has it,
 * and tests hand in a small fake.
 */
export interface E2bSandboxHandle {
  readonly sandboxId: string;
  runCode(code: string, opts?: RunCodeOpts): Promise<Execution>;
  readonly files: {
    /** With `user: 'root'` for the inputs at the root, which the code's user may read but not write. */
    write(files: Array<{ path: string; data: string | ArrayBuffer }>, opts?: FilesystemWriteOpts): Promise<WriteInfo[]>;
    list(
      path: string,
      opts?: { depth?: number; signal?: AbortSignal; requestTimeoutMs?: number },
    ): Promise<EntryInfo[]>;
    read(path: string, opts: FilesystemReadOpts & { format: 'bytes' }): Promise<Uint8Array>;
  };
  kill(opts?: { requestTimeoutMs?: number }): Promise<boolean>;
}

/** Creates and reconnects to E2B sandboxes: the SDK's `Sandbox.create` and `Sandbox.connect` by default. */
export interface E2bSdk {
  create(opts: SandboxOpts): Promise<E2bSandboxHandle>;
  connect(sandboxId: string, opts: SandboxConnectOpts): Promise<E2bSandboxHandle>;
}

/** The real SDK, loaded on first use so that workers running only the local backend never load it. */
export const e2bSdk: E2bSdk = {
  async create(opts) {
    const { Sandbox } = await import('@e2b/code-interpreter');
    return Sandbox.create(opts);
  },
  async connect(sandboxId, opts) {
    const { Sandbox } = await import('@e2b/code-interpreter');
    return Sandbox.connect(sandboxId, opts);
  },
};

export interface E2bSandboxOptions {
  /**
   * E2B API key. Required: without it the SDK would read E2B_API_KEY from the environment itself,
   * and only src/config.ts reads the environment.
   */
  apiKey: string | undefined;
  /** E2B domain; the SDK would otherwise read E2B_DOMAIN. */
  domain?: string;
  /** Sandbox template; the SDK's code-interpreter template by default. */
  template?: string;
  /** `maxOutputBytes`, `maxFiles` and `workspaceBytes` (bytes collected) apply; the VM sets the others. */
  limits?: Partial<SandboxLimits>;
  /**
   * Life given to each sandbox past the run's timeout, for uploads and downloads. E2B kills the
   * sandbox then even if this process could not (crashed worker).
   */
  lifetimeMarginMs?: number;
  /** Timeout of each API request (create, upload, list, download, kill). */
  requestTimeoutMs?: number;
  /** Tests hand in a fake; the real SDK by default. */
  sdk?: E2bSdk;
}

type StopReason = 'abort' | 'timeout' | 'output' | 'closed';

/**
 * Runs Python in E2B sandboxes (Firecracker microVMs behind E2B's API): one fresh sandbox per run,
 * without internet access, labelled with the execution and run ids, always killed at the end.
 */
export class E2bSandbox implements Sandbox {
  readonly kind = 'e2b' as const;
  private readonly apiKey: string;
  private readonly domain: string;
  private readonly template: string | undefined;
  private readonly limits: SandboxLimits;
  private readonly lifetimeMarginMs: number;
  private readonly requestTimeoutMs: number;
  private readonly sdk: E2bSdk;
  private readonly running = new Map<RunControl, Promise<unknown>>();
  private closed = false;

  /** @throws SandboxConfigurationError when no API key is given. */
  constructor(options: E2bSandboxOptions) {
    if (options.apiKey === undefined || options.apiKey.trim() === '') {
      throw new SandboxConfigurationError('The E2B sandbox needs an API key: set E2B_API_KEY for the worker.');
    }
    this.apiKey = options.apiKey.trim();
    this.domain = options.domain ?? DEFAULT_DOMAIN;
    this.template = options.template;
    this.limits = { ...DEFAULT_SANDBOX_LIMITS, ...options.limits };
    this.lifetimeMarginMs = options.lifetimeMarginMs ?? DEFAULT_LIFETIME_MARGIN_MS;
    this.requestTimeoutMs = options.requestTimeoutMs ?? DEFAULT_REQUEST_TIMEOUT_MS;
    this.sdk = options.sdk ?? e2bSdk;
  }

  /**
   * Runs the code in a new E2B sandbox. A Python exception is a result with `error`; SDK failures
   * throw `SandboxUnavailableError` (transient) or `SandboxConfigurationError` (permanent); an
   * aborted `signal` kills the sandbox and rejects with an error named AbortError.
   */
  async run(request: SandboxRunRequest): Promise<SandboxExecution> {
    if (request.signal?.aborted) throw abortError(request.signal);
    if (this.closed) throw new SandboxUnavailableError('The E2B sandbox backend is closed');
    if (request.limits?.memoryBytes !== undefined || request.limits?.workspaceBytes !== undefined) {
      throw new SandboxConfigurationError(
        "An E2B sandbox has its template's memory and disk; a run cannot set them (leave resources.memoryMb and resources.diskMb out).",
      );
    }
    for (const file of request.files) assertInputName(file.name);
    const control = new RunControl();
    const onAbort = (): void => control.stop('abort');
    request.signal?.addEventListener('abort', onAbort, { once: true });
    const done = this.runControlled(request, control);
    this.running.set(control, done);
    try {
      return await done;
    } finally {
      request.signal?.removeEventListener('abort', onAbort);
      this.running.delete(control);
    }
  }

  /** Kills the sandboxes of the runs still going (they end with SandboxUnavailableError) and refuses new runs. */
  async close(): Promise<void> {
    this.closed = true;
    const runs = [...this.running.entries()];
    for (const [control] of runs) control.stop('closed');
    await Promise.allSettled(runs.map(([, done]) => done));
  }

  private async runControlled(request: SandboxRunRequest, control: RunControl): Promise<SandboxExecution> {
    const stdout = new OutputCapture(this.limits.maxOutputBytes);
    const stderr = new OutputCapture(this.limits.maxOutputBytes);
    let sandbox: E2bSandboxHandle | null = null;
    let wallMs = 0;
    try {
      if (request.reconnectSandboxId) await control.race(this.killOrphan(request.reconnectSandboxId));
      // Not raced against abort: only a finished create tells which sandbox to kill.
      sandbox = await this.call('create', () =>
        this.sdk.create({
          ...this.connection(),
          ...(this.template === undefined ? {} : { template: this.template }),
          metadata: { executionId: request.executionId ?? request.runId, runId: request.runId },
          timeoutMs: request.timeoutMs + this.lifetimeMarginMs,
          allowInternetAccess: false,
          envs: {},
        }),
      );
      request.onSandboxStarted?.(sandbox.sandboxId);
      control.throwIfStopped();
      const box = sandbox;

      const placement = await control.race(this.call('upload', () => this.upload(box, request, control.signal)));
      await control.race(this.call('upload', () => this.runHelper(box, PRELUDE)));
      const inputs =
        request.files.length === 0
          ? new Map<string, EntryInfo>()
          : workspaceFiles(await control.race(this.call('upload', () => this.list(box, control.signal))));

      const started = Date.now();
      const timer = setTimeout(() => control.stop('timeout'), request.timeoutMs);
      let execution: Execution;
      try {
        execution = await control.race(
          this.call('run', () =>
            box.runCode(request.code, {
              onStdout: (message: OutputMessage) => this.stream(message, stdout, request.onStdout, control),
              onStderr: (message: OutputMessage) => this.stream(message, stderr, request.onStderr, control),
              timeoutMs: request.timeoutMs + RUN_CODE_GRACE_MS,
              requestTimeoutMs: this.requestTimeoutMs,
            }),
          ),
        );
      } finally {
        clearTimeout(timer);
        wallMs = Date.now() - started;
      }

      const { usage, messages } = await control.race(this.readEpilogue(box));
      await mkdir(request.outputDir, { recursive: true });
      // Not raced: stopping aborts its requests, and it must not write into outputDir after run() returns.
      const files = await this.call('collect', () => this.collect(box, inputs, request.outputDir, control.signal));
      const mapped = mapExecution(execution, { maxOutputBytes: this.limits.maxOutputBytes });
      const results = await placeImages(mapped.results, request.outputDir, new Set(files.map((file) => file.name)));
      return {
        results,
        logs: mapped.logs,
        error: mapped.error,
        failure: mapped.failure,
        files,
        usage: { ...usage, wallMs },
        truncated: mapped.truncated,
        messages: [...placement, ...messages],
      };
    } catch (error) {
      switch (control.reason) {
        case null:
          throw error;
        case 'abort':
          throw abortError(request.signal);
        case 'closed':
          throw new SandboxUnavailableError('The E2B sandbox backend was closed during the run');
        case 'timeout':
          return stoppedRun('SANDBOX_TIMEOUT', `The code ran past its time limit of ${request.timeoutMs} ms`);
        case 'output':
          return stoppedRun(
            'OUTPUT_LIMIT',
            `The code printed more than ${this.limits.maxOutputBytes} bytes to stdout or stderr`,
          );
        default:
          return assertNever(control.reason);
      }
    } finally {
      control.finish();
      if (sandbox) await this.killQuietly(sandbox);
    }

    function stoppedRun(failure: SandboxFailure, value: string): SandboxExecution {
      const name = failure === 'SANDBOX_TIMEOUT' ? 'TimeoutError' : 'OutputLimitExceeded';
      return {
        results: [],
        logs: { stdout: stdout.chunks, stderr: stderr.chunks },
        error: { name, value, traceback: '' },
        failure,
        // The sandbox is killed at once, so what the code wrote is not collected.
        files: [],
        usage: { cpuMs: 0, peakMemoryBytes: 0, wallMs },
        truncated: { stdout: stdout.truncated, stderr: stderr.truncated },
      };
    }
  }

  private connection(): { apiKey: string; domain: string; debug: false; requestTimeoutMs: number } {
    // Every option given, so that the SDK reads none of E2B_API_KEY, E2B_DOMAIN or E2B_DEBUG itself.
    return { apiKey: this.apiKey, domain: this.domain, debug: false, requestTimeoutMs: this.requestTimeoutMs };
  }

  /** Calls the SDK, turning what it throws into our transient or configuration error. */
  private async call<T>(step: E2bStep, work: () => Promise<T>): Promise<T> {
    try {
      return await work();
    } catch (error) {
      throw sandboxErrorFromSdk(error, step);
    }
  }

  /** Kills the sandbox an interrupted attempt left behind, so that it stops costing and writing. */
  private async killOrphan(sandboxId: string): Promise<void> {
    try {
      const orphan = await this.sdk.connect(sandboxId, this.connection());
      await orphan.kill({ requestTimeoutMs: this.requestTimeoutMs });
    } catch (error) {
      const mapped = sandboxErrorFromSdk(error, 'reconnect');
      if (mapped instanceof SandboxConfigurationError) throw mapped;
      // Gone already, or not reachable now: it dies at the end of its lifetime anyway, and the retry
      // must not wait on it.
    }
  }

  private async killQuietly(sandbox: E2bSandboxHandle): Promise<void> {
    try {
      await sandbox.kill({ requestTimeoutMs: this.requestTimeoutMs });
    } catch {
      // Its lifetime (the run's timeout plus a margin) ends it anyway.
    }
  }

  /**
   * Uploads the `ml` module and the inputs into the workspace, and each input with a plain name at
   * `/<name>` too, written as root so that the code's user can read it but not change it. A name the
   * root has (a system path) stays in the workspace only; the messages returned say so.
   */
  private async upload(
    sandbox: E2bSandboxHandle,
    request: SandboxRunRequest,
    signal: AbortSignal,
  ): Promise<SandboxMessage[]> {
    const opts = { signal, requestTimeoutMs: this.requestTimeoutMs };
    const module = {
      path: E2B_ML_MODULE,
      data: ML_SOURCE.replace('__MAX_RESULT_CHARS__', String(this.limits.maxOutputBytes)),
    };
    const inputs = await Promise.all(
      request.files.map(async (file) => ({
        name: file.name,
        data: new Uint8Array(await buffer(await file.open())).buffer,
      })),
    );
    await sandbox.files.write(
      [module, ...inputs.map(({ name, data }) => ({ path: posix.join(E2B_WORKSPACE, name), data }))],
      opts,
    );
    // The root is looked at only when some name may go there.
    const present = inputs.some(({ name }) => rootPlacement(name).kind === 'root')
      ? new Set((await sandbox.files.list('/', { ...opts, depth: 1 })).map((entry) => entry.name))
      : new Set<string>();
    const messages: SandboxMessage[] = [];
    const atRoot: Array<{ path: string; data: ArrayBuffer }> = [];
    for (const { name, data } of inputs) {
      const placement = rootPlacement(name, present);
      if (placement.kind === 'root') atRoot.push({ path: `/${name}`, data });
      else if (placement.kind === 'shadowing') messages.push({ level: 'warning', message: placement.message });
    }
    if (atRoot.length > 0) await sandbox.files.write(atRoot, { ...opts, user: 'root' });
    return messages;
  }

  private list(sandbox: E2bSandboxHandle, signal: AbortSignal): Promise<EntryInfo[]> {
    return sandbox.files.list(E2B_WORKSPACE, { depth: LIST_DEPTH, signal, requestTimeoutMs: this.requestTimeoutMs });
  }

  /** Runs one of our own cells; the code's callbacks never see its output. */
  private async runHelper(sandbox: E2bSandboxHandle, code: string): Promise<Execution> {
    const execution = await sandbox.runCode(code, {
      timeoutMs: this.requestTimeoutMs,
      requestTimeoutMs: this.requestTimeoutMs,
    });
    if (execution.error) {
      throw new Error(`The sandbox's setup cell failed: ${execution.error.name}: ${execution.error.value}`);
    }
    return execution;
  }

  /**
   * CPU time and peak memory of the kernel, measured inside it (zeros when that fails), and the
   * messages the code sent with `ml`.
   */
  private async readEpilogue(
    sandbox: E2bSandboxHandle,
  ): Promise<{ usage: { cpuMs: number; peakMemoryBytes: number }; messages: SandboxMessage[] }> {
    try {
      return readEpilogue((await this.runHelper(sandbox, EPILOGUE)).logs.stdout);
    } catch {
      // Usage is a metric, not a reason to fail a run that already finished.
      return { usage: { cpuMs: 0, peakMemoryBytes: 0 }, messages: [] };
    }
  }

  /**
   * Downloads every file the code wrote (new, or an input it changed) into `outputDir`, in name
   * order, up to `maxFiles` files and `workspaceBytes` bytes. Only regular files reached through real
   * folders of the workspace count: never a symlink, nor anything under one.
   */
  private async collect(
    sandbox: E2bSandboxHandle,
    inputs: Map<string, EntryInfo>,
    outputDir: string,
    signal: AbortSignal,
  ): Promise<SandboxOutputFile[]> {
    const written = [...workspaceFiles(await this.list(sandbox, signal))]
      .filter(([name, entry]) => !sameFile(inputs.get(name), entry))
      .sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0));
    const root = resolve(outputDir);
    const files: SandboxOutputFile[] = [];
    let bytes = 0;
    for (const [name, entry] of written) {
      if (files.length >= this.limits.maxFiles) break;
      if (bytes + entry.size > this.limits.workspaceBytes) continue;
      const destination = resolve(root, ...name.split('/'));
      if (!destination.startsWith(root + sep)) continue;
      const content = await sandbox.files.read(entry.path, {
        format: 'bytes',
        signal,
        requestTimeoutMs: this.requestTimeoutMs,
      });
      signal.throwIfAborted();
      // The listing's size may be stale: what counts is what arrived.
      if (bytes + content.byteLength > this.limits.workspaceBytes) continue;
      bytes += content.byteLength;
      await mkdir(dirname(destination), { recursive: true });
      await writeFile(destination, content, { flag: 'wx' });
      files.push({ name, path: join(outputDir, ...name.split('/')), size: content.byteLength });
    }
    return files;
  }

  private stream(
    message: OutputMessage,
    capture: OutputCapture,
    listener: ((chunk: string) => void) | undefined,
    control: RunControl,
  ): void {
    if (control.reason !== null || control.finished) return;
    const { kept, ok } = capture.push(message.line);
    if (kept !== '' && listener) {
      try {
        listener(kept);
      } catch {
        // A failing listener must not end the run: the SDK would report it as a failed request.
      }
    }
    if (!ok) control.stop('output');
  }
}

/**
 * One run's stop switch: whatever stops the run (abort, timeout, output limit, close) rejects every
 * `race` at once and aborts the SDK requests given `signal`.
 */
class RunControl {
  reason: StopReason | null = null;
  finished = false;
  private readonly controller = new AbortController();
  private rejectStopped: (error: Error) => void = () => undefined;
  private readonly stopped = new Promise<never>((_, reject) => {
    this.rejectStopped = reject;
  });

  constructor() {
    // Nobody may be racing when the run stops.
    this.stopped.catch(() => undefined);
  }

  get signal(): AbortSignal {
    return this.controller.signal;
  }

  stop(reason: StopReason): void {
    if (this.reason !== null || this.finished) return;
    this.reason = reason;
    this.rejectStopped(new Error(`The run was stopped: ${reason}`));
    this.controller.abort();
  }

  /** `work`, unless the run stops first; `work` is left to settle unobserved then. */
  race<T>(work: Promise<T>): Promise<T> {
    work.catch(() => undefined);
    return Promise.race([work, this.stopped]);
  }

  throwIfStopped(): void {
    if (this.reason !== null) throw new Error(`The run was stopped: ${this.reason}`);
  }

  finish(): void {
    this.finished = true;
  }
}

/**
 * The listing's regular files by name relative to the workspace (with `/`), skipping caches,
 * symlinks, and anything whose folders are not all real folders in the listing.
 */
function workspaceFiles(entries: EntryInfo[]): Map<string, EntryInfo> {
  const prefix = `${E2B_WORKSPACE}/`;
  const kinds = new Map<string, string | undefined>();
  for (const entry of entries) {
    const path = posix.normalize(entry.path);
    if (path.startsWith(prefix)) kinds.set(path.slice(prefix.length), entry.symlinkTarget ? 'symlink' : entry.type);
  }
  const files = new Map<string, EntryInfo>();
  for (const entry of entries) {
    const path = posix.normalize(entry.path);
    if (!path.startsWith(prefix) || entry.type !== 'file' || entry.symlinkTarget) continue;
    const name = path.slice(prefix.length);
    const parts = name.split('/');
    if (parts.some((part) => part === '' || part === '.' || part === '..' || part.includes('\0'))) continue;
    const folders = parts.slice(0, -1);
    if (folders.some((folder) => SKIPPED_DIRS.has(folder))) continue;
    const throughRealFolders = folders.every((_, i) => kinds.get(folders.slice(0, i + 1).join('/')) === 'dir');
    if (throughRealFolders) files.set(name, entry);
  }
  return files;
}

function sameFile(before: EntryInfo | undefined, after: EntryInfo): boolean {
  return (
    before !== undefined &&
    before.size === after.size &&
    before.modifiedTime?.getTime() === after.modifiedTime?.getTime()
  );
}
