/**
 * What untrusted code cannot do in the local sandbox, with real bwrap and Debian's python3: every case
 * checks that the attempt was contained and that the run ends with a clear failure or error, that the
 * run left no process behind, and, at the end, that the same LocalSandbox still serves.
 */
import { execFileSync } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import {
  chmodSync,
  existsSync,
  mkdtempSync,
  readFileSync,
  readdirSync,
  rmSync,
  statSync,
  writeFileSync,
} from 'node:fs';
import { createServer, connect, type Server } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { hostFileInput } from '../../src/sandbox/host-file-input';
import { LocalSandbox } from '../../src/sandbox/local-sandbox';
import type { SandboxExecution, SandboxRunRequest } from '../../src/sandbox/types';
import { allProcesses, type HostProcess } from '../support/processes';
import { isRoot, testWhen } from '../support/skip';

jest.setTimeout(30_000);

const SECRET = 'sk-test-secret';
/**
 * A uid range of this file's own (the other files use the default one), so that a process of ours
 * that escaped the sandbox's tree, wherever it was reparented, is still found by its uid.
 */
const FIRST_UID = 62_000;
const UID_COUNT = 16;
const LIMITS = {
  memoryBytes: 1024 ** 3,
  cpuSeconds: 20,
  maxProcesses: 32,
  maxFileBytes: 16 * 1024 ** 2,
  workspaceBytes: 64 * 1024 ** 2,
  maxOutputBytes: 256 * 1024,
};

let root: string;
let workRoot: string;
/** Outside every sandbox: the code must never read it, whatever path it tries. */
let hostSecretDir: string;
let hostSecretFile: string;
let pooled: LocalSandbox;
let cold: LocalSandbox;
const warnings: string[] = [];
const previousKey = process.env.OPENAI_API_KEY;

beforeAll(async () => {
  // Set before any sandbox starts, pooled ones included: nothing of it may reach them.
  process.env.OPENAI_API_KEY = SECRET;
  root = mkdtempSync(join(tmpdir(), 'sandbox-security-'));
  chmodSync(root, 0o755);
  workRoot = join(root, 'work');
  hostSecretDir = join(root, 'host-secret');
  hostSecretFile = join(hostSecretDir, 'secret.txt');
  execFileSync('mkdir', ['-m', '0755', hostSecretDir]);
  writeFileSync(hostSecretFile, `host secret ${SECRET}\n`, { mode: 0o644 });
  const onWarning = (message: string): void => void warnings.push(message);
  const uids = isRoot ? { sandboxUid: FIRST_UID, sandboxUidCount: UID_COUNT } : {};
  pooled = new LocalSandbox({ workRoot, poolSize: 2, limits: LIMITS, onWarning, ...uids });
  cold = new LocalSandbox({ workRoot, poolSize: 0, limits: LIMITS, onWarning, ...uids });
  await Promise.all([pooled.warmUp(), cold.warmUp()]);
});

afterAll(async () => {
  await Promise.all([pooled?.close(), cold?.close()]);
  if (previousKey === undefined) delete process.env.OPENAI_API_KEY;
  else process.env.OPENAI_API_KEY = previousKey;
  rmSync(root, { recursive: true, force: true });
});

afterEach(() => {
  // Checked at once: a run's processes must be gone when run() returns, not some time after.
  expect(leftoverProcesses()).toEqual([]);
});

test('no weaker fallback was taken: no warning', () => {
  expect(warnings).toEqual([]);
});

test.each([
  ['pooled', () => pooled],
  ['cold', () => cold],
])('the %s sandbox runs its code under the seccomp filter', async (_mode, sandbox) => {
  // Seccomp 2 is SECCOMP_MODE_FILTER; 0 would be a sandbox without the filter.
  const execution = await run(
    'print([line for line in open("/proc/self/status") if line.startswith("Seccomp:")][0].split()[1])',
    {},
    sandbox(),
  );
  expect(execution.error).toBeNull();
  expect(stdoutOf(execution)).toBe('2\n');
});

