import { chmod, chown, mkdir } from 'node:fs/promises';
import { join } from 'node:path';
import {
  collectWrittenFiles,
  diskUsage,
  mkdtempUnder,
  placeFigures,
  placeInputs,
  readRunnerOutcome,
  removeTree,
  type RunnerOutcome,
} from './local-files';
import {
  defaultFirstUid,
  poolDirPrefix,
  prepareHost,
  probeSandbox,
  rootFallbackWarning,
  tail,
  type PreparedHost,
} from './local-host';
import { INNER_RESULTS, OutputBuffer, SandboxProcess, type ProcessEnd } from './local-process';
import { UidSlots } from './local-uid-slots';
import {
  DEFAULT_SANDBOX_LIMITS,
  SAMPLE_INTERVAL_MS,
  SandboxUnavailableError,
  type PoolStats,
  type Sandbox,
  type SandboxExecution,
  type SandboxFailure,
  type SandboxLimits,
  type SandboxRunRequest,
  type SandboxSample,
} from './types';
import { abortError, assertInputName } from './input-names';
import { assertNever } from '../domain/assert-never';
import { ArrivalRate, follow, wantsWarm, warmTarget, type PoolBounds } from './pool-policy';

const DEFAULT_PYTHON = '/usr/bin/python3';
const DEFAULT_BWRAP = '/usr/bin/bwrap';
/** Sandboxes run as host uids from here up when the worker is root: one uid per concurrent sandbox. */
const DEFAULT_FIRST_SANDBOX_UID = 60_000;
const DEFAULT_SANDBOX_UID_COUNT = 64;

/** How often the workspace size is checked while code runs. */
const DISK_POLL_MS = 250;
/** More entries than this in the workspace ends the run, like running out of inodes would. */
const MAX_WORKSPACE_ENTRIES = 10_000;
/** A warm sandbox's imports take about this long, until the pool has measured its own. */
const FIRST_WARM_UP_SECONDS = 1.5;
/** How often a pool larger than the arrival rate needs is brought back down. */
const SHRINK_EVERY_MS = 10_000;
/** A pooled sandbox that takes longer than this to import its libraries is given up. */
const POOL_START_TIMEOUT_MS = 120_000;
const MAX_REFILL_BACKOFF_MS = 30_000;

/** The limits of a local sandbox: the shared ones, plus what only this backend enforces. */
export interface LocalSandboxLimits extends SandboxLimits {
  /** Largest PNG figure kept as a result; a larger one is dropped with a note in the stderr logs. */
  maxPngBytes: number;
}

export const DEFAULT_LOCAL_SANDBOX_LIMITS: LocalSandboxLimits = {
  ...DEFAULT_SANDBOX_LIMITS,
  maxPngBytes: 10 * 1024 ** 2,
};

export interface LocalSandboxOptions {
  /** Debian's Python, with pandas and matplotlib; must live under /usr, the only system tree bound in. */
  pythonPath?: string;
  bwrapPath?: string;
  limits?: Partial<LocalSandboxLimits>;
  /** Host folder for per-run folders, the runner script, the seccomp filter and the matplotlib font cache. */
  workRoot: string;
  /** Folder holding (or to hold) a matplotlib font cache; defaults to `${workRoot}/mplconfig`. */
  mplConfigDir?: string;
  /**
   * First host uid (and gid) of the range sandboxes run as, one uid per concurrently running sandbox
   * (pooled ones included), so that the process limit holds per sandbox. Defaults to 60000 when the
   * worker runs as root (falling back to root, with a warning, where unprivileged user namespaces are
   * not allowed); `null` keeps the worker's own uid.
   */
  sandboxUid?: number | null;
  /** How many uids the range holds: the most sandboxes, across all workers of the host, running at once. Default 64. */
  sandboxUidCount?: number;
  /** How long a job waits for a free sandbox uid before it fails (and Temporal retries it); 60 s by default. */
  uidWaitMs?: number;
  /**
   * Warm sandboxes kept started, libraries imported, each waiting for one job: a job then starts in
   * milliseconds instead of about a second. Between `poolMin` and `poolMax`, as many as the jobs
   * arriving while one warms up need. 0 and 0 (the default) start every sandbox cold.
   */
  poolMin?: number;
  poolMax?: number;
  /** A fixed pool: `poolMin` and `poolMax` both. */
  poolSize?: number;
  /**
   * Bare sandboxes kept started, nothing imported, for code that imports none of the warm libraries:
   * they cost a twentieth of a warm one. Default 1 when there is a pool, else 0.
   */
  bareSpares?: number;
  /** Whether to apply the seccomp filter (needs Debian's python3-seccomp); default true. */
  seccomp?: boolean;
  /** Where weaker-than-asked modes (no seccomp, running as root) are reported; default console.warn. */
  onWarning?: (message: string) => void;
}

