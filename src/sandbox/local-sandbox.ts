import { spawn, type ChildProcess } from 'node:child_process';
import { createHash, randomBytes } from 'node:crypto';
import { constants as fsConstants } from 'node:fs';
import {
  chmod,
  chown,
  copyFile,
  lstat,
  mkdir,
  readFile,
  readdir,
  readlink,
  realpath,
  rename,
  rm,
  writeFile,
} from 'node:fs/promises';
import { dirname, join, sep } from 'node:path';
import { StringDecoder } from 'node:string_decoder';
import { z } from 'zod';
import {
  DEFAULT_SANDBOX_LIMITS,
  SandboxUnavailableError,
  type Sandbox,
  type SandboxExecution,
  type SandboxFailure,
  type SandboxLimits,
  type SandboxOutputFile,
  type SandboxResult,
  type SandboxRunRequest,
} from './types';

const DEFAULT_PYTHON = '/usr/bin/python3';
const DEFAULT_BWRAP = '/usr/bin/bwrap';
/** `nobody`: the host uid the sandbox runs as when the worker is root. */
const DEFAULT_SANDBOX_UID = 65534;
/** The uid and gid the code sees inside the sandbox. */
const INNER_ID = '1000';

const RUNNER_SOURCE = join(__dirname, 'runner.py');
// Paths inside the sandbox. Hidden names, so that code looking for a place to write output does not
// pick the runner's folder, whose files are never collected.
const INNER_RUNNER = '/.runner/runner.py';
const INNER_RESULTS = '/.results';
const INNER_MPLCONFIG = '/tmp/matplotlib';
const RESULT_FILE = 'result.json';
const STARTED_FILE = 'started';

/** Written files in these folders are caches, not output. */
const SKIPPED_DIRS = new Set(['__pycache__', '.matplotlib', '.cache']);
/** How often the workspace size is checked while code runs. */
const DISK_POLL_MS = 500;
/** More entries than this in the workspace ends the run, like running out of inodes would. */
const MAX_WORKSPACE_ENTRIES = 10_000;
const SHM_BYTES = 64 * 1024 ** 2;
const STDERR_TAIL_CHARS = 4000;

export interface LocalSandboxOptions {
  /** Debian's Python, with pandas and matplotlib; must live under /usr, the only system tree bound in. */
  pythonPath?: string;
  bwrapPath?: string;
  limits?: Partial<SandboxLimits>;
  /** Host folder for per-run folders, the runner script and the matplotlib font cache. */
  workRoot: string;
  /** Folder holding (or to hold) a matplotlib font cache; defaults to `${workRoot}/mplconfig`. */
  mplConfigDir?: string;
  /**
   * Host uid (and gid) bwrap runs as. Defaults to 65534 when the worker runs as root, so that the
   * process limit is enforced and the code holds no host privilege even if it left its namespaces;
   * `null` keeps the worker's own uid.
   */
  sandboxUid?: number | null;
}

/** Host facts computed once per LocalSandbox. */
interface Prepared {
  runnerFile: string;
  passwdFile: string;
  groupFile: string;
  mplFiles: string[];
  rootArgs: string[];
  /** Host uid bwrap runs as; null: the worker's own. */
  uid: number | null;
}

type KillReason = 'timeout' | 'abort' | 'output' | 'disk' | 'closed';

interface ProcessOutcome {
  exitCode: number | null;
  signal: NodeJS.Signals | null;
  spawnError: Error | null;
  killedBy: KillReason | null;
  wallMs: number;
}

interface FileStamp {
  ino: bigint;
  size: bigint;
  mtimeNs: bigint;
  ctimeNs: bigint;
}

const runnerOutcomeSchema = z.object({
  results: z.array(
    z.object({
      text: z.string().optional(),
      html: z.string().optional(),
      markdown: z.string().optional(),
      png: z.string().optional(),
      isMainResult: z.boolean(),
    }),
  ),
  error: z.object({ name: z.string(), value: z.string(), traceback: z.string() }).nullable(),
  failure: z.enum(['CODE_ERROR', 'RESOURCE_EXHAUSTED']).nullable(),
  cpuMs: z.number().nonnegative(),
  peakMemoryBytes: z.number().nonnegative(),
});
type RunnerOutcome = z.infer<typeof runnerOutcomeSchema>;