testWhen(isRoot, 'only a root worker runs sandboxes as uids of their own')(
  'two sandboxes running at once each run as a uid of their own from the range, never root',
  async () => {
    const controller = new AbortController();
    const ids = [`uid-pooled-${randomBytes(4).toString('hex')}`, `uid-cold-${randomBytes(4).toString('hex')}`];
    const runs = [pooled, cold].map((on, i) =>
      run('import time\ntime.sleep(60)', { runId: ids[i], signal: controller.signal }, on).catch(
        (error: unknown) => error,
      ),
    );
    // The host uids of each run's processes (its command lines carry the run id once it has the job).
    const uidsOf = (runId: string) =>
      new Set(
        allProcesses()
          .filter((entry) => entry.cmdline.includes(runId))
          .map((entry) => entry.uid),
      );
    try {
      await waitFor(() => ids.every((runId) => uidsOf(runId).size > 0), 15_000);
      const [a, b] = ids.map((runId) => [...uidsOf(runId)]);
      expect(a).toHaveLength(1);
      expect(b).toHaveLength(1);
      expect(a[0]).not.toBe(b[0]);
      for (const uid of [a[0], b[0]]) {
        expect(uid).toBeGreaterThanOrEqual(FIRST_UID);
        expect(uid).toBeLessThan(FIRST_UID + UID_COUNT);
      }
    } finally {
      controller.abort();
      await Promise.all(runs);
    }
  },
);

testWhen(isRoot, 'only a root worker gives sandboxes uids of their own to look for')(
  'the leftover check sees a process of a sandbox uid that left the tree (so that it can fail)',
  async () => {
    // A shell of the last uid of the range starts a sleep in the background and exits: the sleep is
    // reparented away from this process, as an escaped daemon would be.
    // A duration of its own (30.xxxxxx s) marks the sleep.
    const marker = `sleep 30.${Math.floor(Math.random() * 1e6)}`;
    execFileSync('/bin/sh', ['-c', `${marker} > /dev/null 2>&1 &`], { uid: FIRST_UID + UID_COUNT - 1 });
    try {
      await waitFor(() => escapedProcesses().some((line) => line.includes(marker)), 5000);
    } finally {
      for (const entry of allProcesses().filter((candidate) => candidate.cmdline.includes(marker))) {
        process.kill(entry.pid, 'SIGKILL');
      }
      await waitFor(() => !escapedProcesses().some((line) => line.includes(marker)), 5000);
    }
  },
);

function newOutputDir(): string {
  return mkdtempSync(join(root, 'out-'));
}

function run(
  code: string,
  extra: Partial<SandboxRunRequest> = {},
  on: LocalSandbox = pooled,
): Promise<SandboxExecution> {
  return on.run({
    runId: `sec-${randomBytes(6).toString('hex')}`,
    code,
    files: [],
    timeoutMs: 15_000,
    ...extra,
    outputDir: extra.outputDir ?? newOutputDir(),
  });
}

function stdoutOf(execution: SandboxExecution): string {
  return execution.logs.stdout.join('');
}

/** An idle started-ahead runner: warm (`pool`) or bare. */
const IDLE_RUNNER = /^\/usr\/bin\/python3 -B -u -s \/\.runner\/runner\.py (pool|bare)$/;