/** What a pool holds right now. */
export interface LocalPoolStatus {
  /** Warm sandboxes wanted now, for the rate at which jobs arrive. */
  size: number;
  min: number;
  max: number;
  /** Warm: started, libraries imported, waiting for a job. */
  idle: number;
  /** Warm ones still importing. */
  starting: number;
  /** Bare: started, nothing imported, waiting for a job. */
  bare: number;
  bareStarting: number;
  /** Runs in progress, pooled or cold. */
  running: number;
}

type Verdict = Pick<RunnerOutcome, 'results' | 'error' | 'cpuMs' | 'peakMemoryBytes'> & {
  failure: SandboxFailure | null;
  messages?: RunnerOutcome['messages'];
};

/**
 * Runs Python in a bubblewrap sandbox on this machine: no network, no host environment, a read-only
 * /usr, a private workspace, a seccomp filter, a uid of its own and resource limits set by a small
 * runner script. With a pool it keeps sandboxes started ahead, each used for one job only: warm ones
 * (numpy, pandas and matplotlib imported) for code that uses them, a bare one for code that does not.
 */
export class LocalSandbox implements Sandbox {
  readonly kind = 'local' as const;
  /** The most warm sandboxes the pool keeps. */
  readonly poolSize: number;
  private readonly poolBounds: PoolBounds;
  private readonly bareSpares: number;
  private readonly pythonPath: string;
  private readonly bwrapPath: string;
  private readonly limits: LocalSandboxLimits;
  private readonly workRoot: string;
  private readonly mplConfigDir: string;
  /** As asked; the uids actually used are decided once, in prepare(). */
  private readonly requestedUid: number | null | undefined;
  private readonly uidWaitMs: number;
  private readonly uidCount: number;
  private readonly seccomp: boolean;
  private readonly warn: (message: string) => void;
  private prepared: Promise<PreparedHost> | undefined;
  private slots: UidSlots | null = null;
  /** Every process started and not yet disposed of. */
  private readonly live = new Set<SandboxProcess>();
  private readonly runs = new Set<Promise<unknown>>();
  /** Pool starts and disposals in flight, awaited by close(). */
  private readonly background = new Set<Promise<unknown>>();
  private readonly idle: SandboxProcess[] = [];
  private readonly idleBare: SandboxProcess[] = [];
  /** What the runs so far started in, for the worker's metrics. */
  private readonly taken = { warmHits: 0, bareHits: 0, misses: 0 };
  private starting = 0;
  private startingBare = 0;
  /** Jobs whose code imports the warm libraries: the warm pool follows their rate only. */
  private readonly warmArrivals = new ArrivalRate();
  private warmUpSeconds = FIRST_WARM_UP_SECONDS;
  private refillFailures = 0;
  private refillRetry: NodeJS.Timeout | undefined;
  private shrinkTimer: NodeJS.Timeout | undefined;
  private waiters: { resolve: () => void; reject: (error: Error) => void }[] = [];
  private closed = false;

