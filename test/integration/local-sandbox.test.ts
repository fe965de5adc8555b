import { execFileSync, spawnSync } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import {
  chmodSync,
  existsSync,
  mkdirSync,
  mkdtempSync,
  readFileSync,
  readdirSync,
  rmSync,
  statSync,
  writeFileSync,
} from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { hostFileInput } from '../../src/sandbox/host-file-input';
import { LocalSandbox, checkLocalSandbox } from '../../src/sandbox/local-sandbox';
import { SandboxUnavailableError, type SandboxExecution, type SandboxRunRequest } from '../../src/sandbox/types';
import { processesMentioning } from '../support/processes';
import { isRoot, testWhen } from '../support/skip';

jest.setTimeout(30_000);

const PNG_MAGIC = Buffer.from([0x89, 0x50, 0x4e, 0x47]);

let root: string;
let workRoot: string;
let sandbox: LocalSandbox;
/** Small limits, so that the limit tests end fast. */
let tight: LocalSandbox;

beforeAll(() => {
  root = mkdtempSync(join(tmpdir(), 'local-sandbox-test-'));
  // The sandbox runs as an unprivileged uid that must be able to walk down to its folders.
  chmodSync(root, 0o755);
  workRoot = join(root, 'work');
  sandbox = new LocalSandbox({ workRoot });
  tight = new LocalSandbox({
    workRoot,
    limits: { memoryBytes: 512 * 1024 ** 2, cpuSeconds: 1, maxOutputBytes: 64 * 1024, workspaceBytes: 8 * 1024 ** 2 },
  });
});

afterAll(async () => {
  await sandbox.close();
  await tight.close();
  rmSync(root, { recursive: true, force: true });
});

function newRunId(label: string): string {
  return `${label}-${randomBytes(6).toString('hex')}`;
}

function newOutputDir(): string {
  return mkdtempSync(join(root, 'out-'));
}

async function run(
  code: string,
  extra: Partial<SandboxRunRequest> = {},
  on: LocalSandbox = sandbox,
): Promise<SandboxExecution> {
  return on.run({ runId: newRunId('run'), code, files: [], outputDir: newOutputDir(), timeoutMs: 20_000, ...extra });
}

/** Pids of the processes whose command line holds `marker` (the runId is in bwrap's and the runner's). */
function processesWith(marker: string): string[] {
  return processesMentioning(marker).map((line) => line.split(' ')[0]);
}

async function waitFor(predicate: () => boolean, timeoutMs: number): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!predicate()) {
    if (Date.now() > deadline) throw new Error('condition not met in time');
    await new Promise((resolve) => setTimeout(resolve, 50));
  }
}

test('checkLocalSandbox finds bwrap and a Python with pandas and matplotlib', async () => {
  await expect(checkLocalSandbox()).resolves.toEqual({ ok: true });
  const missing = await checkLocalSandbox('/usr/bin/no-such-python');
  expect(missing.ok).toBe(false);
  expect(missing.problem).toContain('/usr/bin/no-such-python');
});

test('print goes to stdout, streamed, and a trailing expression is the main result', async () => {
  const streamed: string[] = [];
  const execution = await run('print("hello")\nx = 20\nx * 2 + 2', { onStdout: (chunk) => streamed.push(chunk) });

  expect(execution.failure).toBeNull();
  expect(execution.error).toBeNull();
  expect(execution.logs.stdout.join('')).toBe('hello\n');
  expect(streamed.join('')).toBe('hello\n');
  expect(execution.results).toEqual([{ text: '42', isMainResult: true }]);
  expect(execution.usage.wallMs).toBeGreaterThan(0);
  expect(execution.usage.cpuMs).toBeGreaterThan(0);
  expect(execution.usage.peakMemoryBytes).toBeGreaterThan(1024 * 1024);
});