/**
 * Runs Python in a bubblewrap sandbox on this machine: no network, no host environment, a
 * read-only /usr, a private workspace, resource limits set by a small runner script.
 */
export class LocalSandbox implements Sandbox {
  readonly kind = 'local' as const;
  private readonly pythonPath: string;
  private readonly bwrapPath: string;
  private readonly limits: SandboxLimits;
  private readonly workRoot: string;
  private readonly mplConfigDir: string;
  /** As asked; the uid actually used is decided once, in prepare(). */
  private readonly requestedUid: number | null | undefined;
  private prepared: Promise<Prepared> | undefined;
  private readonly running = new Map<ChildProcess, { kill: (reason: KillReason) => void; done: Promise<unknown> }>();
  private closed = false;

  constructor(options: LocalSandboxOptions) {
    this.pythonPath = options.pythonPath ?? DEFAULT_PYTHON;
    this.bwrapPath = options.bwrapPath ?? DEFAULT_BWRAP;
    this.limits = { ...DEFAULT_SANDBOX_LIMITS, ...options.limits };
    this.workRoot = options.workRoot;
    this.mplConfigDir = options.mplConfigDir ?? join(options.workRoot, 'mplconfig');
    this.requestedUid = options.sandboxUid;
  }

  async run(request: SandboxRunRequest): Promise<SandboxExecution> {
    if (request.signal?.aborted) throw abortError(request.signal);
    if (this.closed) throw new SandboxUnavailableError('The local sandbox is closed');
    for (const file of request.files) assertPlainName(file.name);
    const prepared = await this.prepare();
    if (this.closed) throw new SandboxUnavailableError('The local sandbox is closed');

    const runDir = await mkdtempUnder(this.workRoot, `run-${request.runId.replace(/[^\w.-]/g, '_').slice(0, 80)}-`);
    try {
      const workspace = join(runDir, 'workspace');
      const resultsDir = join(runDir, 'results');
      await mkdir(workspace, { mode: 0o755 });
      await mkdir(resultsDir, { mode: 0o755 });
      for (const file of request.files) {
        // A clone where the file system can, a copy otherwise: never a hard link, which the code could write through.
        await copyFile(file.path, join(workspace, file.name), fsConstants.COPYFILE_EXCL | fsConstants.COPYFILE_FICLONE);
      }
      if (prepared.uid !== null) {
        for (const path of [runDir, workspace, resultsDir, ...request.files.map((f) => join(workspace, f.name))]) {
          await chown(path, prepared.uid, prepared.uid);
        }
      }
      const inputs = new Map<string, FileStamp>();
      for (const file of request.files) inputs.set(file.name, await stampOf(join(workspace, file.name)));

      const stdout = new OutputBuffer(this.limits.maxOutputBytes, request.onStdout);
      const stderr = new OutputBuffer(this.limits.maxOutputBytes, request.onStderr);
      const outcome = await this.spawnRun(request, prepared, workspace, resultsDir, stdout, stderr);
      if (outcome.killedBy === 'abort' || request.signal?.aborted) throw abortError(request.signal);
      if (outcome.killedBy === 'closed') {
        throw new SandboxUnavailableError('The local sandbox was closed during the run');
      }

      const verdict = await this.judge(outcome, resultsDir, stderr.text(), request.timeoutMs);
      await mkdir(request.outputDir, { recursive: true });
      const files = await collectWrittenFiles(workspace, inputs, request.outputDir, this.limits.maxFiles);
      const results = await placeFigures(
        verdict.results,
        resultsDir,
        request.outputDir,
        new Set(files.map((f) => f.name)),
      );
      if (prepared.uid !== null) {
        // The code created these with the sandbox's uid and whatever mode it liked.
        const figures = results.flatMap((r) => (r.png === undefined ? [] : [join(request.outputDir, r.png)]));
        for (const path of [...files.map((f) => f.path), ...figures]) {
          await chown(path, process.getuid?.() ?? 0, process.getgid?.() ?? 0);
          await chmod(path, 0o644);
        }
      }
      return {
        results,
        logs: { stdout: stdout.chunks, stderr: stderr.chunks },
        error: verdict.error,
        failure: verdict.failure,
        files,
        usage: { cpuMs: verdict.cpuMs, peakMemoryBytes: verdict.peakMemoryBytes, wallMs: outcome.wallMs },
        truncated: { stdout: stdout.truncated, stderr: stderr.truncated },
      };
    } finally {
      await rm(runDir, { recursive: true, force: true });
    }
  }