  constructor(options: LocalSandboxOptions) {
    this.pythonPath = options.pythonPath ?? DEFAULT_PYTHON;
    this.bwrapPath = options.bwrapPath ?? DEFAULT_BWRAP;
    this.limits = { ...DEFAULT_LOCAL_SANDBOX_LIMITS, ...options.limits };
    this.workRoot = options.workRoot;
    this.mplConfigDir = options.mplConfigDir ?? join(options.workRoot, 'mplconfig');
    this.requestedUid = options.sandboxUid;
    this.uidCount = options.sandboxUidCount ?? DEFAULT_SANDBOX_UID_COUNT;
    this.uidWaitMs = options.uidWaitMs ?? 60_000;
    const min = Math.max(0, Math.floor(options.poolSize ?? options.poolMin ?? 0));
    const max = Math.max(min, Math.floor(options.poolSize ?? options.poolMax ?? min));
    this.poolBounds = { min, max };
    this.poolSize = max;
    this.bareSpares = Math.max(0, Math.floor(options.bareSpares ?? (max > 0 ? 1 : 0)));
    this.seccomp = options.seccomp ?? true;
    this.warn = options.onWarning ?? ((message) => console.warn(`local sandbox: ${message}`));
  }

  async run(request: SandboxRunRequest): Promise<SandboxExecution> {
    if (request.signal?.aborted) throw abortError(request.signal);
    this.assertOpen();
    for (const file of request.files) assertInputName(file.name);
    const running = this.runTracked(request);
    this.runs.add(running);
    try {
      return await running;
    } finally {
      this.runs.delete(running);
    }
  }

  /**
   * Prepares the host and fills the pool; resolves once its minimum of warm sandboxes (and its bare
   * ones) wait for jobs. Optional (the pool also fills after the first run), but lets a worker start
   * warm and fail early.
   */
  async warmUp(): Promise<void> {
    this.assertOpen();
    await this.prepare();
    while (this.idle.length < this.poolBounds.min || this.idleBare.length < this.bareSpares) {
      this.assertOpen();
      const changed = new Promise<void>((resolve, reject) => this.waiters.push({ resolve, reject }));
      this.refill();
      await changed;
    }
  }

  poolStatus(): LocalPoolStatus {
    return {
      size: this.warmWanted(),
      ...this.poolBounds,
      idle: this.idle.length,
      starting: this.starting,
      bare: this.idleBare.length,
      bareStarting: this.startingBare,
      running: this.runs.size,
    };
  }

  /** Kills the runs still going (they end with SandboxUnavailableError) and the pool, and refuses new runs. */
  async close(): Promise<void> {
    this.closed = true;
    clearTimeout(this.refillRetry);
    clearInterval(this.shrinkTimer);
    this.settleWaiters(new SandboxUnavailableError('The local sandbox is closed'));
    for (const proc of this.live) proc.kill('closed');
    // A run removes its own folder once it is done with it; idle ones are removed here.
    const idle = [...this.idle.splice(0), ...this.idleBare.splice(0)];
    await Promise.allSettled([...idle.map((proc) => proc.dispose()), ...this.runs]);
    while (this.background.size > 0) await Promise.allSettled([...this.background]);
  }

  poolStats(): PoolStats {
    return { idleWarm: this.idle.length, idleBare: this.idleBare.length, ...this.taken };
  }

  private async runTracked(request: SandboxRunRequest): Promise<SandboxExecution> {
    const host = await this.prepare();
    this.assertOpen();
    const warm = wantsWarm(request.code);
    if (warm) this.warmArrivals.note(Date.now());
    const pooled = this.takeIdle(warm);
    if (pooled === undefined) this.taken.misses++;
    // The pool refills while the job runs: one sandbox of each kind at a time, warm ones at the
    // lowest priority, so that the jobs keep the CPU they need.
    this.refill();
    const proc = pooled ?? (await this.startProcess(host, 'cold', request.runId));
    try {
      return await this.execute(request, proc);
    } finally {
      // No process of the run outlives run(). A cold run's folder is named after the run and removed
      // before run() returns; a pooled one's (named after nothing) is removed after, off the hot path.
      proc.kill('unused');
      await proc.ended;
      if (pooled) this.discard(proc);
      else await proc.dispose().finally(() => this.live.delete(proc));
    }
  }

