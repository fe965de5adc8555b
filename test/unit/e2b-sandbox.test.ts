import {
  AuthenticationError,
  FileType,
  RateLimitError,
  SandboxNotFoundError,
  ServiceBusyError,
  TimeoutError,
  type EntryInfo,
  type Execution,
  type RunCodeOpts,
  type SandboxConnectOpts,
  type SandboxOpts,
} from '@e2b/code-interpreter';
import { existsSync, mkdtempSync, readFileSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, posix } from 'node:path';
import {
  E2B_ML_MODULE,
  E2B_WORKSPACE,
  E2bSandbox,
  type E2bSandboxHandle,
  type E2bSdk,
} from '../../src/sandbox/e2b-sandbox';
import { loadConfig } from '../../src/config';
import { hostFileInput } from '../../src/sandbox/host-file-input';
import { createSandbox } from '../../src/sandbox/registry';
import {
  SandboxConfigurationError,
  SandboxUnavailableError,
  type SandboxLimits,
  type SandboxRunRequest,
} from '../../src/sandbox/types';

// The SDK requires chalk 5, an ES module, which Jest cannot require on Node 20 (Node itself can, from
// 20.19); the SDK only colours template-build logs with it, so a pass-through stands in for it here.
jest.mock(require.resolve('chalk', { paths: [require.resolve('e2b')] }), () => {
  const chalk = new Proxy((text: unknown) => String(text), {
    get: (_, key) => (key === 'hex' || key === 'rgb' ? () => chalk : chalk),
  });
  return chalk;
});

const PNG_1PX = Buffer.from(
  'iVBORw0KGgoAAAANSUhEUgAAAAEAAAABCAYAAAAfFcSJAAAADUlEQVR42mNk+M9QDwADhgGAWjR9awAAAABJRU5ErkJggg==',
  'base64',
);

/** What the user's code does in the fake kernel. */
type Script = (sandbox: FakeSandbox, opts: RunCodeOpts) => Promise<Execution>;

/** An Execution as the SDK builds it, with only the fields the backend reads. */
function execution(parts: {
  stdout?: string[];
  stderr?: string[];
  results?: Array<Record<string, unknown>>;
  error?: { name: string; value: string; traceback: string };
}): Execution {
  return {
    results: (parts.results ?? []).map((result) => ({ isMainResult: false, ...result })),
    logs: { stdout: parts.stdout ?? [], stderr: parts.stderr ?? [] },
    error: parts.error,
    executionCount: 2,
  } as unknown as Execution;
}

interface FakeEntry {
  type: FileType;
  data?: Buffer;
  target?: string;
  mtime: Date;
}

let clock = Date.parse('2026-11-22T10:00:00Z');
const tick = (): Date => new Date((clock += 1000));

/** One fake E2B sandbox: an in-memory file system and a kernel that runs the test's script. */
class FakeSandbox implements E2bSandboxHandle {
  readonly fs = new Map<string, FakeEntry>();
  readonly cells: string[] = [];
  killed = false;
  /** Every path written, as `user:path` (`user` when the backend named none). */
  uploads: string[] = [];
  listed: string[] = [];

  constructor(
    readonly sandboxId: string,
    private readonly script: Script,
  ) {}

  readonly files: E2bSandboxHandle['files'] = {
    write: async (entries, opts) => {
      opts?.signal?.throwIfAborted();
      for (const entry of entries) {
        this.uploads.push(`${opts?.user ?? 'user'}:${entry.path}`);
        this.put(entry.path, Buffer.from(entry.data as ArrayBuffer));
      }
      return entries.map((entry) => ({ name: posix.basename(entry.path), path: entry.path }));
    },
    list: async (path, opts) => {
      opts?.signal?.throwIfAborted();
      this.listed.push(path);
      const prefix = path === '/' ? '/' : `${path}/`;
      // The SDK lists one level unless told otherwise.
      const depth = opts?.depth ?? 1;
      return [...this.fs.entries()]
        .filter(([entryPath]) => entryPath.startsWith(prefix))
        .filter(([entryPath]) => entryPath.slice(prefix.length).split('/').length <= depth)
        .map(([entryPath, entry]) => entryInfo(entryPath, entry));
    },
    read: async (path, opts) => {
      opts.signal?.throwIfAborted();
      const entry = this.fs.get(path);
      if (!entry?.data) throw new SandboxNotFoundError(`${path} not found`);
      return new Uint8Array(entry.data);
    },
  };