test('a DataFrame as the trailing expression gives text and HTML', async () => {
  const execution = await run('import pandas as pd\npd.DataFrame({"city": ["Oslo", "Lima"], "n": [3, 4]})');

  expect(execution.error).toBeNull();
  expect(execution.results).toHaveLength(1);
  const [result] = execution.results;
  expect(result.isMainResult).toBe(true);
  expect(result.text).toContain('Oslo');
  expect(result.html).toContain('<table');
  expect(result.html).toContain('<td>Lima</td>');
});

test('an exception is an error with a traceback of the code, not of the runner', async () => {
  const execution = await run('def ratio(a, b):\n    return a / b\n\nprint("before")\nratio(1, 0)\n');

  expect(execution.failure).toBe('CODE_ERROR');
  expect(execution.logs.stdout.join('')).toBe('before\n');
  expect(execution.error?.name).toBe('ZeroDivisionError');
  expect(execution.error?.value).toBe('division by zero');
  expect(execution.error?.traceback).toContain('File "<code>", line 5, in <module>');
  expect(execution.error?.traceback).toContain('return a / b');
  expect(execution.error?.traceback).not.toContain('runner');
});

test('a non-zero sys.exit is an error, a zero one is not', async () => {
  expect((await run('import sys\nsys.exit(3)')).error).toMatchObject({ name: 'SystemExit', value: '3' });
  const clean = await run('import sys\nprint("done")\nsys.exit(0)');
  expect(clean.failure).toBeNull();
  expect(clean.logs.stdout.join('')).toBe('done\n');
});

test('savefig writes a file and leaves no duplicate figure result', async () => {
  const outputDir = newOutputDir();
  const execution = await run(
    ['import matplotlib.pyplot as plt', 'plt.plot([1, 2, 3], [3, 1, 2])', 'plt.savefig("plot.png")'].join('\n'),
    { outputDir },
  );

  expect(execution.error).toBeNull();
  expect(execution.files.map((f) => f.name)).toEqual(['plot.png']);
  expect(readFileSync(join(outputDir, 'plot.png')).subarray(0, 4)).toEqual(PNG_MAGIC);
  expect(execution.results).toEqual([]);
  expect(readdirSync(outputDir)).toEqual(['plot.png']);
});

test('plt.show gives a PNG result per open figure, outside the written files', async () => {
  const outputDir = newOutputDir();
  const execution = await run(
    ['import matplotlib.pyplot as plt', 'plt.bar(["a", "b"], [1, 2])', 'plt.show()', 'print("after")'].join('\n'),
    { outputDir },
  );

  expect(execution.error).toBeNull();
  expect(execution.files).toEqual([]);
  expect(execution.results).toEqual([{ png: 'figure-1.png', isMainResult: false }]);
  expect(readFileSync(join(outputDir, 'figure-1.png')).subarray(0, 4)).toEqual(PNG_MAGIC);
  // No "temporary cache directory" warning: the prebuilt font cache was found and used.
  expect(execution.logs.stderr).toEqual([]);
});

test('a figure left open and never saved becomes a PNG result', async () => {
  const outputDir = newOutputDir();
  const execution = await run('import matplotlib.pyplot as plt\nplt.plot([1, 2])\nNone', { outputDir });

  expect(execution.files).toEqual([]);
  expect(execution.results).toEqual([{ png: 'figure-1.png', isMainResult: false }]);
  expect(existsSync(join(outputDir, 'figure-1.png'))).toBe(true);
});

test('uploaded files are readable; written files are collected, inputs and symlinks are not', async () => {
  const csv = join(root, 'sales.csv');
  writeFileSync(csv, 'region,amount\nnorth,10\nsouth,5\nnorth,7\n');
  const outputDir = newOutputDir();
  const execution = await run(
    [
      'import os, pandas as pd',
      'df = pd.read_csv("sales.csv")',
      'os.makedirs("reports/2024", exist_ok=True)',
      'df.groupby("region").amount.sum().to_csv("reports/2024/totals.csv")',
      'os.symlink("/etc/passwd", "passwd-link")',
      'os.symlink("/workspace/sales.csv", "sales-link")',
      'os.makedirs("__pycache__")',
      'open("__pycache__/junk.pyc", "w").write("x")',
      'int(df.amount.sum())',
    ].join('\n'),
    { files: [hostFileInput('sales.csv', csv)], outputDir },
  );

  expect(execution.error).toBeNull();
  expect(execution.results).toEqual([{ text: '22', isMainResult: true }]);
  expect(execution.files).toEqual([
    { name: 'reports/2024/totals.csv', path: join(outputDir, 'reports/2024/totals.csv'), size: expect.any(Number) },
  ]);
  expect(readFileSync(join(outputDir, 'reports/2024/totals.csv'), 'utf8')).toBe('region,amount\nnorth,17\nsouth,5\n');
  expect(readdirSync(outputDir).sort()).toEqual(['reports']);
  // Whatever uid the sandbox ran as, the worker owns what it hands on.
  expect(statSync(join(outputDir, 'reports/2024/totals.csv')).uid).toBe(process.getuid?.());
});