  /** Reports the run's CPU time since the job was sent and its memory, every SAMPLE_INTERVAL_MS. */
  private sample(proc: SandboxProcess, onSample: (sample: SandboxSample) => void): NodeJS.Timeout {
    // A pooled runner spent CPU importing its libraries before it had the job: that is not the job's.
    const baseline = proc.usage()?.cpuMs ?? 0;
    return setInterval(() => {
      const usage = proc.usage();
      if (usage === null) return;
      try {
        onSample({ atMs: Date.now(), cpuMs: Math.max(0, usage.cpuMs - baseline), rssBytes: usage.rssBytes });
      } catch {
        // A listener's failure must not break the run.
      }
    }, SAMPLE_INTERVAL_MS);
  }

  private async execute(request: SandboxRunRequest, proc: SandboxProcess): Promise<SandboxExecution> {
    const limits = this.limitsOf(request);
    const stdout = new OutputBuffer(limits.maxOutputBytes, request.onStdout);
    const stderr = new OutputBuffer(limits.maxOutputBytes, request.onStderr);
    proc.attach(
      (chunk) => {
        if (!stdout.push(chunk)) proc.kill('output');
      },
      (chunk) => {
        if (!stderr.push(chunk)) proc.kill('output');
      },
    );
    const { stamps: inputs, messages: placement } = await placeInputs(
      request.files,
      proc.workspace,
      proc.uid,
      proc.rootDir,
    );
    if (request.signal?.aborted) throw abortError(request.signal);
    if (this.closed) throw new SandboxUnavailableError('The local sandbox was closed during the run');

    const started = Date.now();
    proc.send(
      {
        runId: request.runId,
        files: request.files.map((file) => file.name),
        resultPath: `${INNER_RESULTS}/result.json`,
        figuresDir: INNER_RESULTS,
        maxFigures: limits.maxFiles,
        maxReprChars: limits.maxOutputBytes,
        limits: {
          memoryBytes: limits.memoryBytes,
          cpuSeconds: limits.cpuSeconds,
          maxProcesses: limits.maxProcesses,
          maxFileBytes: limits.maxFileBytes,
          maxOpenFiles: limits.maxOpenFiles,
        },
      },
      request.code,
    );
    const sampling = request.onSample ? this.sample(proc, request.onSample) : null;
    let end: Awaited<ReturnType<typeof this.watch>>;
    try {
      end = await this.watch(request, proc, limits.workspaceBytes);
    } finally {
      if (sampling) clearInterval(sampling);
    }
    const wallMs = Date.now() - started;
    stdout.end();
    stderr.end();
    if (end.killedBy === 'abort' || request.signal?.aborted) throw abortError(request.signal);
    if (end.killedBy === 'closed') throw new SandboxUnavailableError('The local sandbox was closed during the run');

    const verdict = await this.judge(end, proc, stderr.text(), request.timeoutMs, limits);
    await mkdir(request.outputDir, { recursive: true });
    const { files, skipped } = await collectWrittenFiles(proc.workspace, inputs, request.outputDir, limits.maxFiles);
    if (skipped > 0) {
      stderr.note(`[sandbox] ${skipped} more written files were not collected: the limit is ${limits.maxFiles}`);
    }
    const figures = await placeFigures(
      verdict.results,
      proc.resultsDir,
      request.outputDir,
      new Set(files.map((f) => f.name)),
      limits.maxPngBytes,
    );
    for (const { name, bytes } of figures.dropped) {
      stderr.note(`[sandbox] figure ${name} dropped: ${bytes} bytes, over the ${limits.maxPngBytes}-byte limit`);
    }
    if (proc.uid !== null) {
      // The code created these with the sandbox's uid and whatever mode it liked.
      const pngs = figures.results.flatMap((r) => (r.png === undefined ? [] : [join(request.outputDir, r.png)]));
      for (const path of [...files.map((f) => f.path), ...pngs]) {
        await chown(path, process.getuid?.() ?? 0, process.getgid?.() ?? 0);
        await chmod(path, 0o644);
      }
    }
    return {
      results: figures.results,
      logs: { stdout: stdout.chunks, stderr: stderr.chunks },
      error: verdict.error,
      failure: verdict.failure,
      files,
      usage: { cpuMs: verdict.cpuMs, peakMemoryBytes: verdict.peakMemoryBytes, wallMs },
      truncated: { stdout: stdout.truncated, stderr: stderr.truncated },
      messages: [...placement, ...(verdict.messages ?? [])],
    };
  }