  async runCode(code: string, opts: RunCodeOpts = {}): Promise<Execution> {
    if (this.killed) throw new TimeoutError('The sandbox was killed while the request was in progress.');
    this.cells.push(code);
    if (code.includes('_sandbox_prelude')) {
      this.fs.set(E2B_WORKSPACE, { type: FileType.DIR, mtime: tick() });
      return execution({});
    }
    if (code.includes('_sandbox_usage')) {
      return execution({ stdout: ['__sandbox_usage__ {"cpuMs": 340, "peakMemoryBytes": 157286400}\n'] });
    }
    return this.script(this, opts);
  }

  async kill(): Promise<boolean> {
    const wasAlive = !this.killed;
    this.killed = true;
    return wasAlive;
  }

  /** Writes a file the way the code would, folders included. */
  put(path: string, data: Buffer | string): void {
    const absolute = path.startsWith('/') ? path : posix.join(E2B_WORKSPACE, path);
    for (let dir = posix.dirname(absolute); dir !== '/' && !this.fs.has(dir); dir = posix.dirname(dir)) {
      this.fs.set(dir, { type: FileType.DIR, mtime: tick() });
    }
    this.fs.set(absolute, { type: FileType.FILE, data: Buffer.from(data), mtime: tick() });
  }

  symlink(path: string, target: string): void {
    this.fs.set(posix.join(E2B_WORKSPACE, path), { type: FileType.SYMLINK, target, mtime: tick() });
  }
}

function entryInfo(path: string, entry: FakeEntry): EntryInfo {
  return {
    name: posix.basename(path),
    path,
    type: entry.type,
    size: entry.data?.length ?? 4096,
    mode: 0o644,
    permissions: '-rw-r--r--',
    owner: 'user',
    group: 'user',
    modifiedTime: entry.mtime,
    ...(entry.target === undefined ? {} : { symlinkTarget: entry.target }),
  };
}

/** The fake SDK: records every call; `failCreate` and `failConnect` make those calls throw. */
class FakeSdk implements E2bSdk {
  readonly created: Array<{ opts: SandboxOpts; sandbox: FakeSandbox }> = [];
  readonly connected: Array<{ sandboxId: string; opts: SandboxConnectOpts; sandbox: FakeSandbox }> = [];
  failCreate: Error | null = null;
  failConnect: Error | null = null;
  script: Script = async () => execution({});
  /** What a new sandbox holds before the backend uploads anything. */
  prepare: (sandbox: FakeSandbox) => void = () => undefined;

  async create(opts: SandboxOpts): Promise<FakeSandbox> {
    if (this.failCreate) throw this.failCreate;
    const sandbox = new FakeSandbox(`sbx-${this.created.length + 1}`, this.script);
    this.prepare(sandbox);
    this.created.push({ opts, sandbox });
    return sandbox;
  }

  async connect(sandboxId: string, opts: SandboxConnectOpts): Promise<FakeSandbox> {
    if (this.failConnect) throw this.failConnect;
    const sandbox = new FakeSandbox(sandboxId, this.script);
    this.connected.push({ sandboxId, opts, sandbox });
    return sandbox;
  }

  get last(): FakeSandbox {
    const entry = this.created.at(-1);
    if (!entry) throw new Error('no sandbox was created');
    return entry.sandbox;
  }
}

let root: string;
let sdk: FakeSdk;

beforeEach(() => {
  root = mkdtempSync(join(tmpdir(), 'e2b-sandbox-test-'));
  sdk = new FakeSdk();
});
afterEach(() => rmSync(root, { recursive: true, force: true }));

function backend(limits: Partial<SandboxLimits> = {}): E2bSandbox {
  return new E2bSandbox({ apiKey: 'e2b_test_key', sdk, limits });
}

function request(extra: Partial<SandboxRunRequest> = {}): SandboxRunRequest {
  return {
    runId: 'exec-1-analyze-1-abcd1234',
    executionId: 'exec-1',
    code: 'print("hello")',
    files: [],
    outputDir: mkdtempSync(join(root, 'out-')),
    timeoutMs: 20_000,
    ...extra,
  };
}

async function rejection(promise: Promise<unknown>): Promise<Error> {
  return promise.then(
    () => {
      throw new Error('expected a rejection');
    },
    (error: unknown) => error as Error,
  );
}