  /** Kills the runs still going (they end with SandboxUnavailableError) and refuses new ones. */
  async close(): Promise<void> {
    this.closed = true;
    const runs = [...this.running.values()];
    for (const run of runs) run.kill('closed');
    await Promise.allSettled(runs.map((run) => run.done));
  }

  private prepare(): Promise<Prepared> {
    this.prepared ??= prepareHost(
      this.workRoot,
      this.mplConfigDir,
      this.pythonPath,
      this.bwrapPath,
      this.requestedUid,
    ).catch((error: unknown) => {
      this.prepared = undefined;
      throw error instanceof SandboxUnavailableError
        ? error
        : new SandboxUnavailableError(`Could not prepare the local sandbox: ${describe(error)}`, { cause: error });
    });
    return this.prepared;
  }

  private spawnRun(
    request: SandboxRunRequest,
    prepared: Prepared,
    workspace: string,
    resultsDir: string,
    stdout: OutputBuffer,
    stderr: OutputBuffer,
  ): Promise<ProcessOutcome> {
    const config = {
      runId: request.runId,
      startedPath: `${INNER_RESULTS}/${STARTED_FILE}`,
      resultPath: `${INNER_RESULTS}/${RESULT_FILE}`,
      figuresDir: INNER_RESULTS,
      maxFigures: this.limits.maxFiles,
      maxReprChars: this.limits.maxOutputBytes,
      limits: this.limits,
    };
    const args = [
      ...isolationArgs(prepared.rootArgs, this.limits.workspaceBytes),
      ...['--ro-bind', prepared.runnerFile, INNER_RUNNER],
      ...['--ro-bind', prepared.passwdFile, '/etc/passwd', '--ro-bind', prepared.groupFile, '/etc/group'],
      ...prepared.mplFiles.flatMap((file) => ['--ro-bind', file, `${INNER_MPLCONFIG}/${file.split(sep).pop()}`]),
      ...['--bind', workspace, '/workspace', '--bind', resultsDir, INNER_RESULTS, '--chdir', '/workspace'],
      ...sandboxEnv(INNER_MPLCONFIG),
      '--',
      this.pythonPath,
      ...['-B', '-u', '-s', INNER_RUNNER, JSON.stringify(config)],
    ];

    return new Promise<ProcessOutcome>((resolve) => {
      const started = Date.now();
      let killedBy: KillReason | null = null;
      let spawnError: Error | null = null;
      let child: ChildProcess;
      try {
        child = spawn(this.bwrapPath, args, {
          stdio: ['pipe', 'pipe', 'pipe'],
          env: {},
          cwd: '/',
          ...(prepared.uid === null ? {} : { uid: prepared.uid, gid: prepared.uid }),
        });
      } catch (error) {
        resolve({ exitCode: null, signal: null, spawnError: asError(error), killedBy, wallMs: 0 });
        return;
      }
      const kill = (reason: KillReason): void => {
        // A timer firing just after a normal exit must not turn the run into a failure.
        if (child.exitCode !== null || child.signalCode !== null) return;
        killedBy ??= reason;
        // bwrap runs with --die-with-parent in its own pid namespace: killing it ends every process inside.
        child.kill('SIGKILL');
      };
      const onAbort = (): void => kill('abort');
      request.signal?.addEventListener('abort', onAbort, { once: true });
      const timer = setTimeout(() => kill('timeout'), request.timeoutMs);
      const diskLimit = this.limits.workspaceBytes;
      let measuring = false;
      const poll = setInterval(() => {
        if (measuring) return;
        measuring = true;
        diskUsage([workspace, resultsDir])
          .then((usage) => {
            if (usage.bytes > diskLimit || usage.entries > MAX_WORKSPACE_ENTRIES) kill('disk');
          })
          .catch(() => undefined)
          .finally(() => {
            measuring = false;
          });
      }, DISK_POLL_MS);

      child.stdout?.on('data', (chunk: Buffer) => {
        if (!stdout.push(chunk)) kill('output');
      });
      child.stderr?.on('data', (chunk: Buffer) => {
        if (!stderr.push(chunk)) kill('output');
      });
      // The runner may be gone before it reads its code (bwrap failed): an EPIPE here is not news.
      child.stdin?.on('error', () => undefined);
      child.stdin?.end(request.code);

      let settled = false;
      const finish = (exitCode: number | null, signal: NodeJS.Signals | null): void => {
        if (settled) return;
        settled = true;
        clearTimeout(timer);
        clearInterval(poll);
        request.signal?.removeEventListener('abort', onAbort);
        this.running.delete(child);
        stdout.end();
        stderr.end();
        resolve({ exitCode, signal, spawnError, killedBy, wallMs: Date.now() - started });
      };
      child.on('error', (error) => {
        spawnError = error;
        // A process that never started emits no 'close'.
        if (child.pid === undefined) finish(null, null);
      });
      child.on('close', finish);
      this.running.set(child, {
        kill,
        done: new Promise((resolveDone) => child.once('close', resolveDone)),
      });
    });
  }

