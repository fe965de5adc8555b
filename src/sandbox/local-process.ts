import { spawn, type ChildProcess, type StdioOptions } from 'node:child_process';
import { closeSync, openSync, readdirSync, readFileSync } from 'node:fs';
import { setPriority } from 'node:os';
import { lstat, readlink, rm } from 'node:fs/promises';
import { join } from 'node:path';
import type { Writable } from 'node:stream';
import { StringDecoder } from 'node:string_decoder';
import type { UidLease } from './local-uid-slots';

/** The uid and gid the code sees inside the sandbox. */
export const INNER_ID = '1000';
// Paths inside the sandbox. Hidden names, so that code looking for a place to write output does not
// pick the runner's folder, whose files are never collected.
export const INNER_RUNNER = '/.runner/runner.py';
export const INNER_RESULTS = '/.results';
export const INNER_MPLCONFIG = '/tmp/matplotlib';
const SHM_BYTES = 64 * 1024 ** 2;
/** What a process printed before it had a job is kept for error messages only. */
const EARLY_OUTPUT_CHARS = 4000;
/** Room in a pooled runner's command line for the run id it takes. */
const RUN_ID_ROOM = 200;
const NICE_PATH = '/usr/bin/nice';
const POOL_NICENESS = 19;
/** If the outer bwrap outlives its killed inside this long, it is killed too. */
const OUTER_KILL_DELAY_MS = 2000;

export type KillReason = 'timeout' | 'abort' | 'output' | 'disk' | 'closed' | 'unused';

/** How a sandbox process ended. */
export interface ProcessEnd {
  exitCode: number | null;
  signal: NodeJS.Signals | null;
  spawnError: NodeJS.ErrnoException | null;
  killedBy: KillReason | null;
  /** Whether the runner said it started (Python is up, bwrap did its part). */
  started: boolean;
}

export interface SandboxProcessSpec {
  bwrapPath: string;
  pythonPath: string;
  /** Namespaces, system binds and environment: the same for every process of a LocalSandbox. */
  baseArgs: string[];
  /** The seccomp filter as BPF, or null to run without one. */
  seccomp: Buffer | null;
  /** Host folder holding `workspace/`, `results/` and `root/`; removed by dispose(). */
  dir: string;
  /** The uid this process runs as (released by dispose()), or null for the worker's own. */
  lease: UidLease | null;
  /** A pooled runner preloads libraries and waits; a cold one starts at once. */
  /** `pool`: started ahead, libraries imported; `bare`: started ahead, nothing imported; `cold`: for a job now. */
  mode: 'pool' | 'bare' | 'cold';
  /**
   * Shown in the command line, so that operators (and tests) can find a run's processes; a pooled
   * runner shows its job's once it takes one.
   */
  runId?: string;
}

/**
 * One bwrap + runner process with its own folder and uid, for exactly one job. The runner writes "R"
 * to fd 3 once Python is up, then reads its job (a JSON line and the code) from stdin.
 */
export class SandboxProcess {
  readonly dir: string;
  readonly workspace: string;
  readonly resultsDir: string;
  /**
   * Host folder that is the sandbox's `/`, read-only inside. Entries added here after the start
   * (inputs at `/<name>`) appear at the root; bwrap made its mount points in it.
   */
  readonly rootDir: string;
  readonly uid: number | null;
  /** True once the runner is up and waiting for its job; false if the process ended first. */
  readonly ready: Promise<boolean>;
  /** Settles when the process and everything it started are gone. */
  readonly ended: Promise<ProcessEnd>;
  private readonly child: ChildProcess | null;
  private readonly lease: UidLease | null;
  private started = false;
  private exited = false;
  private killedBy: KillReason | null = null;
  private early = '';
  private onStdout: ((chunk: Buffer) => void) | null = null;
  private onStderr: ((chunk: Buffer) => void) | null = null;
  private disposed: Promise<void> | undefined;
  private readonly niced: boolean;