/** The bwrap process trees under this test process: one per sandbox, pooled or running. */
function sandboxTrees(): { pool: boolean; members: string[] }[] {
  const parentOf = new Map<number, number>();
  const cmdlineOf = new Map<number, string>();
  for (const entry of readdirSync('/proc')) {
    if (!/^\d+$/.test(entry)) continue;
    try {
      const stat = readFileSync(`/proc/${entry}/stat`, 'utf8');
      parentOf.set(Number(entry), Number(stat.slice(stat.lastIndexOf(')') + 2).split(' ')[1]));
      cmdlineOf.set(Number(entry), readFileSync(`/proc/${entry}/cmdline`, 'utf8').replace(/\0/g, ' ').trim());
    } catch {
      // Gone while listing.
    }
  }
  const trees = new Map<number, { pool: boolean; members: string[]; foreign: boolean; idleRunner: boolean }>();
  for (const [pid, cmdline] of cmdlineOf) {
    // The outermost bwrap between this process and pid, if pid descends from us through one.
    let outer: number | null = null;
    let current: number | undefined = pid;
    while (current !== undefined && current > 1 && current !== process.pid) {
      if (cmdlineOf.get(current)?.startsWith('/usr/bin/bwrap ')) outer = current;
      current = parentOf.get(current);
    }
    if (current !== process.pid || outer === null) continue;
    const bwrapCmdline = cmdlineOf.get(outer) ?? '';
    const tree = trees.get(outer) ?? {
      pool: / \/\.runner\/runner\.py (pool|bare)$/.test(bwrapCmdline),
      members: [],
      foreign: false,
      idleRunner: false,
    };
    trees.set(outer, tree);
    // A pooled sandbox waiting for its job is bwrap, bwrap's init (the same command line) and the runner;
    // while it still imports, its libraries may start short helpers (`uname -p`) of their own.
    if (IDLE_RUNNER.test(cmdline)) tree.idleRunner = true;
    else if (cmdline !== bwrapCmdline) tree.foreign = true;
    tree.members.push(`${pid} ${cmdline.slice(0, 160)}`);
  }
  return [...trees.values()].map(({ pool, members, foreign, idleRunner }) => ({
    pool: pool && (!foreign || idleRunner),
    members,
  }));
}

/** Processes of the host, wherever they are in the tree, running as one of this file's sandbox uids. */
function sandboxProcessesByUid(listed: HostProcess[]): HostProcess[] {
  if (!isRoot) return [];
  // Processes on their way out are left aside: exiting, without a command line (their memory already
  // released), or zombies. A bwrap of a run that just ended is one such for a moment, reparented to
  // init, and stays a zombie on hosts whose init never reaps.
  return listed.filter(
    (entry) =>
      entry.uid >= FIRST_UID &&
      entry.uid < FIRST_UID + UID_COUNT &&
      entry.state !== 'Z' &&
      !entry.exiting &&
      entry.cmdline !== '',
  );
}

/** Live processes with a sandbox uid that are not below this process: they left their sandbox's tree. */
function escapedProcesses(): string[] {
  // One listing for both the tree and the uids: a spare the pool starts between two listings would
  // otherwise have no known parent and look escaped.
  const listed = allProcesses();
  const parentOf = new Map(listed.map((entry) => [entry.pid, entry.ppid]));
  const below = (pid: number): boolean => {
    for (let current = parentOf.get(pid); current !== undefined && current > 0; current = parentOf.get(current)) {
      if (current === process.pid) return true;
    }
    return false;
  };
  return sandboxProcessesByUid(listed)
    .filter((entry) => !below(entry.pid))
    .map((entry) => `${entry.pid} (outside the tree) ${entry.cmdline.slice(0, 160)}`);
}

/**
 * Processes that no idle pooled sandbox accounts for: those of a run that should have ended. The
 * trees under this process are checked, and (as root) every process of the host with a sandbox uid,
 * so that a daemon that left its tree is seen too.
 */
function leftoverProcesses(): string[] {
  const trees = sandboxTrees();
  const pools = trees.filter((tree) => tree.pool);
  const { idle, starting, bare, bareStarting } = pooled.poolStatus();
  // More pool-shaped trees than the pool holds: one of them still runs a job in its runner.
  const extra = pools.length > idle + starting + bare + bareStarting ? pools.flatMap((tree) => tree.members) : [];
  return [...trees.filter((tree) => !tree.pool).flatMap((tree) => tree.members), ...extra, ...escapedProcesses()];
}