test('an input the code rewrites is collected', async () => {
  const csv = join(root, 'data.csv');
  writeFileSync(csv, 'a\n1\n');
  const execution = await run('open("data.csv", "a").write("2\\n")', { files: [hostFileInput('data.csv', csv)] });

  expect(execution.files.map((f) => f.name)).toEqual(['data.csv']);
  expect(readFileSync(execution.files[0].path, 'utf8')).toBe('a\n1\n2\n');
  expect(readFileSync(csv, 'utf8')).toBe('a\n1\n');
});

test('an input in a subfolder (a file an earlier step wrote there) is placed there', async () => {
  const csv = join(root, 'nested.csv');
  writeFileSync(csv, 'a\n1\n');
  const execution = await run("print(open('out/deeper/nested.csv').read())", {
    files: [hostFileInput('out/deeper/nested.csv', csv)],
  });
  expect(execution.error).toBeNull();
  expect(execution.logs.stdout.join('')).toBe('a\n1\n\n');
  expect(execution.files).toEqual([]);
});

test('input names that are not plain file names are refused', async () => {
  await expect(run('1', { files: [hostFileInput('../escape.csv', '/etc/hostname')] })).rejects.toThrow(
    /not a plain file name/,
  );
});

test('an endless loop ends in SANDBOX_TIMEOUT and leaves no process behind', async () => {
  const runId = newRunId('timeout');
  const started = Date.now();
  const execution = await sandbox.run({
    runId,
    // A child in its own session, like a daemon, must die with the run as well.
    code: `import subprocess\nsubprocess.Popen(["sh", "-c", "sleep 60; echo ${runId}"], start_new_session=True)\nprint("spinning")\nwhile True:\n    pass`,
    files: [],
    outputDir: newOutputDir(),
    timeoutMs: 1500,
  });

  expect(execution.failure).toBe('SANDBOX_TIMEOUT');
  expect(execution.logs.stdout.join('')).toBe('spinning\n');
  // The daemon (sleeping 60 s) did not keep the run alive; loose, so that a busy host passes.
  expect(Date.now() - started).toBeLessThan(25_000);
  expect(processesWith(runId)).toEqual([]);
});

test('aborting kills the run at once, rejects with AbortError and leaves no process behind', async () => {
  const runId = newRunId('abort');
  const controller = new AbortController();
  const running = sandbox.run({
    runId,
    code: `import subprocess\nsubprocess.Popen(["sh", "-c", "sleep 60; echo ${runId}"])\nwhile True:\n    pass`,
    files: [],
    outputDir: newOutputDir(),
    timeoutMs: 20_000,
    signal: controller.signal,
    onStdout: () => undefined,
  });
  const outcome = running.then(
    () => null,
    (error: unknown) => error,
  );
  // bwrap outside and inside the pid namespace, the runner, and the shell it started.
  await waitFor(() => processesWith(runId).length >= 4, 5000);
  controller.abort();

  const error = await outcome;
  expect(error).toBeInstanceOf(Error);
  expect((error as Error).name).toBe('AbortError');
  expect(processesWith(runId)).toEqual([]);
  expect(readdirSync(workRoot).filter((name) => name.includes(runId))).toEqual([]);
});

