import { createHash, randomBytes } from 'node:crypto';
import { chmod, lstat, mkdir, readFile, readdir, realpath, rename, rm, writeFile } from 'node:fs/promises';
import { dirname, join, sep } from 'node:path';
import {
  INNER_ID,
  INNER_MPLCONFIG,
  INNER_RUNNER,
  isolationArgs,
  rootLinkArgs,
  runQuietly,
  sandboxEnv,
} from './local-process';
import { buildSeccompFilter } from './local-seccomp';
import { SandboxUnavailableError } from './types';

const RUNNER_SOURCE = join(__dirname, 'runner.py');
const STDERR_TAIL_CHARS = 4000;

/** Host facts computed once per LocalSandbox. */
export interface PreparedHost {
  /** bwrap's arguments up to the per-sandbox binds: namespaces, system, runner, fonts, environment. */
  baseArgs: string[];
  /** The host uids sandboxes run as, one per concurrent sandbox; null: the worker's own uid. */
  uids: { first: number; count: number } | null;
  /** The seccomp filter as BPF, or null when there is none. */
  seccomp: Buffer | null;
  /** Weaker-than-asked modes the sandbox fell back to, one line each. */
  warnings: string[];
}

export interface HostOptions {
  workRoot: string;
  mplConfigDir: string;
  pythonPath: string;
  bwrapPath: string;
  /** The first sandbox uid as asked (undefined: decide), null for the worker's own uid. */
  firstUid: number | null | undefined;
  uidCount: number;
  defaultFirstUid: number;
  seccomp: boolean;
  tmpBytes: number;
}

/**
 * Gets the host ready for sandboxes: the runner and its passwd files, matplotlib's font cache, the
 * seccomp filter, and which uids to run as (falling back to root where unprivileged user namespaces
 * are not allowed, with a warning).
 */