  /** Turns how the process ended, and what the runner wrote, into results, error and failure. */
  private async judge(
    outcome: ProcessOutcome,
    resultsDir: string,
    stderrText: string,
    timeoutMs: number,
  ): Promise<
    Pick<RunnerOutcome, 'results' | 'error' | 'cpuMs' | 'peakMemoryBytes'> & { failure: SandboxFailure | null }
  > {
    const killed = (failure: SandboxFailure, name: string, value: string) => ({
      results: [],
      error: { name, value, traceback: '' },
      failure,
      cpuMs: 0,
      peakMemoryBytes: 0,
    });
    switch (outcome.killedBy) {
      case 'timeout':
        return killed('SANDBOX_TIMEOUT', 'TimeoutError', `The code ran past its time limit of ${timeoutMs} ms`);
      case 'output':
        return killed(
          'OUTPUT_LIMIT',
          'OutputLimitExceeded',
          `The code printed more than ${this.limits.maxOutputBytes} bytes to stdout or stderr`,
        );
      case 'disk':
        return killed(
          'RESOURCE_EXHAUSTED',
          'DiskLimitExceeded',
          `The code wrote more than ${this.limits.workspaceBytes} bytes or ${MAX_WORKSPACE_ENTRIES} files`,
        );
      case 'abort':
      case 'closed':
      case null:
        break;
      default:
        return assertNever(outcome.killedBy);
    }

    if (outcome.spawnError) {
      throw new SandboxUnavailableError(`Could not start bwrap (${this.bwrapPath}): ${outcome.spawnError.message}`, {
        cause: outcome.spawnError,
      });
    }
    const pythonStarted = await isRegularFile(join(resultsDir, STARTED_FILE));
    if (!pythonStarted) {
      throw new SandboxUnavailableError(
        `The sandbox did not start (bwrap exit ${outcome.exitCode ?? outcome.signal}): ${tail(stderrText) || 'no message'}`,
      );
    }
    const limitSignal = limitSignalOf(outcome);
    if (limitSignal !== null) {
      const value =
        limitSignal === 'SIGXCPU'
          ? `The code used more than its ${this.limits.cpuSeconds} s of CPU time`
          : `The process was killed by ${limitSignal} after reaching a limit (CPU time, memory or file size)`;
      return killed('RESOURCE_EXHAUSTED', 'ResourceLimitExceeded', value);
    }
    const runner = outcome.exitCode === 0 ? await readRunnerOutcome(resultsDir, this.limits.maxOutputBytes) : null;
    if (runner === null) {
      const how = outcome.signal ? `was killed by ${outcome.signal}` : `exited with code ${outcome.exitCode}`;
      const message = `Python ${how} before the run finished`;
      return {
        results: [],
        error: { name: 'ProcessExited', value: message, traceback: tail(stderrText) },
        failure: 'CODE_ERROR',
        cpuMs: 0,
        peakMemoryBytes: 0,
      };
    }
    return { ...runner, failure: runner.failure ?? (runner.error ? 'CODE_ERROR' : null) };
  }
}

/**
 * Checks that bubblewrap and Debian's Python with pandas and matplotlib work here, so that a worker
 * can refuse to start with a clear message instead of failing every run. `warning` says the sandbox
 * works, but in a weaker mode (as root, where the process limit is not enforced).
 */