test('endless printing ends in OUTPUT_LIMIT with the output kept up to the limit', async () => {
  const execution = await run('while True:\n    print("x" * 99)', {}, tight);

  expect(execution.failure).toBe('OUTPUT_LIMIT');
  expect(execution.truncated.stdout).toBe(true);
  expect(Buffer.byteLength(execution.logs.stdout.join(''))).toBe(64 * 1024);
});

test('a memory bomb is RESOURCE_EXHAUSTED', async () => {
  const huge = await run('x = bytearray(10**10)', {}, tight);
  expect(huge.failure).toBe('RESOURCE_EXHAUSTED');
  expect(huge.error?.name).toBe('MemoryError');

  const growing = await run('x = []\nwhile True:\n    x.append(bytearray(10**7))', {}, tight);
  expect(growing.failure).toBe('RESOURCE_EXHAUSTED');
});

test('using up the CPU time limit is RESOURCE_EXHAUSTED', async () => {
  const execution = await run('while True:\n    pass', { timeoutMs: 10_000 }, tight);

  // RESOURCE_EXHAUSTED, not SANDBOX_TIMEOUT: the 1 s CPU limit ended it before the 10 s wall clock.
  expect(execution.failure).toBe('RESOURCE_EXHAUSTED');
});

test('filling the workspace is RESOURCE_EXHAUSTED', async () => {
  const execution = await run(
    'import time\nfor i in range(1000):\n    open(f"part-{i}", "wb").write(b"x" * 10**6)\n    time.sleep(0.02)',
    {},
    tight,
  );

  expect(execution.failure).toBe('RESOURCE_EXHAUSTED');
});

test('the sandbox has no network, no host environment, no host /etc/passwd and no root', async () => {
  process.env.OPENAI_API_KEY = 'sk-test-must-not-leak';
  try {
    const execution = await run(
      [
        'import os, socket',
        'try:',
        '    socket.create_connection(("1.1.1.1", 53), timeout=2)',
        '    print("network: open")',
        'except OSError as error:',
        '    print("network: blocked", error)',
        'print("environ:", dict(os.environ))',
        'print("passwd:", open("/etc/passwd").read() if os.path.exists("/etc/passwd") else "")',
        'print("uid:", os.getuid())',
        'print("listing:", sorted(os.listdir("/")))',
      ].join('\n'),
    );
    const stdout = execution.logs.stdout.join('');

    expect(execution.error).toBeNull();
    expect(stdout).toContain('network: blocked');
    expect(stdout).not.toContain('sk-test-must-not-leak');
    expect(stdout).not.toContain('OPENAI_API_KEY');
    expect(stdout).toContain('passwd: sandbox:x:1000');
    expect(stdout).not.toMatch(/^root:/m);
    expect(stdout).toContain('uid: 1000');
    expect(stdout).toContain(
      "listing: ['.results', '.runner', 'bin', 'dev', 'etc', 'lib', 'lib64', 'proc', 'sbin', 'tmp', 'usr', 'workspace']",
    );
  } finally {
    delete process.env.OPENAI_API_KEY;
  }
});

test('closing the sandbox ends its runs with SandboxUnavailableError and refuses new ones', async () => {
  const closing = new LocalSandbox({ workRoot });
  const runId = newRunId('close');
  const running = closing.run({
    runId,
    code: 'while True:\n    pass',
    files: [],
    outputDir: newOutputDir(),
    timeoutMs: 20_000,
  });
  const outcome = running.then(
    () => null,
    (error: unknown) => error,
  );
  await waitFor(() => processesWith(runId).length >= 3, 5000);
  await closing.close();

  expect(await outcome).toBeInstanceOf(SandboxUnavailableError);
  expect(processesWith(runId)).toEqual([]);
  await expect(run('1', {}, closing)).rejects.toBeInstanceOf(SandboxUnavailableError);
});