  constructor(spec: SandboxProcessSpec) {
    this.dir = spec.dir;
    this.workspace = join(spec.dir, 'workspace');
    this.resultsDir = join(spec.dir, 'results');
    this.rootDir = join(spec.dir, 'root');
    this.lease = spec.lease;
    this.uid = spec.lease?.uid ?? null;
    const args = [
      // A host folder as the root instead of bwrap's own tmpfs: a pooled sandbox is started before its
      // job's inputs are known, and the host can still add them here. Read-only once all is mounted.
      ...['--bind', this.rootDir, '/'],
      ...spec.baseArgs,
      ...['--bind', this.workspace, '/workspace', '--bind', this.resultsDir, INNER_RESULTS, '--chdir', '/workspace'],
      ...['--remount-ro', '/'],
      // bwrap reads the filter from this fd and closes it before the runner starts.
      ...(spec.seccomp === null ? [] : ['--seccomp', '4']),
      '--',
      spec.pythonPath,
      ...['-B', '-u', '-s', INNER_RUNNER, spec.mode],
      // A pooled runner has no run yet: it writes its job's run id over these blanks (see runner.py).
      spec.mode === 'cold' ? (spec.runId ?? '') : ' '.repeat(RUN_ID_ROOM),
    ];

    let child: ChildProcess | null = null;
    let spawnError: NodeJS.ErrnoException | null = null;
    // A pooled sandbox imports its libraries at the lowest priority, so that filling the pool does not
    // slow the jobs running meanwhile; it gets normal priority back with its job. Only root may raise
    // a priority again, so other workers fill the pool at normal priority.
    this.niced = spec.mode === 'pool' && process.getuid?.() === 0;
    try {
      const stdio: StdioOptions = ['pipe', 'pipe', 'pipe', 'pipe', spec.seccomp === null ? 'ignore' : 'pipe'];
      const [command, commandArgs] = this.niced
        ? [NICE_PATH, ['-n', String(POOL_NICENESS), spec.bwrapPath, ...args]]
        : [spec.bwrapPath, args];
      child = spawn(command, commandArgs, {
        stdio,
        env: {},
        cwd: '/',
        ...(this.uid === null ? {} : { uid: this.uid, gid: this.uid }),
      });
    } catch (error) {
      spawnError = error instanceof Error ? error : new Error(String(error));
    }
    this.child = child;
    // From memory, through a pipe: a filter file removed under a long-running worker cannot break it.
    // A few hundred bytes fit in the pipe's buffer, so bwrap reads them all at once.
    const seccompPipe = child?.stdio[4] as Writable | null | undefined;
    if (spec.seccomp !== null && seccompPipe) {
      seccompPipe.on('error', () => undefined);
      seccompPipe.end(spec.seccomp);
    }

    this.ended = new Promise<ProcessEnd>((resolve) => {
      const finish = (exitCode: number | null, signal: NodeJS.Signals | null): void => {
        if (this.exited) return;
        this.exited = true;
        resolve({ exitCode, signal, spawnError, killedBy: this.killedBy, started: this.started });
      };
      if (child === null) {
        finish(null, null);
        return;
      }
      child.on('error', (error) => {
        spawnError = error;
        // A process that never started emits no 'close'.
        if (child.pid === undefined) finish(null, null);
      });
      child.on('close', finish);
    });
    this.ready = new Promise<boolean>((resolve) => {
      const control = child?.stdio[3];
      if (!control) {
        resolve(false);
        return;
      }
      control.on('data', (chunk: Buffer) => {
        if (!this.started && chunk.includes(0x52 /* R */)) {
          this.started = true;
          resolve(true);
        }
      });
      control.on('error', () => undefined);
      void this.ended.then(() => resolve(this.started));
    });
    child?.stdout?.on('data', (chunk: Buffer) => (this.onStdout ? this.onStdout(chunk) : this.keepEarly(chunk)));
    child?.stderr?.on('data', (chunk: Buffer) => (this.onStderr ? this.onStderr(chunk) : this.keepEarly(chunk)));
    // The runner may be gone before it reads its job (bwrap failed): an EPIPE here is not news.
    child?.stdin?.on('error', () => undefined);
  }

  get alive(): boolean {
    return !this.exited && this.child !== null && this.child.exitCode === null && this.child.signalCode === null;
  }

  /** What the process printed before it had a job (a failed start explains itself there). */
  get earlyOutput(): string {
    return this.early;
  }

  /** From now on, what the process prints goes to these. */
  attach(onStdout: (chunk: Buffer) => void, onStderr: (chunk: Buffer) => void): void {
    this.onStdout = onStdout;
    this.onStderr = onStderr;
  }

  /**
   * CPU time (user and system, of the processes alive now) and resident memory of the sandbox's
   * whole process tree, read from the host's /proc; null once it has ended.
   */
  usage(): { cpuMs: number; rssBytes: number } | null {
    if (!this.alive || this.child?.pid === undefined) return null;
    let ticks = 0;
    let rssKb = 0;
    for (const pid of [this.child.pid, ...descendantsOf(this.child.pid)]) {
      try {
        const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
        // Fields after the command name (which may hold spaces), from the state (field 3) on.
        const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
        ticks += Number(fields[11]) + Number(fields[12]);
        const rss = /^VmRSS:\s+(\d+) kB$/m.exec(readFileSync(`/proc/${pid}/status`, 'utf8'));
        rssKb += rss ? Number(rss[1]) : 0;
      } catch {
        // The process ended meanwhile.
      }
    }
    return { cpuMs: (ticks * 1000) / CLOCK_TICKS_PER_SECOND, rssBytes: rssKb * 1024 };
  }