export async function checkLocalSandbox(
  pythonPath: string = DEFAULT_PYTHON,
  options: { bwrapPath?: string; sandboxUid?: number | null } = {},
): Promise<{ ok: boolean; problem?: string; warning?: string }> {
  const bwrapPath = options.bwrapPath ?? DEFAULT_BWRAP;
  if (!pythonPath.startsWith('/usr/')) {
    return { ok: false, problem: `${pythonPath} is not under /usr, the only system tree the sandbox binds` };
  }
  const code = 'import pandas, matplotlib';
  const uid = options.sandboxUid === undefined ? defaultSandboxUid() : options.sandboxUid;
  const problem = await probeSandbox(bwrapPath, pythonPath, uid, code);
  if (problem === null) return { ok: true };
  if (
    options.sandboxUid === undefined &&
    uid !== null &&
    (await probeSandbox(bwrapPath, pythonPath, null, code)) === null
  ) {
    return { ok: true, warning: rootFallbackWarning(uid, problem) };
  }
  return { ok: false, problem };
}

/** Runs `code` in a minimal sandbox as `uid`; returns what went wrong, or null. */
async function probeSandbox(
  bwrapPath: string,
  pythonPath: string,
  uid: number | null,
  code: string,
): Promise<string | null> {
  const args = [
    ...isolationArgs(await rootLinkArgs(), 64 * 1024 ** 2),
    ...sandboxEnv(INNER_MPLCONFIG),
    ...['--', pythonPath, '-c', code],
  ];
  const { exitCode, signal, output, spawnError } = await runQuietly(bwrapPath, args, {}, 60_000, uid);
  if (spawnError) {
    const hint = spawnError.code === 'ENOENT' ? ' (install the bubblewrap package)' : '';
    return `Could not start ${bwrapPath}: ${spawnError.message}${hint}`;
  }
  if (exitCode === 0) return null;
  const as = uid === null ? '' : ` as uid ${uid}`;
  return `${pythonPath} running \`${code}\` in bwrap${as} ended with ${exitCode ?? signal}: ${tail(output, 1000) || 'no message'}`;
}

function rootFallbackWarning(uid: number, problem: string): string {
  return (
    `bwrap cannot run as uid ${uid} here (${problem}); sandboxes run as root instead, ` +
    'where the process limit is not enforced. Allow unprivileged user namespaces to fix this.'
  );
}

/** The flags every sandbox shares: namespaces, a read-only system, private /proc, /dev and /tmp. */
function isolationArgs(rootArgs: string[], tmpBytes: number): string[] {
  return [
    ...['--unshare-all', '--unshare-user', '--disable-userns', '--uid', INNER_ID, '--gid', INNER_ID],
    ...['--hostname', 'sandbox', '--die-with-parent', '--new-session', '--cap-drop', 'ALL', '--clearenv'],
    ...['--ro-bind', '/usr', '/usr', ...rootArgs],
    ...['--ro-bind-try', '/etc/alternatives', '/etc/alternatives'],
    ...['--ro-bind-try', '/etc/matplotlibrc', '/etc/matplotlibrc'],
    ...['--proc', '/proc', '--dev', '/dev'],
    // --size applies to the --tmpfs right after it.
    ...['--size', String(SHM_BYTES), '--tmpfs', '/dev/shm'],
    ...['--size', String(tmpBytes), '--tmpfs', '/tmp'],
  ];
}

function sandboxEnv(mplConfigDir: string): string[] {
  const env: Record<string, string> = {
    MPLBACKEND: 'Agg',
    MPLCONFIGDIR: mplConfigDir,
    HOME: '/workspace',
    PATH: '/usr/bin:/bin',
    LANG: 'C.UTF-8',
    PYTHONDONTWRITEBYTECODE: '1',
    PYTHONUNBUFFERED: '1',
    // OpenBLAS starts a thread per host core by default; every thread counts against the process
    // limit and reserves address space, so on a large host numpy would not even import.
    OPENBLAS_NUM_THREADS: '1',
    OMP_NUM_THREADS: '1',
  };
  return Object.entries(env).flatMap(([name, value]) => ['--setenv', name, value]);
}

/** Merged-/usr systems have /lib, /bin … as symlinks into /usr; others have real folders. */
async function rootLinkArgs(): Promise<string[]> {
  const args: string[] = [];
  for (const path of ['/bin', '/sbin', '/lib', '/lib32', '/lib64', '/libx32']) {
    const info = await lstat(path).catch(() => null);
    if (info?.isSymbolicLink()) args.push('--symlink', await readlink(path), path);
    else if (info?.isDirectory()) args.push('--ro-bind', path, path);
  }
  return args;
}