test('a run creates a labelled sandbox without internet, uploads the inputs, streams and kills it', async () => {
  const csv = join(root, 'sales.csv');
  writeFileSync(csv, 'region,amount\nnorth,10\n');
  const streamed: string[] = [];
  const started: string[] = [];
  sdk.script = async (sandbox, opts) => {
    const input = sandbox.fs.get(`${E2B_WORKSPACE}/sales.csv`)?.data?.toString();
    await opts.onStdout?.({ line: `read ${input?.length} bytes\n`, error: false, timestamp: 0 });
    return execution({ stdout: [`read ${input?.length} bytes\n`], results: [{ text: '22', isMainResult: true }] });
  };

  const result = await backend().run(
    request({
      files: [hostFileInput('sales.csv', csv)],
      timeoutMs: 30_000,
      onStdout: (chunk) => streamed.push(chunk),
      onSandboxStarted: (id) => started.push(id),
    }),
  );

  expect(sdk.created).toHaveLength(1);
  expect(sdk.created[0].opts).toEqual({
    apiKey: 'e2b_test_key',
    domain: 'e2b.app',
    debug: false,
    requestTimeoutMs: 60_000,
    metadata: { executionId: 'exec-1', runId: 'exec-1-analyze-1-abcd1234' },
    timeoutMs: 30_000 + 120_000,
    allowInternetAccess: false,
    envs: {},
  });
  expect(started).toEqual(['sbx-1']);
  // The ml module, the input in the workspace, and the input at the root, written as root.
  expect(sdk.last.uploads).toEqual([`user:${E2B_ML_MODULE}`, `user:${E2B_WORKSPACE}/sales.csv`, 'root:/sales.csv']);
  expect(sdk.last.fs.get('/sales.csv')?.data?.toString()).toBe('region,amount\nnorth,10\n');
  expect(sdk.last.cells[0]).toContain(`os.chdir("${E2B_WORKSPACE}")`);
  expect(sdk.last.cells[1]).toBe('print("hello")');
  expect(streamed).toEqual(['read 23 bytes\n']);
  expect(result).toEqual({
    results: [{ text: '22', isMainResult: true }],
    logs: { stdout: ['read 23 bytes\n'], stderr: [] },
    error: null,
    failure: null,
    files: [],
    usage: { cpuMs: 340, peakMemoryBytes: 157286400, wallMs: expect.any(Number) },
    truncated: { stdout: false, stderr: false },
    messages: [],
  });
  expect(sdk.last.killed).toBe(true);
});

test("an input named like a system path, or like an entry of the sandbox's root, stays in the workspace, with a message", async () => {
  const csv = join(root, 'x.csv');
  writeFileSync(csv, 'x\n1\n');
  sdk.script = async () => execution({});
  sdk.prepare = (sandbox) => sandbox.put('/code/start.sh', 'echo');

  const result = await backend().run(
    request({
      files: ['etc', 'code', 'sales.csv'].map((name) => hostFileInput(name, csv)),
    }),
  );

  expect(sdk.last.uploads).toEqual([
    `user:${E2B_ML_MODULE}`,
    `user:${E2B_WORKSPACE}/etc`,
    `user:${E2B_WORKSPACE}/code`,
    `user:${E2B_WORKSPACE}/sales.csv`,
    'root:/sales.csv',
  ]);
  expect(result.messages).toEqual([
    {
      level: 'warning',
      message: 'The file "etc" is only in the working directory, not at /etc: that would shadow a system path.',
    },
    {
      level: 'warning',
      message: 'The file "code" is only in the working directory, not at /code: that would shadow a system path.',
    },
  ]);
});

test('without an input that can go to the root, the root is neither listed nor written', async () => {
  const csv = join(root, 'x.csv');
  writeFileSync(csv, 'x\n');
  sdk.script = async () => execution({});

  const result = await backend().run(request({ files: [hostFileInput('tmp', csv)] }));

  expect(sdk.last.uploads).toEqual([`user:${E2B_ML_MODULE}`, `user:${E2B_WORKSPACE}/tmp`]);
  expect(sdk.last.listed).not.toContain('/');
  expect(result.messages).toHaveLength(1);
});

test('the execution id falls back to the run id', async () => {
  await backend().run(request({ executionId: undefined }));
  expect(sdk.created[0].opts.metadata).toEqual({
    executionId: 'exec-1-analyze-1-abcd1234',
    runId: 'exec-1-analyze-1-abcd1234',
  });
});