  /** Sends the job; the runner starts it once stdin ends. */
  send(job: object, code: string): void {
    if (this.niced && this.child?.pid !== undefined) restorePriority(this.child.pid);
    this.child?.stdin?.end(`${JSON.stringify(job)}\n${code}`);
  }

  kill(reason: KillReason): void {
    // A timer firing just after a normal exit must not turn the run into a failure.
    if (!this.alive || this.child?.pid === undefined) return;
    this.killedBy ??= reason;
    // The bwrap inside (pid 1 of the sandbox's pid namespace) takes every process of the namespace
    // with it, and the bwrap outside exits only once it is gone: when 'close' fires nothing is left.
    // Killing the outer bwrap first would orphan the inside for a moment (--die-with-parent ends it,
    // but after run() has returned).
    const inits = childrenOf(this.child.pid);
    for (const pid of inits) {
      try {
        process.kill(pid, 'SIGKILL');
      } catch {
        // Already gone.
      }
    }
    if (inits.length === 0) this.child.kill('SIGKILL');
    else setTimeout(() => this.child?.kill('SIGKILL'), OUTER_KILL_DELAY_MS).unref();
  }

  /** Kills the process if it still runs, waits for it, removes its folder and frees its uid. */
  dispose(): Promise<void> {
    this.disposed ??= (async () => {
      this.kill('unused');
      await this.ended;
      await rm(this.dir, { recursive: true, force: true });
      this.lease?.release();
    })();
    return this.disposed;
  }

  private keepEarly(chunk: Buffer): void {
    this.early = (this.early + chunk.toString()).slice(-EARLY_OUTPUT_CHARS);
  }
}

/** Gives every thread of `pid` and of its descendants normal priority again. */
function restorePriority(pid: number): void {
  for (const process_ of [pid, ...descendantsOf(pid)]) {
    let tasks: string[] = [];
    try {
      tasks = readdirSync(`/proc/${process_}/task`);
    } catch {
      continue; // gone
    }
    for (const task of tasks) {
      try {
        setPriority(Number(task), 0);
      } catch {
        // The thread ended meanwhile.
      }
    }
  }
}

/** USER_HZ, the unit of /proc's CPU times: 100 on every Linux architecture this runs on. */
const CLOCK_TICKS_PER_SECOND = 100;

function descendantsOf(pid: number): number[] {
  const children = childrenOf(pid);
  return children.flatMap((child) => [child, ...descendantsOf(child)]);
}

function childrenOf(pid: number): number[] {
  try {
    const listed = readFileSync(`/proc/${pid}/task/${pid}/children`, 'utf8').trim();
    return listed === '' ? [] : listed.split(' ').map(Number);
  } catch {
    return [];
  }
}

/** The flags every sandbox shares: namespaces, a read-only system, private /proc, /dev and /tmp. */
export function isolationArgs(rootArgs: string[], tmpBytes: number): string[] {
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

export function sandboxEnv(mplConfigDir: string): string[] {
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
export async function rootLinkArgs(): Promise<string[]> {
  const args: string[] = [];
  for (const path of ['/bin', '/sbin', '/lib', '/lib32', '/lib64', '/libx32']) {
    const info = await lstat(path).catch(() => null);
    if (info?.isSymbolicLink()) args.push('--symlink', await readlink(path), path);
    else if (info?.isDirectory()) args.push('--ro-bind', path, path);
  }
  return args;
}

/** Runs a short trusted command and returns how it ended and everything it printed. */
export function runQuietly(
  command: string,
  args: string[],
  options: { env?: Record<string, string>; timeoutMs: number; uid?: number | null; fd3Path?: string | null },
): Promise<{
  exitCode: number | null;
  signal: NodeJS.Signals | null;
  output: string;
  spawnError: NodeJS.ErrnoException | null;
}> {
  return new Promise((resolve) => {
    let output = '';
    let child: ChildProcess;
    const uid = options.uid ?? null;
    const fd3 = options.fd3Path ? openSync(options.fd3Path, 'r') : null;
    try {
      child = spawn(command, args, {
        stdio: ['ignore', 'pipe', 'pipe', fd3 ?? 'ignore'],
        env: options.env ?? {},
        cwd: '/',
        ...(uid === null ? {} : { uid, gid: uid }),
      });
    } catch (error) {
      resolve({ exitCode: null, signal: null, output: '', spawnError: error as NodeJS.ErrnoException });
      return;
    } finally {
      if (fd3 !== null) closeSync(fd3);
    }
    const timer = setTimeout(() => child.kill('SIGKILL'), options.timeoutMs);
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
export class OutputBuffer {
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

  /** Adds a line from the sandbox itself (not the code), outside the byte limit. */
  note(line: string): void {
    this.emit(`${line}\n`);
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