async function prepareHost(
  workRoot: string,
  mplConfigDir: string,
  pythonPath: string,
  bwrapPath: string,
  requestedUid: number | null | undefined,
): Promise<Prepared> {
  await mkdir(workRoot, { recursive: true, mode: 0o755 });
  const mplFiles = await ensureFontCache(mplConfigDir, pythonPath);
  let uid = requestedUid === undefined ? defaultSandboxUid() : requestedUid;
  if (requestedUid === undefined && uid !== null) {
    // Hosts that forbid unprivileged user namespaces still let root (with CAP_SYS_ADMIN) run bwrap.
    const problem = await probeSandbox(bwrapPath, pythonPath, uid, 'pass');
    if (problem !== null && (await probeSandbox(bwrapPath, pythonPath, null, 'pass')) === null) uid = null;
  }
  if (uid !== null) {
    await assertReachable(workRoot, uid);
    await assertReachable(mplConfigDir, uid);
  }
  const source = await readFile(RUNNER_SOURCE);
  // Named by content, so that workers of different versions sharing a workRoot never mix runners.
  const hostDir = join(workRoot, `runner-${createHash('sha256').update(source).digest('hex').slice(0, 12)}`);
  await mkdir(hostDir, { recursive: true, mode: 0o755 });
  await chmod(hostDir, 0o755);
  const files: Record<string, string | Buffer> = {
    'runner.py': source,
    passwd: `sandbox:x:${INNER_ID}:${INNER_ID}:sandbox:/workspace:/usr/sbin/nologin\n`,
    group: `sandbox:x:${INNER_ID}:\n`,
  };
  for (const [name, content] of Object.entries(files)) {
    const temporary = join(hostDir, `.${name}.${randomBytes(4).toString('hex')}`);
    await writeFile(temporary, content, { mode: 0o644 });
    await rename(temporary, join(hostDir, name));
  }
  return {
    runnerFile: join(hostDir, 'runner.py'),
    passwdFile: join(hostDir, 'passwd'),
    groupFile: join(hostDir, 'group'),
    mplFiles,
    rootArgs: await rootLinkArgs(),
    uid,
  };
}

/**
 * bwrap opens its bind sources as the sandbox uid, so every folder above them must be searchable
 * by it; a temp folder made by mkdtemp (mode 0700) is not. Saying so beats bwrap's "Permission denied".
 */
async function assertReachable(dir: string, uid: number): Promise<void> {
  let current = await realpath(dir);
  for (;;) {
    const info = await lstat(current);
    const searchable =
      (info.uid === uid && info.mode & 0o100) || (info.gid === uid && info.mode & 0o010) || info.mode & 0o001;
    if (!searchable) {
      throw new SandboxUnavailableError(
        `The sandbox runs as uid ${uid}, which cannot reach ${dir}: ${current} is mode ` +
          `${(info.mode & 0o777).toString(8)}. Make it searchable (o+x), pick another folder, or set sandboxUid: null.`,
      );
    }
    if (current === dirname(current)) return;
    current = dirname(current);
  }
}

/**
 * Builds matplotlib's font cache once on the host: without it, every sandbox would rebuild it,
 * which costs seconds. Its files are bound read-only into a writable MPLCONFIGDIR, since
 * matplotlib ignores a config folder it cannot write to.
 */
async function ensureFontCache(dir: string, pythonPath: string): Promise<string[]> {
  const list = async () =>
    (await readdir(dir).catch(() => [] as string[])).filter((name) => /^fontlist-.*\.json$/.test(name));
  if ((await list()).length === 0) {
    await mkdir(dir, { recursive: true, mode: 0o755 });
    const env = { MPLCONFIGDIR: dir, MPLBACKEND: 'Agg', HOME: dir, LANG: 'C.UTF-8' };
    const { exitCode, output } = await runQuietly(pythonPath, ['-c', 'import matplotlib.pyplot'], env, 120_000);
    if (exitCode !== 0) {
      throw new SandboxUnavailableError(`Could not build matplotlib's font cache with ${pythonPath}: ${tail(output)}`);
    }
  }
  const names = await list();
  for (const name of names) await chmod(join(dir, name), 0o644);
  return names.map((name) => join(dir, name));
}