test('a missing bwrap is SandboxUnavailableError; per-run folders are always removed', async () => {
  const broken = new LocalSandbox({ workRoot, bwrapPath: '/nonexistent/bwrap' });
  await expect(
    broken.run({ runId: newRunId('broken'), code: '1', files: [], outputDir: newOutputDir(), timeoutMs: 5000 }),
  ).rejects.toBeInstanceOf(SandboxUnavailableError);
  await broken.close();

  expect(readdirSync(workRoot).filter((name) => name.startsWith('run-'))).toEqual([]);
});

test('a figure over maxPngBytes is dropped with a note in stderr', async () => {
  const small = new LocalSandbox({ workRoot, limits: { maxPngBytes: 1000 } });
  try {
    const outputDir = newOutputDir();
    const execution = await run(
      'import matplotlib.pyplot as plt\nplt.plot(range(100))\nplt.show()\nprint("done")',
      { outputDir },
      small,
    );

    expect(execution.failure).toBeNull();
    expect(execution.results).toEqual([]);
    expect(readdirSync(outputDir)).toEqual([]);
    expect(execution.logs.stderr.join('')).toMatch(/figure figure-1\.png dropped: \d+ bytes, over the 1000-byte limit/);
  } finally {
    await small.close();
  }
});

/** Host uids of the processes whose command line holds `marker`. */
function uidsOf(marker: string): number[] {
  return processesWith(marker).flatMap((pid) => {
    try {
      return [Number(/^Uid:\s+(\d+)/m.exec(readFileSync(`/proc/${pid}/status`, 'utf8'))?.[1])];
    } catch {
      return [];
    }
  });
}

testWhen(isRoot, 'only a root worker runs sandboxes as uids of their own')(
  'each concurrently running sandbox runs as a host uid of its own from the range, never root',
  async () => {
    const controller = new AbortController();
    const ids = [newRunId('uid-a'), newRunId('uid-b')];
    const runs = ids.map((runId) =>
      sandbox
        .run({
          runId,
          code: 'import time\ntime.sleep(30)',
          files: [],
          outputDir: newOutputDir(),
          timeoutMs: 20_000,
          signal: controller.signal,
        })
        .catch((error: unknown) => error),
    );
    try {
      // bwrap outside and inside the pid namespace, and the runner.
      await waitFor(() => ids.every((runId) => uidsOf(runId).length >= 3), 15_000);
      const [a, b] = ids.map((runId) => new Set(uidsOf(runId)));
      expect(a.size).toBe(1);
      expect(b.size).toBe(1);
      const [uidA] = [...a];
      const [uidB] = [...b];
      expect(uidA).not.toBe(uidB);
      for (const uid of [uidA, uidB]) {
        expect(uid).toBeGreaterThanOrEqual(60_000);
        expect(uid).toBeLessThan(60_064);
      }
    } finally {
      controller.abort();
      await Promise.all(runs);
    }
  },
);

testWhen(isRoot, 'only a root worker runs sandboxes as other uids')(
  'when every uid of the range is taken, a run waits for one, then fails with SandboxUnavailableError',
  async () => {
    // A range of one uid, far from the default one so that no other sandbox holds it.
    const single = new LocalSandbox({ workRoot, sandboxUid: 61_500, sandboxUidCount: 1, uidWaitMs: 300 });
    const patient = new LocalSandbox({ workRoot, sandboxUid: 61_500, sandboxUidCount: 1, uidWaitMs: 30_000 });
    const controller = new AbortController();
    try {
      const first = single
        .run({
          runId: newRunId('only'),
          code: 'import time\ntime.sleep(30)',
          files: [],
          outputDir: newOutputDir(),
          timeoutMs: 20_000,
          signal: controller.signal,
        })
        .catch((error: unknown) => error);
      await waitFor(() => single.poolStatus().running === 1 && processesWith('uid-only').length === 0, 5000);
      await new Promise((resolve) => setTimeout(resolve, 200));
      await expect(run('1', {}, single)).rejects.toThrow(/All 1 sandbox uids from 61500 are in use/);
      // A run that may wait starts as soon as the uid comes free.
      const waiting = run('print(3)', {}, patient);
      await new Promise((resolve) => setTimeout(resolve, 300));
      controller.abort();
      expect(await first).toMatchObject({ name: 'AbortError' });
      expect((await waiting).logs.stdout.join('')).toBe('3\n');
      // Released with the run: the uid serves the next one.
      expect((await run('print(2)', {}, single)).logs.stdout.join('')).toBe('2\n');
    } finally {
      await single.close();
      await patient.close();
    }
  },
);