describe.each([
  ['pooled', () => pooled],
  ['cold', () => cold],
])('%s sandbox', (_mode, sandbox) => {
  test('no network: TCP to 1.1.1.1 and to a server on the host loopback both fail', async () => {
    const connections: string[] = [];
    const server: Server = createServer((socket) => {
      connections.push(String(socket.remoteAddress));
      socket.destroy();
    });
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    const port = (server.address() as { port: number }).port;
    try {
      // The server does answer on the host: an unreachable server proves nothing.
      await new Promise<void>((resolve, reject) => {
        const client = connect(port, '127.0.0.1', () => {
          client.destroy();
          resolve();
        }).on('error', reject);
      });
      await waitFor(() => connections.length === 1, 2000);

      for (const [host, target] of [
        ['1.1.1.1', 53],
        ['127.0.0.1', port],
      ] as const) {
        const execution = await run(
          `import socket\nsocket.create_connection((${JSON.stringify(host)}, ${target}), timeout=3)\nprint("connected")`,
          {},
          sandbox(),
        );
        expect(execution.failure).toBe('CODE_ERROR');
        // With the seccomp filter socket() itself is refused, whatever the address; without it the
        // sandbox's own loopback is all there is (unreachable, or refused).
        expect(execution.error?.value).toMatch(
          /\[Errno (97|101|111)\] (Address family not supported by protocol|Network is unreachable|Connection refused)/,
        );
        expect(stdoutOf(execution)).not.toContain('connected');
      }
      expect(connections).toHaveLength(1);
    } finally {
      server.close();
    }
  });

  test.each([
    ['/etc/shadow', 'open("/etc/shadow").read()'],
    ['/root', 'import os\nos.listdir("/root")'],
    ['the host folder of the test', `open(${JSON.stringify('HOST_SECRET')}).read()`],
    ['a host file through /proc/1/root', `open("/proc/1/root" + ${JSON.stringify('HOST_SECRET')}).read()`],
  ])('host files are out of reach: %s', async (_label, template) => {
    const execution = await run(template.replace('HOST_SECRET', hostSecretFile), {}, sandbox());

    expect(execution.failure).toBe('CODE_ERROR');
    expect(execution.error?.name).toBe('FileNotFoundError');
    expect(JSON.stringify(execution)).not.toContain(SECRET);
  });

  test("the host's /proc/1 is not the sandbox's: its pid 1 is the sandbox's own init", async () => {
    const hostInit = readFileSync('/proc/1/cmdline', 'utf8').split('\0')[0];
    let hostInitEnviron: string[] = [];
    try {
      hostInitEnviron = readFileSync('/proc/1/environ', 'utf8').split('\0').filter(Boolean);
    } catch {
      // Some hosts' init hides its environment even from root: then there is less to compare.
    }
    const execution = await run(
      [
        'import os',
        'print("cmdline:", open("/proc/1/cmdline", "rb").read().split(b"\\0")[0].decode())',
        'print("environ:", open("/proc/1/environ", "rb").read())',
        'print("pids:", sorted(int(p) for p in os.listdir("/proc") if p.isdigit()))',
        // The worker's pid means nothing in here: it cannot be signalled, or even found.
        `os.kill(${process.pid}, 0)`,
      ].join('\n'),
      {},
      sandbox(),
    );
    const stdout = stdoutOf(execution);

    expect(stdout).toContain('cmdline: /usr/bin/bwrap\n');
    expect(stdout).not.toContain(hostInit);
    for (const variable of hostInitEnviron) expect(stdout).not.toContain(variable);
    expect(stdout).not.toContain(SECRET);
    // Its own init, its runner (and nothing of the host) are all the processes it can see.
    expect(stdout).toMatch(/^pids: \[1, \d+\]$/m);
    expect(execution.failure).toBe('CODE_ERROR');
    expect(execution.error).toMatchObject({ name: 'ProcessLookupError', value: '[Errno 3] No such process' });
  });

  test('the host environment is nowhere: not in os.environ, nor in any /proc/*/environ or cmdline', async () => {
    const execution = await run(
      [
        'import glob, os',
        'seen = [repr(dict(os.environ))]',
        'for path in glob.glob("/proc/*/environ") + glob.glob("/proc/*/cmdline") + glob.glob("/proc/*/task/*/environ"):',
        '    try:',
        '        seen.append(open(path, "rb").read().decode("latin-1"))',
        '    except OSError:',
        '        pass',
        'print("\\n".join(seen))',
        'os.environ["OPENAI_API_KEY"]',
      ].join('\n'),
      {},
      sandbox(),
    );
    const stdout = stdoutOf(execution);

    // The code did read environments: the sandbox's own variables are there.
    expect(stdout).toContain('MPLBACKEND');
    expect(stdout).not.toContain(SECRET);
    expect(stdout).not.toContain('OPENAI_API_KEY');
    expect(stdout).not.toContain(process.env.PATH ?? 'no PATH on the host');
    expect(execution.failure).toBe('CODE_ERROR');
    expect(execution.error).toMatchObject({ name: 'KeyError', value: "'OPENAI_API_KEY'" });
  });

  test('nested namespaces are refused: unshare -U and unshare(2)', async () => {
    const cli = await run('import subprocess\nsubprocess.run(["unshare", "-U", "true"], check=True)', {}, sandbox());
    expect(cli.failure).toBe('CODE_ERROR');
    expect(cli.error?.name).toBe('CalledProcessError');
    expect(cli.logs.stderr.join('')).toMatch(/unshare failed/);

    const call = await run(
      [
        'import ctypes, os',
        'CLONE_NEWUSER, CLONE_NEWNS, CLONE_NEWNET = 0x10000000, 0x00020000, 0x40000000',
        'libc = ctypes.CDLL(None, use_errno=True)',
        'for flags in (CLONE_NEWUSER, CLONE_NEWNS, CLONE_NEWNET):',
        '    if libc.unshare(flags) != 0:',
        '        error = ctypes.get_errno()',
        '        print(flags, os.strerror(error))',
        '    else:',
        '        print(flags, "allowed")',
        'if libc.unshare(CLONE_NEWNS) != 0:',
        '    raise OSError(ctypes.get_errno(), "unshare(CLONE_NEWNS)")',
      ].join('\n'),
      {},
      sandbox(),
    );
    // --disable-userns leaves no user namespace to make (ENOSPC); without capabilities the others are EPERM.
    expect(stdoutOf(call)).toBe(
      `${0x10000000} No space left on device\n${0x20000} Operation not permitted\n${0x40000000} Operation not permitted\n`,
    );
    expect(call.failure).toBe('CODE_ERROR');
    expect(call.error).toMatchObject({ name: 'PermissionError', value: '[Errno 1] unshare(CLONE_NEWNS)' });
  });

  testWhen(process.arch === 'x64', `its system call numbers are x86_64's, this is ${process.arch}`)(
    'the seccomp filter denies ptrace, bpf, io_uring, mount, keyrings, perf and non-Unix sockets',
    async () => {
      const execution = await run(
        [
          'import ctypes, multiprocessing, os, socket',
          'libc = ctypes.CDLL(None, use_errno=True)',
          'calls = {"ptrace": 101, "bpf": 321, "io_uring_setup": 425, "mount": 165, "keyctl": 250,',
          '         "add_key": 248, "request_key": 249, "perf_event_open": 298, "kexec_load": 246, "finit_module": 313}',
          'for name, number in calls.items():',
          '    ctypes.set_errno(0)',
          '    result = libc.syscall(number, 0, 0, 0, 0, 0)',
          '    print(name, result, os.strerror(ctypes.get_errno()) if result == -1 else "allowed")',
          'for family in ("AF_INET", "AF_INET6", "AF_NETLINK", "AF_PACKET"):',
          '    try:',
          '        socket.socket(getattr(socket, family), socket.SOCK_DGRAM if family != "AF_PACKET" else socket.SOCK_RAW)',
          '        print(family, "allowed")',
          '    except OSError as error:',
          '        print(family, error.strerror)',
          // What analysis code does need still works: Unix sockets and multiprocessing.
          'socket.socketpair(socket.AF_UNIX)',
          'with multiprocessing.Pool(2) as pool:',
          '    print("pool", pool.map(abs, [-1, -2]))',
          'if libc.syscall(101, 0, 0, 0, 0, 0) != 0:',
          '    raise OSError(ctypes.get_errno(), "ptrace(PTRACE_TRACEME)")',
        ].join('\n'),
        {},
        sandbox(),
      );
      const stdout = stdoutOf(execution);

      for (const name of ['ptrace', 'bpf', 'io_uring_setup', 'mount', 'keyctl', 'add_key', 'request_key']) {
        expect(stdout).toContain(`${name} -1 Operation not permitted\n`);
      }
      for (const name of ['perf_event_open', 'kexec_load', 'finit_module']) {
        expect(stdout).toContain(`${name} -1 Operation not permitted\n`);
      }
      for (const family of ['AF_INET', 'AF_INET6', 'AF_NETLINK', 'AF_PACKET']) {
        expect(stdout).toContain(`${family} Address family not supported by protocol\n`);
      }
      expect(stdout).toContain('pool [1, 2]\n');
      expect(execution.failure).toBe('CODE_ERROR');
      expect(execution.error).toMatchObject({ name: 'PermissionError', value: '[Errno 1] ptrace(PTRACE_TRACEME)' });
    },
  );

  test('a fork bomb hits the process limit and the host stays healthy', async () => {
    const execution = await run('import os\nwhile True:\n    os.fork()', { timeoutMs: 20_000 }, sandbox());

    expect(['RESOURCE_EXHAUSTED', 'CODE_ERROR']).toContain(execution.failure);
    // The process limit stopped it, not the 20 s timeout.
    expect(execution.error?.value).toMatch(/Resource temporarily unavailable/);
    // The host can still start processes.
    expect(execFileSync('/bin/echo', ['alive'], { encoding: 'utf8' })).toBe('alive\n');
  });

  test('a memory bomb is RESOURCE_EXHAUSTED', async () => {
    const huge = await run('x = bytearray(10**10)', {}, sandbox());
    expect(huge.failure).toBe('RESOURCE_EXHAUSTED');
    expect(huge.error?.name).toBe('MemoryError');

    const growing = await run('x = []\nwhile True:\n    x.append(bytearray(10**7))', {}, sandbox());
    expect(growing.failure).toBe('RESOURCE_EXHAUSTED');
  });

  test.each([
    ['many files in the workspace', 'for i in range(10**6):\n    open(f"part-{i}", "wb").write(b"x" * 10**6)'],
    ['one file past the file size limit', 'open("big", "wb").write(b"x" * (32 * 10**6))'],
    ['/tmp', 'for i in range(10**6):\n    open(f"/tmp/part-{i}", "wb").write(b"x" * 10**6)'],
  ])('filling the disk is RESOURCE_EXHAUSTED: %s', async (_label, code) => {
    const outputDir = newOutputDir();
    const execution = await run(code, { outputDir }, sandbox());

    expect(execution.failure).toBe('RESOURCE_EXHAUSTED');
    expect(execution.error?.name).toMatch(/^(OSError|DiskLimitExceeded|ResourceLimitExceeded)$/);
    // What reaches the host stays bounded: at most maxFiles files, none past the file size limit.
    const collected = readdirSync(outputDir);
    expect(collected.length).toBeLessThanOrEqual(100);
    for (const name of collected) expect(statSync(join(outputDir, name)).size).toBeLessThanOrEqual(LIMITS.maxFileBytes);
  });

  test('endless output is OUTPUT_LIMIT, kept up to the limit', async () => {
    const execution = await run('while True:\n    print("x" * 99)', {}, sandbox());

    expect(execution.failure).toBe('OUTPUT_LIMIT');
    expect(execution.error?.name).toBe('OutputLimitExceeded');
    expect(execution.truncated.stdout).toBe(true);
    expect(Buffer.byteLength(stdoutOf(execution))).toBe(LIMITS.maxOutputBytes);
  });

  test('an endless loop is SANDBOX_TIMEOUT, daemons included', async () => {
    const started = Date.now();
    const execution = await run(
      'import subprocess\nsubprocess.Popen(["sleep", "60"], start_new_session=True)\nwhile True:\n    pass',
      { timeoutMs: 1000 },
      sandbox(),
    );

    expect(execution.failure).toBe('SANDBOX_TIMEOUT');
    expect(execution.error?.name).toBe('TimeoutError');
    // The daemon (sleeping 60 s) did not keep the run alive; the bound is loose so a busy host passes.
    expect(Date.now() - started).toBeLessThan(25_000);
  });

  test('a daemon left behind by code that ended normally dies with the run', async () => {
    const execution = await run(
      'import subprocess\nsubprocess.Popen(["sleep", "60"], start_new_session=True)\nprint("started")',
      {},
      sandbox(),
    );

    expect(execution.failure).toBeNull();
    expect(stdoutOf(execution)).toBe('started\n');
  });

  test('symlinks and hard links are never collected, and no host file is read through them', async () => {
    const csv = join(root, `input-${randomBytes(4).toString('hex')}.csv`);
    writeFileSync(csv, 'a\n1\n');
    const outputDir = newOutputDir();
    const execution = await run(
      [
        'import os',
        'os.symlink("/etc/passwd", "passwd-link")',
        `os.symlink(${JSON.stringify(hostSecretFile)}, "outside-link")`,
        `os.symlink(${JSON.stringify(hostSecretDir)}, "outside-dir")`,
        'os.symlink("/", "root-dir")',
        'os.makedirs("reports")',
        'os.symlink("/etc", "reports/etc")',
        // An input swapped for a link to a host path must not be "rewritten input" either.
        'os.remove("data.csv")',
        `os.symlink(${JSON.stringify(hostSecretFile)}, "data.csv")`,
        'open("kept.txt", "w").write("kept")',
        'for source in ("/etc/passwd", "/usr/bin/python3", "/workspace/kept.txt"):',
        '    try:',
        '        os.link(source, "hard-" + os.path.basename(source))',
        '        print("linked", source)',
        '    except OSError as error:',
        '        print("refused", source, error.errno)',
        'os.link("/etc/passwd", "hard-link")',
      ].join('\n'),
      { files: [hostFileInput('data.csv', csv)], outputDir },
      sandbox(),
    );

    // Hard links out of the workspace cross a mount: EXDEV. One inside it is just a file.
    expect(stdoutOf(execution)).toContain('refused /etc/passwd 18');
    expect(stdoutOf(execution)).toContain('refused /usr/bin/python3 18');
    expect(execution.failure).toBe('CODE_ERROR');
    expect(execution.error?.value).toContain('Invalid cross-device link');
    expect(execution.files.map((file) => file.name).sort()).toEqual(['hard-kept.txt', 'kept.txt']);
    expect(readdirSync(outputDir).sort()).toEqual(['hard-kept.txt', 'kept.txt']);
    for (const name of readdirSync(outputDir)) {
      expect(readFileSync(join(outputDir, name), 'utf8')).toBe('kept');
    }
    expect(readFileSync(hostSecretFile, 'utf8')).toBe(`host secret ${SECRET}\n`);
    expect(readFileSync(csv, 'utf8')).toBe('a\n1\n');
  });

  test.each(['../x', '/etc/x', 'a/../../b', '..', 'a//b', '.bashrc', 'a/.ssh/x'])(
    'uploaded name %p is refused',
    async (name) => {
      const outputDir = newOutputDir();
      const before = readdirSync(root).sort();
      const status = sandbox().poolStatus();

      await expect(
        run('print(1)', { files: [hostFileInput(name, hostSecretFile)], outputDir }, sandbox()),
      ).rejects.toThrow(/not a plain file name/);
      expect(readdirSync(outputDir)).toEqual([]);
      expect(readdirSync(root).sort()).toEqual(before);
      expect(existsSync('/etc/x')).toBe(false);
      // Refused before a sandbox was taken from the pool.
      expect(sandbox().poolStatus().idle).toBe(status.idle);
    },
  );
});