function runQuietly(
  command: string,
  args: string[],
  env: Record<string, string>,
  timeoutMs: number,
  uid: number | null = null,
): Promise<{
  exitCode: number | null;
  signal: NodeJS.Signals | null;
  output: string;
  spawnError: NodeJS.ErrnoException | null;
}> {
  return new Promise((resolve) => {
    let output = '';
    let child: ChildProcess;
    try {
      child = spawn(command, args, {
        stdio: ['ignore', 'pipe', 'pipe'],
        env,
        cwd: '/',
        ...(uid === null ? {} : { uid, gid: uid }),
      });
    } catch (error) {
      resolve({ exitCode: null, signal: null, output: '', spawnError: asError(error) });
      return;
    }
    const timer = setTimeout(() => child.kill('SIGKILL'), timeoutMs);
    child.stdout?.on('data', (chunk: Buffer) => (output += chunk.toString()));
    child.stderr?.on('data', (chunk: Buffer) => (output += chunk.toString()));
    child.on('error', (error) => {
      clearTimeout(timer);
      resolve({ exitCode: null, signal: null, output, spawnError: error });
    });
    child.on('close', (exitCode, signal) => {
      clearTimeout(timer);
      resolve({ exitCode, signal, output, spawnError: null });
    });
  });
}

/** Keeps the first `max` bytes of a stream, as text; says when the stream went past them. */
class OutputBuffer {
  readonly chunks: string[] = [];
  truncated = false;
  private bytes = 0;
  private readonly decoder = new StringDecoder('utf8');

  constructor(
    private readonly max: number,
    private readonly onChunk?: (chunk: string) => void,
  ) {}

  /** Returns false once the stream has gone past its limit. */
  push(chunk: Buffer): boolean {
    if (this.truncated) return false;
    const room = this.max - this.bytes;
    const kept = chunk.length > room ? chunk.subarray(0, room) : chunk;
    this.bytes += kept.length;
    this.emit(this.decoder.write(kept));
    if (chunk.length > room) {
      this.truncated = true;
      return false;
    }
    return true;
  }

  end(): void {
    this.emit(this.decoder.end());
  }

  text(): string {
    return this.chunks.join('');
  }

  private emit(text: string): void {
    if (text === '') return;
    this.chunks.push(text);
    this.onChunk?.(text);
  }
}

/**
 * Moves every file the code wrote (not an unchanged input) into `outputDir`. It runs after the
 * sandbox is gone, so nothing changes under it; it still never follows a symlink.
 */
async function collectWrittenFiles(
  workspace: string,
  inputs: Map<string, FileStamp>,
  outputDir: string,
  maxFiles: number,
): Promise<SandboxOutputFile[]> {
  const files: SandboxOutputFile[] = [];
  const root = await realpath(workspace);
  const visit = async (dir: string, prefix: string): Promise<void> => {
    const entries = (await readdir(dir, { withFileTypes: true })).sort((a, b) => a.name.localeCompare(b.name));
    for (const entry of entries) {
      if (files.length >= maxFiles) return;
      const path = join(dir, entry.name);
      const name = prefix + entry.name;
      if (entry.isDirectory()) {
        if (!SKIPPED_DIRS.has(entry.name)) await visit(path, `${name}/`);
        continue;
      }
      if (!entry.isFile()) continue;
      const stamp = await stampOf(path);
      const input = inputs.get(name);
      if (input && sameStamp(input, stamp)) continue;
      if (!(await realpath(path)).startsWith(root + sep)) continue;
      const destination = join(outputDir, name);
      await mkdir(dirname(destination), { recursive: true });
      await moveFile(path, destination);
      files.push({ name, path: destination, size: Number(stamp.size) });
    }
  };
  await visit(workspace, '');
  return files;
}

/** Moves the runner's PNG results into `outputDir` under names no written file uses. */
async function placeFigures(
  results: RunnerOutcome['results'],
  resultsDir: string,
  outputDir: string,
  taken: Set<string>,
): Promise<SandboxResult[]> {
  const placed: SandboxResult[] = [];
  for (const { png, ...rest } of results) {
    const result: SandboxResult = { ...rest };
    // The result file is written where the code could write too: trust no name in it.
    const match = png === undefined ? null : /^figure-(\d{1,6})\.png$/.exec(png);
    if (png !== undefined && match && (await isRegularFile(join(resultsDir, png)))) {
      let name = png;
      for (let n = 2; taken.has(name); n++) name = `figure-${match[1]}-${n}.png`;
      taken.add(name);
      await moveFile(join(resultsDir, png), join(outputDir, name));
      result.png = name;
    }
    if (result.png !== undefined || result.text !== undefined || result.html !== undefined) placed.push(result);
  }
  return placed;
}