describe('warm pool', () => {
  let pool: LocalSandbox;

  beforeAll(async () => {
    pool = new LocalSandbox({ workRoot, poolSize: 2 });
    await pool.warmUp();
  });

  afterAll(async () => {
    await pool.close();
  });

  /** Waits for a full pool, so that the next run is sure to be pooled. */
  async function fullPool(): Promise<void> {
    await pool.warmUp();
    expect(pool.poolStatus()).toMatchObject({ idle: 2, starting: 0 });
  }

  function comparable(execution: SandboxExecution, outputDir: string) {
    return {
      results: execution.results,
      // Chunks fall where the pipe splits them: compare the text.
      stdout: execution.logs.stdout.join(''),
      stderr: execution.logs.stderr.join(''),
      error: execution.error,
      failure: execution.failure,
      truncated: execution.truncated,
      files: execution.files.map((file) => ({
        name: file.name,
        size: file.size,
        path: file.path.slice(outputDir.length),
      })),
      output: Object.fromEntries(readdirSync(outputDir).map((name) => [name, readFileSync(join(outputDir, name))])),
    };
  }

  test('code that imports pandas gets a warm sandbox, other code the bare one', async () => {
    /** The kind of started sandbox that took the run: its runner shows the run id after its mode. */
    const kindOf = async (code: string) => {
      await fullPool();
      const runId = newRunId('kind');
      const running = pool.run({ runId, code, files: [], outputDir: newOutputDir(), timeoutMs: 20_000 });
      await waitFor(() => processesMentioning(runId).length > 0, 5000);
      const runner = processesMentioning(runId).find((line) => line.includes('runner.py'));
      const execution = await running;
      return { kind: /runner\.py (\w+)/.exec(runner ?? '')?.[1], stdout: execution.logs.stdout.join('') };
    };
    expect(await kindOf('import time\ntime.sleep(0.5)\nprint("plain")')).toEqual({ kind: 'bare', stdout: 'plain\n' });
    expect(await kindOf('import pandas as pd\nimport time\ntime.sleep(0.5)\nprint(pd.__name__)')).toEqual({
      kind: 'pool',
      stdout: 'pandas\n',
    });
  });

  test('a pooled run gives the same results as a cold one', async () => {
    const csv = join(root, 'pool-sales.csv');
    writeFileSync(csv, 'region,amount\nnorth,10\nsouth,5\nnorth,7\n');
    const jobs = [
      [
        'import sys',
        'import pandas as pd',
        'import matplotlib.pyplot as plt',
        'df = pd.read_csv("sales.csv")',
        'print("rows", len(df))',
        'print("note", file=sys.stderr)',
        'totals = df.groupby("region").amount.sum()',
        'totals.to_csv("totals.csv")',
        'totals.plot.bar(title="totals")',
        'plt.show()',
        'plt.plot([1, 2, 3])',
        'plt.savefig("line.png")',
        'totals.to_frame()',
      ].join('\n'),
      'def ratio(a, b):\n    return a / b\n\nratio(1, 0)',
      'import numpy as np\nnp.arange(6).reshape(2, 3).sum()',
    ];
    for (const code of jobs) {
      await fullPool();
      const warmDir = newOutputDir();
      const warm = await run(code, { files: [hostFileInput('sales.csv', csv)], outputDir: warmDir }, pool);
      const coldDir = newOutputDir();
      const cold = await run(code, { files: [hostFileInput('sales.csv', csv)], outputDir: coldDir }, sandbox);

      expect(comparable(warm, warmDir)).toEqual(comparable(cold, coldDir));
    }
  });

  test('two consecutive pooled jobs do not see each other, and each gets a fresh sandbox', async () => {
    await fullPool();
    const first = await run(
      [
        'import os, matplotlib, pandas',
        'open("/workspace/one.txt", "w").write("one")',
        'open("/tmp/one.txt", "w").write("one")',
        'open("/dev/shm/one", "w").write("one")',
        'os.environ["LEAKED"] = "yes"',
        'pandas.LEAKED = True',
        'matplotlib.rcParams["lines.linewidth"] = 9',
        'import subprocess',
        'subprocess.Popen(["sleep", "60"], start_new_session=True)',
        'print(os.getpid())',
      ].join('\n'),
      {},
      pool,
    );
    expect(first.failure).toBeNull();
    expect(first.files.map((file) => file.name)).toEqual(['one.txt']);

    await fullPool();
    const second = await run(
      [
        'import glob, os, matplotlib, pandas',
        'print(sorted(os.listdir("/workspace")), sorted(os.listdir("/tmp")), os.listdir("/dev/shm"))',
        'print("LEAKED" in os.environ, hasattr(pandas, "LEAKED"), matplotlib.rcParams["lines.linewidth"])',
        'print(sorted(open(p).read().split("\\0")[0] for p in glob.glob("/proc/[0-9]*/cmdline")))',
      ].join('\n'),
      {},
      pool,
    );
    expect(second.failure).toBeNull();
    expect(second.logs.stdout.join('')).toBe(
      [
        "[] ['matplotlib'] []",
        'False False 1.5',
        // No sleep from the first job: only this sandbox's init and runner.
        "['/usr/bin/bwrap', '/usr/bin/python3']",
        '',
      ].join('\n'),
    );
  });

  test("idle pooled sandboxes name no run; a pooled run's processes are gone when it returns", async () => {
    await fullPool();
    const runId = newRunId('pooled');
    const running = run(
      `import subprocess, time\nsubprocess.Popen(["sh", "-c", "sleep 60; echo ${runId}"], start_new_session=True)\ntime.sleep(0.5)`,
      { runId },
      pool,
    );
    // While it runs, its processes can be found by the run id: the runner, which wrote it into its
    // command line when it took the job, and the shell.
    await waitFor(() => processesWith(runId).length >= 2, 5000);
    expect(execFileSync('pgrep', ['-af', runId], { encoding: 'utf8' })).toMatch(/runner\.py (pool|bare) /);
    const execution = await running;

    expect(execution.failure).toBeNull();
    expect(processesWith(runId)).toEqual([]);
    await fullPool();
    expect(processesWith(runId)).toEqual([]);
    expect(processesWith('/.runner/runner.py pool').length).toBeGreaterThanOrEqual(2);
  });

  test('aborting a pooled run kills it at once and leaves no process behind', async () => {
    await fullPool();
    const runId = newRunId('pooled-abort');
    const controller = new AbortController();
    const outcome = run(
      `import subprocess\nsubprocess.Popen(["sh", "-c", "sleep 60; echo ${runId}"])\nwhile True:\n    pass`,
      { runId, signal: controller.signal },
      pool,
    ).then(
      () => null,
      (error: unknown) => error,
    );
    // The runner (run id in its command line since it took the job) and the shell.
    await waitFor(() => processesWith(runId).length >= 2, 5000);
    controller.abort();

    expect(await outcome).toMatchObject({ name: 'AbortError' });
    expect(processesWith(runId)).toEqual([]);
  });

  test('an idle pooled sandbox that dies is replaced', async () => {
    const own = join(root, 'pool-replace');
    const replacing = new LocalSandbox({ workRoot: own, poolSize: 1 });
    try {
      await replacing.warmUp();
      // The outer bwrap of the warm one (its command line ends in `runner.py pool` and blanks).
      const [bwrap] = processesMentioning(`${own}/pool-`)
        .filter((line) => /runner\.py pool\s*$/.test(line))
        .map((line) => Number(line.split(' ')[0]))
        .sort((a, b) => a - b);
      process.kill(bwrap, 'SIGKILL');
      await waitFor(() => replacing.poolStatus().idle === 0, 5000);
      await replacing.warmUp();

      expect(replacing.poolStatus()).toMatchObject({ idle: 1, starting: 0 });
      expect((await run('print(3)', {}, replacing)).logs.stdout.join('')).toBe('3\n');
    } finally {
      await replacing.close();
    }
  });

  test("a new pool removes the folders a dead worker's pool left, and no one else's", async () => {
    const own = join(root, 'pool-stale');
    mkdirSync(own, { mode: 0o755 });
    // A pid that surely belongs to no process any more: one that just ended.
    const deadPid = spawnSync('true').pid;
    const stale = join(own, `pool-${deadPid}-0123456789ab`);
    const alive = join(own, `pool-${process.pid}-ba9876543210`);
    for (const dir of [stale, alive]) mkdirSync(join(dir, 'workspace'), { recursive: true });
    const fresh = new LocalSandbox({ workRoot: own, poolSize: 1 });
    try {
      await fresh.warmUp();

      expect(existsSync(stale)).toBe(false);
      expect(existsSync(alive)).toBe(true);
    } finally {
      await fresh.close();
    }
  });

  test('close() kills the pooled sandboxes and removes their folders', async () => {
    const own = join(root, 'pool-close');
    const closing = new LocalSandbox({ workRoot: own, poolSize: 2 });
    await closing.warmUp();
    expect(closing.poolStatus()).toMatchObject({ idle: 2, bare: 1 });
    const bwraps = processesWith(`${own}/pool-`);
    // Two bwraps (outside and inside the pid namespace) per started sandbox (two warm, one bare),
    // and a runner under each.
    expect(bwraps.length).toBe(6);
    const tree = bwraps.flatMap((pid) => [pid, ...descendantsOf(Number(pid)).map(String)]);
    expect(tree.length).toBeGreaterThanOrEqual(9);

    await closing.close();

    expect(tree.filter((pid) => existsSync(`/proc/${pid}`))).toEqual([]);
    expect(readdirSync(own).filter((name) => name.startsWith('pool-'))).toEqual([]);
    await expect(run('1', {}, closing)).rejects.toBeInstanceOf(SandboxUnavailableError);
  });
});