  /** The backend's limits, lowered by the run's own. */
  private limitsOf(request: SandboxRunRequest): LocalSandboxLimits {
    const own = request.limits ?? {};
    return {
      ...this.limits,
      memoryBytes: Math.min(this.limits.memoryBytes, own.memoryBytes ?? Infinity),
      workspaceBytes: Math.min(this.limits.workspaceBytes, own.workspaceBytes ?? Infinity),
    };
  }

  /** Enforces wall time, abort and disk use (`diskLimit` bytes) until the process ends. */
  private async watch(request: SandboxRunRequest, proc: SandboxProcess, diskLimit: number): Promise<ProcessEnd> {
    const onAbort = (): void => proc.kill('abort');
    request.signal?.addEventListener('abort', onAbort, { once: true });
    const timer = setTimeout(() => proc.kill('timeout'), request.timeoutMs);
    let measuring = false;
    const poll = setInterval(() => {
      if (measuring) return;
      measuring = true;
      diskUsage([proc.workspace, proc.resultsDir], MAX_WORKSPACE_ENTRIES)
        .then((usage) => {
          if (usage.bytes > diskLimit || usage.entries > MAX_WORKSPACE_ENTRIES) proc.kill('disk');
        })
        .catch(() => undefined)
        .finally(() => {
          measuring = false;
        });
    }, DISK_POLL_MS);
    try {
      return await proc.ended;
    } finally {
      clearTimeout(timer);
      clearInterval(poll);
      request.signal?.removeEventListener('abort', onAbort);
    }
  }

  /** Turns how the process ended, and what the runner wrote, into results, error and failure. */
  private async judge(
    end: ProcessEnd,
    proc: SandboxProcess,
    stderrText: string,
    timeoutMs: number,
    limits: LocalSandboxLimits,
  ): Promise<Verdict> {
    const killed = (failure: SandboxFailure, name: string, value: string): Verdict => ({
      results: [],
      error: { name, value, traceback: '' },
      failure,
      cpuMs: 0,
      peakMemoryBytes: 0,
    });
    switch (end.killedBy) {
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
          `The code wrote more than ${limits.workspaceBytes} bytes or ${MAX_WORKSPACE_ENTRIES} files`,
        );
      case 'abort':
      case 'closed':
      case 'unused':
      case null:
        break;
      default:
        return assertNever(end.killedBy);
    }