test('written and changed files are collected with their folders; inputs, caches and symlinks are not', async () => {
  const a = join(root, 'a.csv');
  const b = join(root, 'b.csv');
  writeFileSync(a, 'a\n1\n');
  writeFileSync(b, 'b\n1\n');
  sdk.script = async (sandbox) => {
    sandbox.put('reports/2024/totals.csv', 'region,amount\nnorth,17\n');
    sandbox.put('b.csv', 'b\n1\n2\n');
    sandbox.put('__pycache__/junk.pyc', 'x');
    sandbox.put('figure-1.png', PNG_1PX);
    sandbox.symlink('passwd-link', '/etc/passwd');
    sandbox.symlink('etc', '/etc');
    // What a listing that followed the folder symlink would show.
    sandbox.fs.set(`${E2B_WORKSPACE}/etc/passwd`, {
      type: FileType.FILE,
      data: Buffer.from('root:x:0:0'),
      mtime: tick(),
    });
    sandbox.put('/home/user/outside.txt', 'not in the workspace');
    return execution({ results: [{ text: '<Figure>', png: PNG_1PX.toString('base64') }] });
  };
  const outputDir = mkdtempSync(join(root, 'out-'));

  const result = await backend().run(
    request({
      files: [hostFileInput('a.csv', a), hostFileInput('b.csv', b)],
      outputDir,
    }),
  );

  expect(result.files).toEqual([
    { name: 'b.csv', path: join(outputDir, 'b.csv'), size: 6 },
    { name: 'figure-1.png', path: join(outputDir, 'figure-1.png'), size: PNG_1PX.length },
    { name: 'reports/2024/totals.csv', path: join(outputDir, 'reports/2024/totals.csv'), size: 23 },
  ]);
  expect(readFileSync(join(outputDir, 'reports/2024/totals.csv'), 'utf8')).toBe('region,amount\nnorth,17\n');
  expect(readFileSync(join(outputDir, 'b.csv'), 'utf8')).toBe('b\n1\n2\n');
  // The figure result does not overwrite the file of the same name the code wrote.
  expect(result.results).toEqual([{ text: '<Figure>', png: 'figure-1-2.png', isMainResult: false }]);
  expect(readdirSync(outputDir).sort()).toEqual(['b.csv', 'figure-1-2.png', 'figure-1.png', 'reports']);
  expect(sdk.last.killed).toBe(true);
});

test('at most maxFiles files and workspaceBytes bytes are collected, in name order', async () => {
  sdk.script = async (sandbox) => {
    for (const name of ['d.txt', 'a.txt', 'c.txt', 'b.txt']) sandbox.put(name, '0123456789');
    sandbox.put('big.bin', Buffer.alloc(100));
    return execution({});
  };

  const byCount = await backend({ maxFiles: 2 }).run(request());
  expect(byCount.files.map((file) => file.name)).toEqual(['a.txt', 'b.txt']);

  const byBytes = await backend({ workspaceBytes: 35 }).run(request());
  expect(byBytes.files.map((file) => file.name)).toEqual(['a.txt', 'b.txt', 'c.txt']);
});

test('a Python exception is a result with the error, and the sandbox is killed', async () => {
  sdk.script = async () =>
    execution({
      stdout: ['before\n'],
      error: {
        name: 'KeyError',
        value: "'amount'",
        traceback: "\u001b[0;31mKeyError\u001b[0m: 'amount'",
      },
    });

  const result = await backend().run(request());

  expect(result.failure).toBe('CODE_ERROR');
  expect(result.error).toEqual({ name: 'KeyError', value: "'amount'", traceback: "KeyError: 'amount'" });
  expect(result.logs.stdout).toEqual(['before\n']);
  expect(sdk.last.killed).toBe(true);
});

test('an SDK error during the run is SandboxUnavailableError, and the sandbox is killed', async () => {
  sdk.script = async () => {
    throw new TimeoutError('502: This error is likely due to sandbox timeout.');
  };

  const error = await rejection(backend().run(request()));

  expect(error).toBeInstanceOf(SandboxUnavailableError);
  expect(error.message).toContain('E2B run failed');
  expect((error as Error & { cause: unknown }).cause).toBeInstanceOf(TimeoutError);
  expect(sdk.last.killed).toBe(true);
});