function descendantsOf(pid: number): number[] {
  let children: number[] = [];
  try {
    for (const task of readdirSync(`/proc/${pid}/task`)) {
      const listed = readFileSync(`/proc/${pid}/task/${task}/children`, 'utf8').trim();
      if (listed) children = children.concat(listed.split(' ').map(Number));
    }
  } catch {
    return [];
  }
  return children.flatMap((child) => [child, ...descendantsOf(child)]);
}

test('the ml helpers send typed messages and rich output', async () => {
  const execution = await run(
    [
      'import ml',
      "ml.info('loaded', 3, 'rows')",
      "ml.warn('column b has gaps')",
      "ml.error('could not parse dates')",
      "ml.success('done')",
      "ml.danger('revenue fell by half')",
      "ml.log('debugging detail')",
      'try:\n    1 / 0\nexcept ZeroDivisionError as exc:\n    ml.error(exc)',
      'import time\nstarted = time.monotonic()\nml.wait(300)\nml.info(f"waited {time.monotonic() - started >= 0.29}")',
      "ml.json({'rows': 3, 'columns': ['a', 'b']})",
      "ml.markdown('**bold** finding')",
    ].join('\n'),
  );
  expect(execution.error).toBeNull();
  expect(execution.messages).toEqual([
    { level: 'info', message: 'loaded 3 rows' },
    { level: 'warning', message: 'column b has gaps' },
    { level: 'error', message: 'could not parse dates' },
    { level: 'success', message: 'done' },
    { level: 'danger', message: 'revenue fell by half' },
    { level: 'debug', message: 'debugging detail' },
    { level: 'error', message: expect.stringMatching(/^Traceback[\s\S]*ZeroDivisionError: division by zero$/) },
    { level: 'info', message: 'waited True' },
  ]);
  expect(execution.results).toEqual([
    { json: { rows: 3, columns: ['a', 'b'] }, isMainResult: false },
    { markdown: '**bold** finding', isMainResult: false },
  ]);
});