async function readRunnerOutcome(resultsDir: string, maxOutputBytes: number): Promise<RunnerOutcome | null> {
  const path = join(resultsDir, RESULT_FILE);
  const info = await lstat(path).catch(() => null);
  // The runner caps each text it writes at maxOutputBytes characters; JSON escapes can multiply that.
  if (!info?.isFile() || info.size > 32 * maxOutputBytes + 1024 ** 2) return null;
  try {
    const parsed = runnerOutcomeSchema.safeParse(JSON.parse(await readFile(path, 'utf8')));
    return parsed.success ? parsed.data : null;
  } catch {
    return null;
  }
}

async function diskUsage(dirs: string[]): Promise<{ bytes: number; entries: number }> {
  let bytes = 0;
  let entries = 0;
  const pending = [...dirs];
  while (pending.length > 0 && entries <= MAX_WORKSPACE_ENTRIES) {
    const dir = pending.pop() as string;
    const names = await readdir(dir).catch(() => [] as string[]);
    for (const name of names) {
      entries++;
      const info = await lstat(join(dir, name)).catch(() => null);
      if (!info) continue;
      // Allocated blocks, not the apparent size: a sparse file takes no room.
      bytes += info.blocks * 512;
      if (info.isDirectory()) pending.push(join(dir, name));
    }
  }
  return { bytes, entries };
}

async function moveFile(from: string, to: string): Promise<void> {
  try {
    await rename(from, to);
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code !== 'EXDEV') throw error;
    await copyFile(from, to, fsConstants.COPYFILE_FICLONE);
  }
}

async function stampOf(path: string): Promise<FileStamp> {
  const info = await lstat(path, { bigint: true });
  return { ino: info.ino, size: info.size, mtimeNs: info.mtimeNs, ctimeNs: info.ctimeNs };
}

function sameStamp(a: FileStamp, b: FileStamp): boolean {
  // ctime cannot be set back by the code, so an input rewritten with its old mtime still differs.
  return a.ino === b.ino && a.size === b.size && a.mtimeNs === b.mtimeNs && a.ctimeNs === b.ctimeNs;
}

async function isRegularFile(path: string): Promise<boolean> {
  return (await lstat(path).catch(() => null))?.isFile() ?? false;
}

async function mkdtempUnder(root: string, prefix: string): Promise<string> {
  const path = join(root, prefix + randomBytes(6).toString('hex'));
  await mkdir(path, { mode: 0o700 });
  return path;
}

function limitSignalOf(outcome: ProcessOutcome): string | null {
  // bwrap exits with 128 + the signal that killed its child.
  const byCode: Record<number, string> = { 137: 'SIGKILL', 152: 'SIGXCPU', 153: 'SIGXFSZ' };
  if (outcome.exitCode !== null && byCode[outcome.exitCode]) return byCode[outcome.exitCode];
  return outcome.signal;
}

function assertPlainName(name: string): void {
  if (name === '' || name === '.' || name === '..' || /[/\\\0]/.test(name) || name.includes('..')) {
    throw new Error(`Refusing input file name ${JSON.stringify(name)}: not a plain file name`);
  }
}

function defaultSandboxUid(): number | null {
  return process.getuid?.() === 0 ? DEFAULT_SANDBOX_UID : null;
}

function abortError(signal: AbortSignal | undefined): Error {
  const error = new Error('The sandbox run was aborted', { cause: signal?.reason });
  error.name = 'AbortError';
  return error;
}

function tail(text: string, chars = STDERR_TAIL_CHARS): string {
  const trimmed = text.trim();
  return trimmed.length <= chars ? trimmed : `…${trimmed.slice(-chars)}`;
}

function asError(error: unknown): Error {
  return error instanceof Error ? error : new Error(String(error));
}

function describe(error: unknown): string {
  return asError(error).message;
}

function assertNever(value: never): never {
  throw new Error(`Unexpected value ${String(value)}`);
}