export async function prepareHost(options: HostOptions): Promise<PreparedHost> {
  const { workRoot, mplConfigDir, pythonPath, bwrapPath } = options;
  const warnings: string[] = [];
  await mkdir(workRoot, { recursive: true, mode: 0o755 });
  await removeStalePoolDirs(workRoot);
  const mplFiles = await ensureFontCache(mplConfigDir, pythonPath);
  const rootArgs = await rootLinkArgs();

  let seccompPath: string | null = null;
  if (options.seccomp) {
    const filter = await buildSeccompFilter(workRoot, pythonPath);
    if (filter.path === undefined) warnings.push(filter.warning);
    else seccompPath = filter.path;
  }

  let firstUid = options.firstUid === undefined ? defaultFirstUid(options.defaultFirstUid) : options.firstUid;
  let problem = await probeSandbox(bwrapPath, pythonPath, firstUid, 'pass', seccompPath);
  if (problem !== null && seccompPath !== null) {
    if ((await probeSandbox(bwrapPath, pythonPath, firstUid, 'pass', null)) === null) {
      warnings.push(`bwrap refuses the seccomp filter (${problem}): sandboxes run without one`);
      seccompPath = null;
      problem = null;
    }
  }
  if (problem !== null && options.firstUid === undefined && firstUid !== null) {
    // Hosts that forbid unprivileged user namespaces still let root (with CAP_SYS_ADMIN) run bwrap.
    if ((await probeSandbox(bwrapPath, pythonPath, null, 'pass', seccompPath)) === null) {
      warnings.push(rootFallbackWarning(firstUid, problem));
      firstUid = null;
      problem = null;
    }
  }
  if (problem !== null) throw new SandboxUnavailableError(problem);
  if (firstUid !== null) {
    await assertReachable(workRoot, firstUid);
    await assertReachable(mplConfigDir, firstUid);
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
  const baseArgs = [
    ...isolationArgs(rootArgs, options.tmpBytes),
    ...['--ro-bind', join(hostDir, 'runner.py'), INNER_RUNNER],
    ...['--ro-bind', join(hostDir, 'passwd'), '/etc/passwd', '--ro-bind', join(hostDir, 'group'), '/etc/group'],
    ...mplFiles.flatMap((file) => ['--ro-bind', file, `${INNER_MPLCONFIG}/${file.split(sep).pop()}`]),
    ...sandboxEnv(INNER_MPLCONFIG),
  ];
  return {
    baseArgs,
    uids: firstUid === null ? null : { first: firstUid, count: options.uidCount },
    seccomp: seccompPath === null ? null : await readFile(seccompPath),
    warnings,
  };
}

/** The prefix of a pooled sandbox's folder: named after the worker, so that a later one can tell it is stale. */
export function poolDirPrefix(): string {
  return `pool-${process.pid}-`;
}

/**
 * Removes the folders of pooled sandboxes whose worker died without close() (their processes died
 * with it: bwrap runs with --die-with-parent). Folders of live workers sharing `workRoot` stay.
 */
async function removeStalePoolDirs(workRoot: string): Promise<void> {
  for (const name of await readdir(workRoot)) {
    const match = /^pool-(\d+)-[0-9a-f]+$/.exec(name);
    if (match && !isAlive(Number(match[1]))) await rm(join(workRoot, name), { recursive: true, force: true });
  }
}

function isAlive(pid: number): boolean {
  try {
    // Signal 0 only asks whether the process exists.
    process.kill(pid, 0);
    return true;
  } catch (error) {
    return (error as NodeJS.ErrnoException).code === 'EPERM';
  }
}

/** Runs `code` in a minimal sandbox as `uid`; returns what went wrong, or null. */
export async function probeSandbox(
  bwrapPath: string,
  pythonPath: string,
  uid: number | null,
  code: string,
  seccompPath: string | null = null,
): Promise<string | null> {
  const args = [
    ...isolationArgs(await rootLinkArgs(), 64 * 1024 ** 2),
    ...sandboxEnv(INNER_MPLCONFIG),
    ...(seccompPath === null ? [] : ['--seccomp', '3']),
    ...['--', pythonPath, '-c', code],
  ];
  const { exitCode, signal, output, spawnError } = await runQuietly(bwrapPath, args, {
    timeoutMs: 60_000,
    uid,
    fd3Path: seccompPath,
  });
  if (spawnError) {
    const hint = spawnError.code === 'ENOENT' ? ' (install the bubblewrap package)' : '';
    return `Could not start ${bwrapPath}: ${spawnError.message}${hint}`;
  }
  if (exitCode === 0) return null;
  const as = uid === null ? '' : ` as uid ${uid}`;
  return `${pythonPath} running \`${code}\` in bwrap${as} ended with ${exitCode ?? signal}: ${tail(output, 1000) || 'no message'}`;
}

/** The uid sandboxes start from when the caller did not say: a range of their own when the worker is root. */
export function defaultFirstUid(whenRoot: number): number | null {
  return process.getuid?.() === 0 ? whenRoot : null;
}

export function rootFallbackWarning(uid: number, problem: string): string {
  return (
    `bwrap cannot run as uid ${uid} here (${problem}); sandboxes run as root instead, ` +
    'where the process limit is not enforced. Allow unprivileged user namespaces to fix this.'
  );
}

/** The end of a process's output, for an error message. */
export function tail(text: string, chars = STDERR_TAIL_CHARS): string {
  const trimmed = text.trim();
  return trimmed.length <= chars ? trimmed : `…${trimmed.slice(-chars)}`;
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
    const { exitCode, output } = await runQuietly(pythonPath, ['-c', 'import matplotlib.pyplot'], {
      env,
      timeoutMs: 120_000,
    });
    if (exitCode !== 0) {
      throw new SandboxUnavailableError(`Could not build matplotlib's font cache with ${pythonPath}: ${tail(output)}`);
    }
  }
  const names = await list();
  for (const name of names) await chmod(join(dir, name), 0o644);
  return names.map((name) => join(dir, name));
}