test.each([
  ['a rate limit', 'transient error', new RateLimitError('Rate limit exceeded'), SandboxUnavailableError],
  ['a busy service', 'transient error', new ServiceBusyError('Service busy'), SandboxUnavailableError],
  ['a network failure', 'transient error', new TypeError('fetch failed'), SandboxUnavailableError],
  ['a refused API key', 'configuration error', new AuthenticationError('Unauthorized'), SandboxConfigurationError],
])('%s when creating the sandbox is a %s', async (_, __, thrown, expected) => {
  sdk.failCreate = thrown;
  const started: string[] = [];

  const error = await rejection(backend().run(request({ onSandboxStarted: (id) => started.push(id) })));

  expect(error).toBeInstanceOf(expected);
  expect(started).toEqual([]);
});

test('a refused API key after creation is a configuration error, and the sandbox is killed', async () => {
  const csv = join(root, 'x.csv');
  writeFileSync(csv, 'x\n');
  const failing = new FakeSdk();
  failing.create = async (opts) => {
    const sandbox = await FakeSdk.prototype.create.call(failing, opts);
    sandbox.files.write = async () => {
      throw new AuthenticationError('Unauthorized');
    };
    return sandbox;
  };

  const error = await rejection(
    new E2bSandbox({ apiKey: 'k', sdk: failing }).run(request({ files: [hostFileInput('x.csv', csv)] })),
  );

  expect(error).toBeInstanceOf(SandboxConfigurationError);
  expect(failing.last.killed).toBe(true);
});

test('aborting kills the sandbox at once and rejects with AbortError', async () => {
  const controller = new AbortController();
  let running!: () => void;
  const isRunning = new Promise<void>((resolve) => (running = resolve));
  sdk.script = async (_, opts) => {
    await opts.onStdout?.({ line: 'started\n', error: false, timestamp: 0 });
    running();
    // Like a real endless loop: it only ends when the sandbox does.
    return new Promise<Execution>(() => undefined);
  };
  const outcome = rejection(backend().run(request({ signal: controller.signal })));
  await isRunning;

  controller.abort();
  const error = await outcome;

  expect(error.name).toBe('AbortError');
  expect(sdk.last.killed).toBe(true);
});

test('an abort while the sandbox is being created still kills it once it exists', async () => {
  const controller = new AbortController();
  let finishCreate!: () => void;
  const creating = new Promise<void>((resolve) => (finishCreate = resolve));
  const create = sdk.create.bind(sdk);
  sdk.create = async (opts) => {
    await creating;
    return create(opts);
  };
  const outcome = rejection(backend().run(request({ signal: controller.signal })));

  controller.abort();
  finishCreate();

  expect((await outcome).name).toBe('AbortError');
  expect(sdk.last.killed).toBe(true);
  expect(sdk.last.cells).toEqual([]);
});

test('an already aborted signal creates no sandbox', async () => {
  const controller = new AbortController();
  controller.abort();

  const error = await rejection(backend().run(request({ signal: controller.signal })));

  expect(error.name).toBe('AbortError');
  expect(sdk.created).toEqual([]);
});

test('code running past the timeout ends SANDBOX_TIMEOUT with the output so far, and is killed', async () => {
  sdk.script = async (_, opts) => {
    await opts.onStdout?.({ line: 'spinning\n', error: false, timestamp: 0 });
    return new Promise<Execution>(() => undefined);
  };
  // The kernel never answers: only the backend's own timeout can end the run (else Jest's 5 s would).
  const result = await backend().run(request({ timeoutMs: 200 }));

  expect(result.failure).toBe('SANDBOX_TIMEOUT');
  expect(result.error?.name).toBe('TimeoutError');
  expect(result.logs.stdout).toEqual(['spinning\n']);
  expect(result.usage.wallMs).toBeGreaterThanOrEqual(200);
  expect(sdk.last.killed).toBe(true);
});

