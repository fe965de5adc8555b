/**
 * The Python that the E2B backend sends before and after the user's code (its prelude and epilogue
 * cells) run here for real, in a local python3 that keeps one namespace across cells like E2B's
 * Jupyter kernel, so that a mistake in that Python fails a test. bwrap puts a scratch folder at
 * /home/user, where the prelude makes the workspace and the backend uploads the `ml` module, so the
 * host's own /home is left alone.
 */
import type { EntryInfo, Execution } from '@e2b/code-interpreter';
import { spawn, spawnSync, type ChildProcessWithoutNullStreams } from 'node:child_process';
import { chmodSync, mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { createInterface } from 'node:readline';
import { E2B_WORKSPACE, E2bSandbox, type E2bSandboxHandle, type E2bSdk } from '../../src/sandbox/e2b-sandbox';

// The SDK requires chalk 5, an ES module, which Jest cannot require on Node 20; see e2b-sandbox.test.ts.
jest.mock(require.resolve('chalk', { paths: [require.resolve('e2b')] }), () => {
  const chalk = new Proxy((text: unknown) => String(text), {
    get: (_, key) => (key === 'hex' || key === 'rgb' ? () => chalk : chalk),
  });
  return chalk;
});

/** Runs each cell with exec() in one namespace and answers one JSON line per cell. */
const KERNEL = `
import contextlib, io, json, sys, traceback
namespace = {"__name__": "__main__"}
for line in sys.stdin:
    cell = json.loads(line)
    out, err = io.StringIO(), io.StringIO()
    error = None
    with contextlib.redirect_stdout(out), contextlib.redirect_stderr(err):
        try:
            exec(compile(cell, "<cell>", "exec"), namespace)
        except BaseException as exc:
            error = {"name": type(exc).__name__, "value": str(exc), "traceback": traceback.format_exc()}
    sys.__stdout__.write(json.dumps({"stdout": out.getvalue(), "stderr": err.getvalue(), "error": error}) + "\\n")
    sys.__stdout__.flush()
`;

jest.setTimeout(30_000);

const HAS_BWRAP = spawnSync('/usr/bin/bwrap', ['--version']).status === 0;

/** One E2B sandbox whose kernel is a real python3; files are not looked at by these tests. */
class PythonKernelSandbox implements E2bSandboxHandle {
  readonly sandboxId = 'sbx-python';
  readonly cells: string[] = [];
  private readonly child: ChildProcessWithoutNullStreams;
  private readonly answers: Array<(line: string) => void> = [];

  /** Paths written outside /home/user: recorded, never written (the kernel's / is the host's). */
  readonly elsewhere: string[] = [];

  constructor(private readonly home: string) {
    this.child = spawn('/usr/bin/bwrap', [
      ...['--bind', '/', '/', '--bind', home, '/home/user', '--dev', '/dev', '--proc', '/proc', '--die-with-parent'],
      ...['/usr/bin/python3', '-I', '-u', '-c', KERNEL],
    ]);
    createInterface({ input: this.child.stdout }).on('line', (line) => this.answers.shift()?.(line));
  }

  readonly files: E2bSandboxHandle['files'] = {
    write: async (entries) => {
      for (const { path, data } of entries) {
        if (!path.startsWith('/home/user/')) {
          this.elsewhere.push(path);
          continue;
        }
        const target = join(this.home, path.slice('/home/user/'.length));
        mkdirSync(dirname(target), { recursive: true });
        writeFileSync(target, typeof data === 'string' ? data : Buffer.from(data));
      }
      return [];
    },
    list: async (): Promise<EntryInfo[]> => [],
    read: async () => {
      throw new Error('no file is read in these tests');
    },
  };

  async runCode(code: string): Promise<Execution> {
    this.cells.push(code);
    const line = await new Promise<string>((resolve) => {
      this.answers.push(resolve);
      this.child.stdin.write(`${JSON.stringify(code)}\n`);
    });
    const answer = JSON.parse(line) as { stdout: string; stderr: string; error: Execution['error'] | null };
    return {
      results: [],
      logs: {
        stdout: answer.stdout === '' ? [] : [answer.stdout],
        stderr: answer.stderr === '' ? [] : [answer.stderr],
      },
      error: answer.error ?? undefined,
      executionCount: this.cells.length,
    } as unknown as Execution;
  }

  /** The backend kills the sandbox after each run; the kernel stays until close(), to be looked into. */
  async kill(): Promise<boolean> {
    const wasAlive = !this.killed;
    this.killed = true;
    return wasAlive;
  }

  killed = false;

  async close(): Promise<void> {
    this.child.stdin.end();
    await new Promise((resolve) => (this.child.exitCode === null ? this.child.once('exit', resolve) : resolve(null)));
  }
}

if (!HAS_BWRAP) console.warn('skipped the E2B helper cells: they run Python in bwrap, and /usr/bin/bwrap is missing');

(HAS_BWRAP ? describe : describe.skip)('the E2B helper cells in a real Python kernel', () => {
  let root: string;
  let kernel: PythonKernelSandbox;
  let sdk: E2bSdk;

  beforeEach(() => {
    root = mkdtempSync(join(tmpdir(), 'e2b-cells-'));
    chmodSync(root, 0o755);
    kernel = new PythonKernelSandbox(mkdtempSync(join(root, 'home-')));
    sdk = {
      create: async () => kernel,
      connect: async () => kernel,
    };
  });
  afterEach(async () => {
    await kernel.close();
    rmSync(root, { recursive: true, force: true });
  });

  const run = (code: string) =>
    new E2bSandbox({ apiKey: 'e2b_test_key', sdk }).run({
      runId: 'exec-cells-main-1-abcd',
      executionId: 'exec-cells',
      code,
      files: [],
      outputDir: mkdtempSync(join(root, 'out-')),
      timeoutMs: 30_000,
    });

  test('the prelude puts the code in the workspace, leaves no names behind, and the epilogue measures it', async () => {
    const execution = await run(
      [
        'import os',
        'print(os.getcwd())',
        'total = sum(i * i for i in range(3 * 10**6))',
        'print(sorted(name for name in globals() if name.startswith("_sandbox")))',
      ].join('\n'),
    );

    expect(execution.error).toBeNull();
    expect(execution.logs.stdout.join('')).toBe(`${E2B_WORKSPACE}\n[]\n`);
    // The prelude ran first and the epilogue last, as cells of their own around the code.
    expect(kernel.cells[0]).toContain('_sandbox_prelude');
    expect(kernel.cells.at(-1)).toContain('_sandbox_usage');
    // Summing three million squares takes CPU time; the kernel holds at least the interpreter.
    expect(execution.usage.cpuMs).toBeGreaterThan(50);
    expect(execution.usage.peakMemoryBytes).toBeGreaterThan(5 * 1024 * 1024);
    // The usage line is the backend's, not the code's output.
    expect(execution.logs.stdout.join('')).not.toContain('__sandbox_usage__');
    expect(kernel.killed).toBe(true);
    const after = await kernel.runCode('print(sorted(name for name in globals() if name.startswith("_sandbox")))');
    expect(after.logs.stdout.join('')).toBe('[]\n');
  });

  test('the ml helpers work in the kernel: the uploaded module, its messages back in order', async () => {
    const execution = await run(
      [
        'import ml',
        "ml.info('loaded', 3, 'rows')",
        "ml.warn('2 rows had no date')",
        'try:',
        '    1 / 0',
        'except ZeroDivisionError as exc:',
        '    ml.error(exc)',
        'ml.wait(10)',
        'print(ml.__file__)',
      ].join('\n'),
    );

    expect(execution.error).toBeNull();
    expect(execution.logs.stdout.join('')).toBe('/home/user/.sandbox/ml.py\n');
    expect(execution.messages?.slice(0, 2)).toEqual([
      { level: 'info', message: 'loaded 3 rows' },
      { level: 'warning', message: '2 rows had no date' },
    ]);
    expect(execution.messages?.[2]?.level).toBe('error');
    expect(execution.messages?.[2]?.message).toContain('ZeroDivisionError: division by zero');
    expect(execution.messages).toHaveLength(3);
    // The messages line is the backend's, not the code's output.
    expect(execution.logs.stdout.join('')).not.toContain('__sandbox_messages__');
  });

  test("an error in the code keeps the code's own line numbers", async () => {
    const execution = await run('x = 1\ny = x / 0\n');
    expect(execution.error).toMatchObject({ name: 'ZeroDivisionError', value: 'division by zero' });
    expect(execution.error?.traceback).toContain('line 2');
    expect(execution.usage.peakMemoryBytes).toBeGreaterThan(0);
  });
});