    if (end.spawnError) {
      throw new SandboxUnavailableError(`Could not start bwrap (${this.bwrapPath}): ${end.spawnError.message}`, {
        cause: end.spawnError,
      });
    }
    if (!end.started) {
      throw new SandboxUnavailableError(
        `The sandbox did not start (bwrap exit ${end.exitCode ?? end.signal}): ${tail(stderrText) || 'no message'}`,
      );
    }
    const limitSignal = limitSignalOf(end);
    if (limitSignal !== null) {
      const value =
        limitSignal === 'SIGXCPU'
          ? `The code used more than its ${this.limits.cpuSeconds} s of CPU time`
          : `The process was killed by ${limitSignal} after reaching a limit (CPU time, memory or file size)`;
      return killed('RESOURCE_EXHAUSTED', 'ResourceLimitExceeded', value);
    }
    const runner = end.exitCode === 0 ? await readRunnerOutcome(proc.resultsDir, this.limits.maxOutputBytes) : null;
    if (runner === null) {
      const how = end.signal ? `was killed by ${end.signal}` : `exited with code ${end.exitCode}`;
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

  private prepare(): Promise<PreparedHost> {
    this.prepared ??= prepareHost({
      workRoot: this.workRoot,
      mplConfigDir: this.mplConfigDir,
      pythonPath: this.pythonPath,
      bwrapPath: this.bwrapPath,
      firstUid: this.requestedUid,
      uidCount: this.uidCount,
      defaultFirstUid: DEFAULT_FIRST_SANDBOX_UID,
      seccomp: this.seccomp,
      tmpBytes: this.limits.workspaceBytes,
    }).then(
      (host) => {
        for (const warning of host.warnings) this.warn(warning);
        if (host.uids !== null) this.slots = new UidSlots(host.uids.first, host.uids.count);
        return host;
      },
      (error: unknown) => {
        this.prepared = undefined;
        throw error instanceof SandboxUnavailableError
          ? error
          : new SandboxUnavailableError(`Could not prepare the local sandbox: ${describe(error)}`, { cause: error });
      },
    );
    return this.prepared;
  }

  /** Starts a sandbox process in a fresh folder, as a uid of its own. */
  private async startProcess(
    host: PreparedHost,
    mode: 'pool' | 'bare' | 'cold',
    runId?: string,
  ): Promise<SandboxProcess> {
    // A job waits for a uid to come free (a burst queues); refilling the pool does not.
    const lease = this.slots === null ? null : await this.slots.acquire(mode === 'cold' ? this.uidWaitMs : 0);
    if (host.uids !== null && lease === null) {
      throw new SandboxUnavailableError(
        `All ${host.uids.count} sandbox uids from ${host.uids.first} are in use: too many sandboxes run at once`,
      );
    }
    let dir: string | undefined;
    try {
      const prefix = mode !== 'cold' ? poolDirPrefix() : `run-${(runId ?? '').replace(/[^\w.-]/g, '_').slice(0, 80)}-`;
      dir = await mkdtempUnder(this.workRoot, prefix);
      const folders = [dir, join(dir, 'workspace'), join(dir, 'results'), join(dir, 'root')];
      for (const folder of folders.slice(1)) await mkdir(folder, { mode: 0o755 });
      if (lease !== null) for (const folder of folders) await chown(folder, lease.uid, lease.uid);
      this.assertOpen();
    } catch (error) {
      if (dir !== undefined) await removeTree(dir);
      lease?.release();
      throw error;
    }
    const proc = new SandboxProcess({
      bwrapPath: this.bwrapPath,
      pythonPath: this.pythonPath,
      baseArgs: host.baseArgs,
      seccomp: host.seccomp,
      dir,
      lease,
      mode,
      runId,
    });
    this.live.add(proc);
    return proc;
  }

  /**
   * A started sandbox for a job: for code that imports the warm libraries a warm one, else a bare
   * one; for other code a bare one only, since a warm one's second of imports would go to waste.
   */
  private takeIdle(warm: boolean): SandboxProcess | undefined {
    for (const list of warm ? [this.idle, this.idleBare] : [this.idleBare]) {
      for (let proc = list.shift(); proc !== undefined; proc = list.shift()) {
        if (proc.alive) {
          if (list === this.idle) this.taken.warmHits++;
          else this.taken.bareHits++;
          return proc;
        }
        this.discard(proc);
      }
    }
    return undefined;
  }

  /** Warm sandboxes wanted now: enough for the jobs that arrive while one warms up, within the bounds. */
  private warmWanted(): number {
    return warmTarget(this.poolBounds, this.warmArrivals.perSecond(Date.now()), this.warmUpSeconds);
  }

  /**
   * Starts sandboxes until the pool (with those starting) holds what is wanted, one of each kind at
   * a time: a warm one takes most of a core for its imports, and the jobs of a small host need the
   * others. Warm ones beyond what the arrival rate needs are let go, a few seconds later.
   */
  private refill(): void {
    if (this.closed || this.refillRetry !== undefined) return;
    const wanted = this.warmWanted();
    if (this.starting === 0 && this.idle.length < wanted) {
      this.starting++;
      this.track(
        this.startPooled('pool').finally(() => {
          this.starting--;
          this.refill();
        }),
      );
    }
    if (this.startingBare === 0 && this.idleBare.length < this.bareSpares) {
      this.startingBare++;
      this.track(
        this.startPooled('bare').finally(() => {
          this.startingBare--;
          this.refill();
        }),
      );
    }
    if (this.idle.length > wanted) {
      this.shrinkTimer ??= setInterval(() => this.shrink(), SHRINK_EVERY_MS).unref();
    }
  }

  private shrink(): void {
    const wanted = this.warmWanted();
    while (this.idle.length > wanted) this.discard(this.idle.shift()!);
    if (this.idle.length <= this.poolBounds.min) {
      clearInterval(this.shrinkTimer);
      this.shrinkTimer = undefined;
    }
  }

  private async startPooled(mode: 'pool' | 'bare'): Promise<void> {
    const began = Date.now();
    let proc: SandboxProcess;
    try {
      proc = await this.startProcess(await this.prepare(), mode);
    } catch (error) {
      if (!this.closed) this.poolStartFailed(asError(error));
      return;
    }
    const giveUp = setTimeout(() => proc.kill('timeout'), POOL_START_TIMEOUT_MS);
    const ready = await proc.ready;
    clearTimeout(giveUp);
    if (this.closed || !ready) {
      const end = await proc.ended;
      this.discard(proc);
      if (this.closed) return;
      const how = end.spawnError?.message ?? `exit ${end.exitCode ?? end.signal}`;
      this.poolStartFailed(
        new SandboxUnavailableError(
          `A pooled sandbox did not start (${how}): ${tail(proc.earlyOutput) || 'no message'}`,
        ),
      );
      return;
    }
    this.refillFailures = 0;
    const list = mode === 'pool' ? this.idle : this.idleBare;
    if (mode === 'pool') this.warmUpSeconds = follow(this.warmUpSeconds, (Date.now() - began) / 1000);
    list.push(proc);
    void proc.ended.then(() => {
      // Gone while idle (killed from outside, or by the kernel): replace it.
      const index = list.indexOf(proc);
      if (index < 0) return;
      list.splice(index, 1);
      this.discard(proc);
      this.refill();
    });
    this.settleWaiters();
  }

  private poolStartFailed(error: Error): void {
    this.refillFailures++;
    if (this.refillFailures === 1) this.warn(`${error.message}; runs start cold until the pool refills`);
    this.settleWaiters(error);
    if (this.refillRetry === undefined) {
      const delay = Math.min(MAX_REFILL_BACKOFF_MS, 500 * 2 ** (this.refillFailures - 1));
      this.refillRetry = setTimeout(() => {
        this.refillRetry = undefined;
        this.refill();
      }, delay);
      this.refillRetry.unref();
    }
  }

  private settleWaiters(error?: Error): void {
    const waiters = this.waiters;
    this.waiters = [];
    for (const waiter of waiters) {
      if (error) waiter.reject(error);
      else waiter.resolve();
    }
  }

  private discard(proc: SandboxProcess): void {
    this.track(proc.dispose().finally(() => this.live.delete(proc)));
  }

  private track(promise: Promise<unknown>): void {
    const settled = promise.catch(() => undefined);
    this.background.add(settled);
    void settled.finally(() => this.background.delete(settled));
  }

  private assertOpen(): void {
    if (this.closed) throw new SandboxUnavailableError('The local sandbox is closed');
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
  const uid = options.sandboxUid === undefined ? defaultFirstUid(DEFAULT_FIRST_SANDBOX_UID) : options.sandboxUid;
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

function limitSignalOf(end: ProcessEnd): string | null {
  // bwrap exits with 128 + the signal that killed its child.
  const byCode: Record<number, string> = { 137: 'SIGKILL', 152: 'SIGXCPU', 153: 'SIGXFSZ' };
  if (end.exitCode !== null && byCode[end.exitCode]) return byCode[end.exitCode];
  return end.signal;
}

function asError(error: unknown): Error {
  return error instanceof Error ? error : new Error(String(error));
}

function describe(error: unknown): string {
  return asError(error).message;
}