test("two concurrent runs cannot read each other's files by any path", async () => {
  const marker = (label: string) => `${label}-${randomBytes(6).toString('hex')}`;
  const tokenA = marker('token-a');
  const tokenB = marker('token-b');
  // A writes its secret everywhere it can, then waits for the host to let it finish.
  const a = run(
    [
      'import os, time',
      'for folder in ("/workspace", "/tmp", "/dev/shm"):',
      `    open(os.path.join(folder, "secret-a.txt"), "w").write(${JSON.stringify(tokenA)})`,
      'while not os.path.exists("release"):',
      '    time.sleep(0.02)',
    ].join('\n'),
    {},
    pooled,
  );
  const deadline = Date.now() + 10_000;
  let workspaceA: string | undefined;
  while (workspaceA === undefined && Date.now() < deadline) {
    workspaceA = readdirSync(workRoot)
      .map((name) => join(workRoot, name, 'workspace'))
      .find((dir) => existsSync(join(dir, 'secret-a.txt')));
    await new Promise((resolve) => setTimeout(resolve, 20));
  }
  expect(workspaceA).toBeDefined();
  // A is running, so the leftover check (run after every case) sees its processes.
  expect(leftoverProcesses()).not.toEqual([]);

  // B (cold, and as a second check a pooled one) searches every path it has for A's token.
  const hostCandidates = readdirSync(workRoot).flatMap((name) => [
    join(workRoot, name, 'workspace', 'secret-a.txt'),
    join(workRoot, name, 'results'),
  ]);
  const search = [
    'import glob, os, stat',
    `open("/workspace/secret-b.txt", "w").write(${JSON.stringify(tokenB)})`,
    'found = []',
    'def look(path):',
    '    try:',
    // Regular files only: a pipe or socket (our own stdout, say) would block the read.
    '        if not stat.S_ISREG(os.stat(path).st_mode):',
    '            return',
    '        with open(path, "rb") as handle:',
    '            data = handle.read(1 << 16)',
    '    except OSError:',
    '        return',
    `    for token in (${JSON.stringify(tokenA)}, ${JSON.stringify(tokenB)}):`,
    '        if token.encode() in data:',
    '            found.append((token[:7], path))',
    // Everything but /usr (read-only, from the host, where the walk would take seconds) and /proc.
    'for folder, dirs, files in os.walk("/"):',
    '    if folder == "/":',
    '        dirs[:] = [d for d in dirs if d not in ("proc", "sys", "usr")]',
    '    for name in files:',
    '        look(os.path.join(folder, name))',
    'for pattern in ("/proc/*/root/workspace/*", "/proc/*/cwd/*", "/proc/*/root/tmp/*", "/proc/*/fd/*"):',
    '    for path in glob.glob(pattern):',
    '        look(path)',
    `for path in ${JSON.stringify([...hostCandidates, `${workspaceA}/secret-a.txt`])}:`,
    '    look(path)',
    'print(sorted(set(found)))',
  ].join('\n');
  try {
    for (const on of [cold, pooled]) {
      const b = await run(search, {}, on);
      const stdout = stdoutOf(b);
      expect(b.error).toBeNull();
      // The search works: it finds B's own token…
      expect(stdout).toContain("('token-b', '/workspace/secret-b.txt')");
      // …and never A's.
      expect(stdout).not.toContain('token-a');
    }
  } finally {
    writeFileSync(join(workspaceA as string, 'release'), '');
  }
  const finished = await a;
  expect(finished.failure).toBeNull();
  expect(finished.files.map((file) => file.name)).toEqual(['release', 'secret-a.txt']);
});

test('after all of that, the same sandboxes still run print(1)', async () => {
  for (const on of [pooled, cold]) {
    const execution = await run('print(1)', {}, on);
    expect(execution.failure).toBeNull();
    expect(stdoutOf(execution)).toBe('1\n');
  }
});

async function waitFor(predicate: () => boolean, timeoutMs: number): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!predicate()) {
    if (Date.now() > deadline) throw new Error('condition not met in time');
    await new Promise((resolve) => setTimeout(resolve, 20));
  }
}
