import { chmodSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { ConfigError, loadConfig, type Config } from '../../src/config';
import { SANDBOX_KINDS, type SandboxKind } from '../../src/domain/sandbox-kinds';
import { hostFileInput } from '../../src/sandbox/host-file-input';
import { createSandbox } from '../../src/sandbox/registry';
import type { Sandbox, SandboxExecution, SandboxRunRequest } from '../../src/sandbox/types';

// The SDK requires chalk 5, an ES module, which Jest cannot require on Node 20 (Node itself can, from
// 20.19); the SDK only colours template-build logs with it, so a pass-through stands in for it here.
jest.mock(require.resolve('chalk', { paths: [require.resolve('e2b')] }), () => {
  const chalk = new Proxy((text: unknown) => String(text), {
    get: (_, key) => (key === 'hex' || key === 'rgb' ? () => chalk : chalk),
  });
  return chalk;
});

const PNG_MAGIC = Buffer.from([0x89, 0x50, 0x4e, 0x47]);

/**
 * The configuration a worker would have with `kind` as its default backend and its work folder under
 * `root`, or why this host cannot have it (E2B without E2B_API_KEY).
 */
function configFor(kind: SandboxKind, root: string): Config | string {
  try {
    return loadConfig({
      SANDBOX: kind,
      SANDBOX_WORK_DIR: join(root, 'work'),
      // One warm sandbox: the pool's path is taken, and the shared host is spared a second one.
      SANDBOX_POOL_SIZE: '1',
      E2B_API_KEY: process.env.E2B_API_KEY,
      E2B_DOMAIN: process.env.E2B_DOMAIN,
      E2B_TEMPLATE: process.env.E2B_TEMPLATE,
    });
  } catch (error) {
    if (error instanceof ConfigError) return error.message.replace(/\s+/g, ' ');
    throw error;
  }
}

/**
 * What every backend must do, in the terms the activity and the workflow rely on. Each is built the
 * way the worker builds it (src/sandbox/registry.ts), in a folder of its own reachable by any uid
 * (the local sandbox runs as nobody).
 */
function contract(name: SandboxKind) {
  const skipped = configFor(name, tmpdir());
  if (typeof skipped === 'string') console.log(`[${name}] skipped: ${skipped}`);
  const describeBackend = typeof skipped === 'string' ? describe.skip : describe;
  describeBackend(`sandbox contract: ${name}`, () => {
    let root: string;
    let sandbox: Sandbox;
    let runs = 0;

    beforeAll(async () => {
      root = mkdtempSync(join(tmpdir(), `sandbox-contract-${name}-`));
      chmodSync(root, 0o755);
      const config = configFor(name, root);
      if (typeof config === 'string') throw new Error(config);
      sandbox = await createSandbox(name, config, { warn: (message) => console.warn(`[${name}] ${message}`) });
      expect(sandbox.kind).toBe(name);
    });

    afterAll(async () => {
      await sandbox?.close();
      rmSync(root, { recursive: true, force: true });
    });

    function request(code: string, extra: Partial<SandboxRunRequest> = {}): SandboxRunRequest {
      runs++;
      return {
        runId: `contract-${name}-${runs}-${process.pid}`,
        executionId: `contract-${name}`,
        code,
        files: [],
        outputDir: mkdtempSync(join(root, 'out-')),
        timeoutMs: 60_000,
        ...extra,
      };
    }

    const run = (code: string, extra: Partial<SandboxRunRequest> = {}): Promise<SandboxExecution> =>
      sandbox.run(request(code, extra));

    test('print goes to logs.stdout and to onStdout; the run measures its wall time', async () => {
      const streamed: string[] = [];
      const execution = await run('print("hello")', { onStdout: (chunk) => streamed.push(chunk) });

      expect(execution.error).toBeNull();
      expect(execution.failure).toBeNull();
      expect(execution.logs.stdout.join('')).toBe('hello\n');
      expect(streamed.join('')).toBe('hello\n');
      expect(execution.usage.wallMs).toBeGreaterThan(0);
    });

    test('a trailing expression is the main result, as text', async () => {
      const execution = await run('x = 20\nx * 2 + 2');

      expect(execution.error).toBeNull();
      expect(execution.results).toEqual([{ text: '42', isMainResult: true }]);
    });

    test('a trailing DataFrame is the main result with HTML', async () => {
      const execution = await run('import pandas as pd\npd.DataFrame({"city": ["Oslo", "Lima"], "n": [3, 4]})');

      expect(execution.error).toBeNull();
      const main = execution.results.filter((result) => result.isMainResult);
      expect(main).toHaveLength(1);
      expect(main[0].text).toContain('Oslo');
      expect(main[0].html).toContain('<table');
      expect(main[0].html).toContain('<td>Lima</td>');
    });

    test("an exception is an error naming the user's line, and CODE_ERROR", async () => {
      const execution = await run('def ratio(a, b):\n    return a / b\n\nprint("before")\nratio(1, 0)\n');

      expect(execution.failure).toBe('CODE_ERROR');
      expect(execution.logs.stdout.join('')).toBe('before\n');
      expect(execution.error?.name).toBe('ZeroDivisionError');
      expect(execution.error?.value).toBe('division by zero');
      expect(execution.error?.traceback).toMatch(/line 5\b/);
      expect(execution.error?.traceback).toContain('return a / b');
      expect(execution.error?.traceback).not.toContain('\u001b[');
    });

    test('an uploaded CSV is read with pandas; unchanged inputs are not collected', async () => {
      const csv = join(root, 'sales.csv');
      writeFileSync(csv, 'region,amount\nnorth,10\nsouth,5\nnorth,7\n');

      const execution = await run('import pandas as pd\nint(pd.read_csv("sales.csv").amount.sum())', {
        files: [hostFileInput('sales.csv', csv)],
      });

      expect(execution.error).toBeNull();
      expect(execution.results).toEqual([{ text: '22', isMainResult: true }]);
      expect(execution.files).toEqual([]);
    });

    test('an uploaded file is also at /<name>, the same bytes, and cannot be written there', async () => {
      const csv = join(root, 'sales.csv');
      writeFileSync(csv, 'region,amount\nnorth,10\n');

      const execution = await run(
        [
          "print(open('/sales.csv').read() == open('sales.csv').read())",
          'try:',
          "    open('/sales.csv', 'a').write('south,1\\n')",
          "    print('written')",
          'except OSError as error:',
          "    print('refused', type(error).__name__)",
          "print(open('/sales.csv').read(), end='')",
        ].join('\n'),
        { files: [hostFileInput('sales.csv', csv)] },
      );

      expect(execution.error).toBeNull();
      expect(execution.logs.stdout.join('')).toMatch(
        /^True\nrefused (PermissionError|OSError)\nregion,amount\nnorth,10\n$/,
      );
      expect(execution.files).toEqual([]);
      expect(execution.messages).toEqual([]);
    });

    test('an upload named like a system path stays in the working directory only, with a message', async () => {
      const file = join(root, 'etc-upload');
      writeFileSync(file, 'not a folder\n');

      const execution = await run("import os\nprint(open('etc').read(), end='')\nprint(os.path.isdir('/etc'))", {
        files: [hostFileInput('etc', file)],
      });

      expect(execution.error).toBeNull();
      expect(execution.logs.stdout.join('')).toBe('not a folder\nTrue\n');
      expect(execution.messages).toEqual([
        {
          level: 'warning',
          message: 'The file "etc" is only in the working directory, not at /etc: that would shadow a system path.',
        },
      ]);
    });

    test("the code's ml messages come back in order", async () => {
      const execution = await run("import ml\nml.info('loaded', 3)\nml.warn('2 rows had no date')");

      expect(execution.error).toBeNull();
      expect(execution.messages).toEqual([
        { level: 'info', message: 'loaded 3' },
        { level: 'warning', message: '2 rows had no date' },
      ]);
    });

    test('written files, in a subfolder too, are collected into outputDir with their relative names', async () => {
      const outputDir = mkdtempSync(join(root, 'out-'));
      const execution = await run(
        [
          'import os',
          'os.makedirs("reports/2024", exist_ok=True)',
          'open("reports/2024/totals.csv", "w").write("region,amount\\nnorth,17\\n")',
          'open("summary.txt", "w").write("two regions")',
        ].join('\n'),
        { outputDir },
      );

      expect(execution.error).toBeNull();
      expect(execution.files).toEqual([
        { name: 'reports/2024/totals.csv', path: join(outputDir, 'reports/2024/totals.csv'), size: 23 },
        { name: 'summary.txt', path: join(outputDir, 'summary.txt'), size: 11 },
      ]);
      expect(readFileSync(join(outputDir, 'reports/2024/totals.csv'), 'utf8')).toBe('region,amount\nnorth,17\n');
      expect(readFileSync(join(outputDir, 'summary.txt'), 'utf8')).toBe('two regions');
    });

    test('savefig writes a PNG file that is collected', async () => {
      const outputDir = mkdtempSync(join(root, 'out-'));
      const execution = await run(
        'import matplotlib.pyplot as plt\nplt.plot([1, 2, 3], [3, 1, 2])\nplt.savefig("plot.png")',
        { outputDir },
      );

      expect(execution.error).toBeNull();
      expect(execution.files.map((file) => file.name)).toEqual(['plot.png']);
      expect(readFileSync(join(outputDir, 'plot.png')).subarray(0, 4)).toEqual(PNG_MAGIC);
    });

    test('plt.show gives a PNG result, a file in outputDir that is not a written file', async () => {
      const outputDir = mkdtempSync(join(root, 'out-'));
      const execution = await run('import matplotlib.pyplot as plt\nplt.bar(["a", "b"], [1, 2])\nplt.show()', {
        outputDir,
      });

      expect(execution.error).toBeNull();
      expect(execution.files).toEqual([]);
      const figures = execution.results.filter((result) => result.png !== undefined);
      expect(figures).toHaveLength(1);
      expect(figures[0].isMainResult).toBe(false);
      expect(readFileSync(join(outputDir, figures[0].png as string)).subarray(0, 4)).toEqual(PNG_MAGIC);
    });

    test('an endless loop past a short timeout ends SANDBOX_TIMEOUT', async () => {
      const started = Date.now();
      const execution = await run('print("spinning", flush=True)\nwhile True:\n    pass', { timeoutMs: 1500 });

      expect(execution.failure).toBe('SANDBOX_TIMEOUT');
      expect(execution.logs.stdout.join('')).toBe('spinning\n');
      // Backend set-up (a cold E2B sandbox) comes on top of the code's 1.5 s.
      expect(Date.now() - started).toBeLessThan(30_000);
    });

    test('aborting a running run rejects with AbortError', async () => {
      const controller = new AbortController();
      const execution = run('print("started", flush=True)\nwhile True:\n    pass', {
        signal: controller.signal,
        onStdout: () => controller.abort(),
      });

      const error = await execution.then(
        () => null,
        (reason: unknown) => reason,
      );

      expect(error).toBeInstanceOf(Error);
      expect((error as Error).name).toBe('AbortError');
    });
  });
}

for (const kind of SANDBOX_KINDS) contract(kind);