test('output past the limit ends OUTPUT_LIMIT: kept up to the limit, the rest not streamed, killed', async () => {
  const streamed: string[] = [];
  let offered = 0;
  sdk.script = async (sandbox, opts) => {
    // Printing forever, as long as the sandbox lives.
    while (!sandbox.killed && offered < 10_000) {
      offered++;
      await opts.onStdout?.({ line: `${'x'.repeat(99)}\n`, error: false, timestamp: 0 });
      await new Promise((resolve) => setImmediate(resolve));
    }
    return new Promise<Execution>(() => undefined);
  };

  const result = await backend({ maxOutputBytes: 1000 }).run(request({ onStdout: (chunk) => streamed.push(chunk) }));

  expect(result.failure).toBe('OUTPUT_LIMIT');
  expect(result.truncated.stdout).toBe(true);
  expect(Buffer.byteLength(result.logs.stdout.join(''))).toBe(1000);
  expect(Buffer.byteLength(streamed.join(''))).toBe(1000);
  expect(sdk.last.killed).toBe(true);
  expect(offered).toBeLessThan(50);
});

test('a reconnect id kills the orphan sandbox before a fresh one starts', async () => {
  const result = await backend().run(request({ reconnectSandboxId: 'sbx-orphan' }));

  expect(sdk.connected.map((entry) => entry.sandboxId)).toEqual(['sbx-orphan']);
  expect(sdk.connected[0].opts).toMatchObject({ apiKey: 'e2b_test_key', debug: false });
  expect(sdk.connected[0].sandbox.killed).toBe(true);
  expect(sdk.created).toHaveLength(1);
  expect(sdk.last.sandboxId).not.toBe('sbx-orphan');
  expect(result.failure).toBeNull();
});

test('an orphan already gone, or out of reach, does not stop the retry; a refused key does', async () => {
  sdk.failConnect = new SandboxNotFoundError('Paused sandbox sbx-orphan not found');
  await expect(backend().run(request({ reconnectSandboxId: 'sbx-orphan' }))).resolves.toMatchObject({ failure: null });

  sdk.failConnect = new ServiceBusyError('busy');
  await expect(backend().run(request({ reconnectSandboxId: 'sbx-orphan' }))).resolves.toMatchObject({ failure: null });

  sdk.failConnect = new AuthenticationError('Unauthorized');
  await expect(backend().run(request({ reconnectSandboxId: 'sbx-orphan' }))).rejects.toBeInstanceOf(
    SandboxConfigurationError,
  );
});

test('closing ends the running runs with SandboxUnavailableError, kills them and refuses new ones', async () => {
  let running!: () => void;
  const isRunning = new Promise<void>((resolve) => (running = resolve));
  sdk.script = async () => {
    running();
    return new Promise<Execution>(() => undefined);
  };
  const sandbox = backend();
  const outcome = rejection(sandbox.run(request()));
  await isRunning;

  await sandbox.close();

  expect(await outcome).toBeInstanceOf(SandboxUnavailableError);
  expect(sdk.last.killed).toBe(true);
  await expect(sandbox.run(request())).rejects.toBeInstanceOf(SandboxUnavailableError);
});

test('with the real SDK, an unreachable E2B API is SandboxUnavailableError', async () => {
  // `.invalid` never resolves (RFC 2606), with or without a network.
  const real = new E2bSandbox({ apiKey: 'e2b_test_key', domain: 'e2b.invalid', requestTimeoutMs: 5000 });

  const error = await rejection(real.run(request()));

  expect(error).toBeInstanceOf(SandboxUnavailableError);
  expect(error.message).toMatch(/^E2B create failed: TypeError: fetch failed/);
});

test('the API key comes from the options only; without one the backend refuses to exist', () => {
  expect(() => new E2bSandbox({ apiKey: undefined, sdk })).toThrow(SandboxConfigurationError);
  expect(() => new E2bSandbox({ apiKey: '  ', sdk })).toThrow(SandboxConfigurationError);
});

test('the registry builds E2B from the configured key, and refuses without one', async () => {
  const warn = (message: string) => {
    throw new Error(`unexpected warning: ${message}`);
  };
  await expect(createSandbox('e2b', loadConfig({}), { warn })).rejects.toThrow(/E2B_API_KEY/);
  // Building contacts nobody: the SDK is loaded, and a sandbox created, only by a run.
  const built = await createSandbox('e2b', loadConfig({ E2B_API_KEY: 'k' }), { warn });
  expect(built.kind).toBe('e2b');
  await built.close();
});

test('input names that are not plain file names are refused before any sandbox starts', async () => {
  await expect(backend().run(request({ files: [hostFileInput('../x.csv', '/etc/hostname')] }))).rejects.toThrow(
    /not a plain file name/,
  );
  expect(sdk.created).toEqual([]);
  expect(existsSync(join(root, 'x.csv'))).toBe(false);
});
