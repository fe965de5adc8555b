import {
  AuthenticationError,
  InvalidArgumentError,
  RateLimitError,
  Sandbox,
  SandboxError,
  SandboxNotFoundError,
  ServiceBusyError,
  TimeoutError,
  type Execution,
} from '@e2b/code-interpreter';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { mkdtempSync, readFileSync, readdirSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import {
  OutputCapture,
  mapError,
  mapExecution,
  placeImages,
  readEpilogue,
  sandboxErrorFromSdk,
  stripAnsi,
} from '../../src/sandbox/e2b-mapping';
import { SandboxConfigurationError, SandboxUnavailableError } from '../../src/sandbox/types';

// The SDK requires chalk 5, an ES module, which Jest cannot require on Node 20 (Node itself can, from
// 20.19); the SDK only colours template-build logs with it, so a pass-through stands in for it here.
jest.mock(require.resolve('chalk', { paths: [require.resolve('e2b')] }), () => {
  const chalk = new Proxy((text: unknown) => String(text), {
    get: (_, key) => (key === 'hex' || key === 'rgb' ? () => chalk : chalk),
  });
  return chalk;
});

const PNG_MAGIC = Buffer.from([0x89, 0x50, 0x4e, 0x47]);
const JPEG_MAGIC = Buffer.from([0xff, 0xd8, 0xff]);
const LIMIT = { maxOutputBytes: 1024 * 1024 };

interface Fixture {
  description: string;
  code: string;
  stream: Array<Record<string, unknown>>;
}

function fixture(name: string): Fixture {
  return JSON.parse(readFileSync(join(__dirname, '..', 'fixtures', 'e2b', `${name}.json`), 'utf8')) as Fixture;
}

/**
 * Plays a fixture's stream as E2B's code-interpreter server would answer POST /execute, so that the
 * real SDK parses it into its own Execution and Result objects.
 */
let server: Server;
let serverUrl: string;
let nextStream: Fixture['stream'] = [];

beforeAll(async () => {
  server = createServer((request, response) => {
    request.resume();
    request.on('end', () => {
      if (request.method !== 'POST' || request.url !== '/execute') {
        response.writeHead(404).end();
        return;
      }
      response.writeHead(200, { 'content-type': 'application/x-ndjson' });
      for (const message of nextStream) response.write(`${JSON.stringify(message)}\n`);
      response.end();
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  serverUrl = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
});

afterAll(async () => {
  await new Promise((resolve) => server.close(resolve));
});

async function executionOf(name: string): Promise<Execution> {
  const { code, stream } = fixture(name);
  nextStream = stream;
  // Debug mode with a sandbox URL: the SDK talks to the loopback server and never to E2B's API.
  const sandbox = await Sandbox.connect('fixture-sandbox', { debug: true, sandboxUrl: serverUrl, apiKey: 'unused' });
  return sandbox.runCode(code);
}

let outputDir: string;
beforeEach(() => {
  outputDir = mkdtempSync(join(tmpdir(), 'e2b-mapping-'));
});
afterEach(() => rmSync(outputDir, { recursive: true, force: true }));

test("the SDK's own JSON form drops isMainResult, so the mapping takes the live Execution", async () => {
  const execution = await executionOf('dataframe');
  expect(execution.results[0].isMainResult).toBe(true);
  const serialized = JSON.parse(JSON.stringify(execution)) as { results: Array<Record<string, unknown>> };
  expect(serialized.results[0]).not.toHaveProperty('isMainResult');
});

test('stdout and stderr only', async () => {
  const mapped = mapExecution(await executionOf('stdout-stderr'), LIMIT);

  expect(mapped).toEqual({
    results: [],
    logs: { stdout: ['loading sales.csv\n', 'done\n'], stderr: ['warning: 3 rows without a region were dropped\n'] },
    truncated: { stdout: false, stderr: false },
    error: null,
    failure: null,
  });
});

test('a trailing DataFrame is the main result with text and HTML, without E2B-only fields', async () => {
  const mapped = mapExecution(await executionOf('dataframe'), LIMIT);

  expect(mapped.error).toBeNull();
  expect(mapped.logs.stdout).toEqual(['3 rows\n']);
  expect(mapped.results).toHaveLength(1);
  const [result] = mapped.results;
  expect(Object.keys(result).sort()).toEqual(['html', 'isMainResult', 'text']);
  expect(result.isMainResult).toBe(true);
  expect(result.text).toContain('Oslo');
  expect(result.html).toContain('<table');
  expect(result.html).toContain('<td>Lima</td>');
});

test('a matplotlib figure becomes a PNG file in outputDir, named by the result', async () => {
  const execution = await executionOf('matplotlib-figure');
  const mapped = mapExecution(execution, LIMIT);

  expect(mapped.results).toHaveLength(1);
  expect(mapped.results[0].isMainResult).toBe(false);
  const placed = await placeImages(mapped.results, outputDir, new Set());

  expect(placed).toEqual([{ text: '<Figure size 240x180 with 1 Axes>', png: 'figure-1.png', isMainResult: false }]);
  const written = readFileSync(join(outputDir, 'figure-1.png'));
  expect(written.subarray(0, 4)).toEqual(PNG_MAGIC);
  expect(written).toEqual(Buffer.from(execution.results[0].png ?? '', 'base64'));
  expect(readdirSync(outputDir)).toEqual(['figure-1.png']);
});

test('a Python exception is an error with a plain-text traceback naming the line, and CODE_ERROR', async () => {
  const execution = await executionOf('exception');
  expect(execution.error?.traceback).toContain('\u001b[');

  const mapped = mapExecution(execution, LIMIT);

  expect(mapped.failure).toBe('CODE_ERROR');
  expect(mapped.logs.stdout).toEqual(['before\n']);
  expect(mapped.error?.name).toBe('ZeroDivisionError');
  expect(mapped.error?.value).toBe('division by zero');
  const traceback = mapped.error?.traceback ?? '';
  expect(traceback).not.toContain('\u001b');
  expect(traceback.split('\n').slice(0, 3)).toEqual([
    '-'.repeat(75),
    'ZeroDivisionError                         Traceback (most recent call last)',
    'Cell In[2], line 5',
  ]);
  expect(traceback).toContain('----> 5 ratio(1, 0)');
  expect(traceback).toContain('Cell In[2], line 2, in ratio(a, b)');
  expect(traceback).toContain('----> 2     return a / b');
  expect(traceback.endsWith('ZeroDivisionError: division by zero')).toBe(true);
});

test('several results keep their order; images get free names; only the last is the main result', async () => {
  const execution = await executionOf('multiple-results');
  const mapped = mapExecution(execution, LIMIT);
  // A file the code wrote already has the first figure's name.
  const placed = await placeImages(mapped.results, outputDir, new Set(['figure-1.png']));

  expect(placed).toEqual([
    { text: '<IPython.core.display.Markdown object>', markdown: '**Total**: 22', isMainResult: false },
    { text: '<Figure size 150x100 with 1 Axes>', png: 'figure-1-2.png', isMainResult: false },
    { text: '<IPython.core.display.Image object>', jpeg: 'figure-2.jpg', isMainResult: false },
    {
      text: '<IPython.core.display.SVG object>',
      svg: expect.stringMatching(/^<svg [^>]*>.*<\/svg>$/),
      isMainResult: false,
    },
    { text: '<IPython.core.display.JSON object>', json: { north: 17, south: 5 }, isMainResult: false },
    { text: "{'north': 17, 'south': 5}", isMainResult: true },
  ]);
  expect(readFileSync(join(outputDir, 'figure-1-2.png')).subarray(0, 4)).toEqual(PNG_MAGIC);
  expect(readFileSync(join(outputDir, 'figure-2.jpg')).subarray(0, 3)).toEqual(JPEG_MAGIC);
  expect(readdirSync(outputDir).sort()).toEqual(['figure-1-2.png', 'figure-2.jpg']);
});

test('output past the limit is cut at the limit, on a character boundary, and marked truncated', async () => {
  const mapped = mapExecution(await executionOf('stdout-stderr'), { maxOutputBytes: 20 });

  expect(mapped.logs.stdout).toEqual(['loading sales.csv\n', 'do']);
  expect(mapped.truncated).toEqual({ stdout: true, stderr: true });
  expect(Buffer.byteLength(mapped.logs.stderr.join(''))).toBe(20);

  const capture = new OutputCapture(4);
  expect(capture.push('hé')).toEqual({ kept: 'hé', ok: true });
  expect(capture.push('éa')).toEqual({ kept: '', ok: false });
  expect(capture.chunks).toEqual(['hé']);
});

test('results too large are cut (text) or dropped (markup); results with nothing we keep are dropped', async () => {
  const mapped = mapExecution(await executionOf('dataframe'), { maxOutputBytes: 30 });
  expect(mapped.results).toEqual([{ text: expect.stringMatching(/\n\[truncated\]$/), isMainResult: true }]);

  nextStream = [{ type: 'result', pdf: 'JVBERi0xLjQK', latex: '$x$', is_main_result: false }];
  const sandbox = await Sandbox.connect('fixture-sandbox', { debug: true, sandboxUrl: serverUrl, apiKey: 'unused' });
  expect(mapExecution(await sandbox.runCode('x'), LIMIT).results).toEqual([]);
});

test('SystemExit with code 0 is a normal end; MemoryError and a full disk are RESOURCE_EXHAUSTED', () => {
  const error = (name: string, value: string) => ({ name, value, traceback: `${name}: ${value}` });

  expect(mapError(error('SystemExit', '0'), 1000)).toEqual({ error: null, failure: null });
  expect(mapError(error('SystemExit', ''), 1000)).toEqual({ error: null, failure: null });
  expect(mapError(error('SystemExit', '3'), 1000).failure).toBe('CODE_ERROR');
  expect(mapError(error('MemoryError', ''), 1000).failure).toBe('RESOURCE_EXHAUSTED');
  expect(mapError(error('OSError', '[Errno 28] No space left on device'), 1000).failure).toBe('RESOURCE_EXHAUSTED');
  expect(mapError(error('FileNotFoundError', "[Errno 2] No such file: 'x.csv'"), 1000).failure).toBe('CODE_ERROR');
  expect(stripAnsi('\u001b[1;31mKeyError\u001b[0m: \u001b]8;;http://x\u0007link\u001b]8;;\u0007')).toBe(
    'KeyError: link',
  );
});

describe('SDK errors', () => {
  const withStatus = (status: number): SandboxError => {
    const error = new SandboxError(`${status}: refused`);
    error.statusCode = status;
    return error;
  };

  test.each([
    ['a refused API key', new AuthenticationError('Unauthorized'), 'create'],
    ['a missing API key, during a run', new AuthenticationError('API key is required'), 'run'],
    ['an unknown template', withStatus(404), 'create'],
    ['a bad request', new InvalidArgumentError('bad'), 'create'],
    ['a forbidden team', withStatus(403), 'create'],
  ] as const)('%s is a configuration error', (_, error, step) => {
    const mapped = sandboxErrorFromSdk(error, step);
    expect(mapped).toBeInstanceOf(SandboxConfigurationError);
    expect(mapped.cause).toBe(error);
  });

  test.each([
    ['a rate limit', new RateLimitError('429'), 'create'],
    ['a busy service', new ServiceBusyError('503'), 'create'],
    ['a 5xx', withStatus(502), 'create'],
    ['a request timeout', new TimeoutError('Request timed out'), 'upload'],
    ['a sandbox that vanished', new SandboxNotFoundError('gone'), 'run'],
    ['a 404 after creation', withStatus(404), 'collect'],
    ['a network failure', new TypeError('fetch failed', { cause: { code: 'ECONNRESET' } }), 'run'],
    ['something not an Error', 'boom', 'run'],
  ] as const)('%s is transient', (_, error, step) => {
    const mapped = sandboxErrorFromSdk(error, step);
    expect(mapped).toBeInstanceOf(SandboxUnavailableError);
    expect(mapped.message).toContain(step);
  });
});

describe("the epilogue's output", () => {
  test('gives the usage and the messages, whatever else the kernel printed around them', () => {
    const read = readEpilogue([
      'a thread of the code still printing\n__sandbox_usage__ {"cpuMs": 12, "peakMemoryBytes": 4096}\n',
      '__sandbox_messages__ [{"level": "warning", "message": "3 rows had no date"}, {"level": "info", "message": "loaded"}]\n',
    ]);
    expect(read).toEqual({
      usage: { cpuMs: 12, peakMemoryBytes: 4096 },
      messages: [
        { level: 'warning', message: '3 rows had no date' },
        { level: 'info', message: 'loaded' },
      ],
    });
  });

  test('keeps only well-formed messages, as many and as long as the local runner does', () => {
    const sent = [
      { level: 'shout', message: 'unknown level' },
      { level: 'info', message: 42 },
      'not an object',
      { level: 'error', message: 'x'.repeat(3000) },
      ...Array.from({ length: 250 }, (_, i) => ({ level: 'debug', message: `m${i}` })),
    ];
    const { messages } = readEpilogue([`__sandbox_messages__ ${JSON.stringify(sent)}\n`]);
    expect(messages).toHaveLength(200);
    expect(messages[0]).toEqual({ level: 'error', message: `${'x'.repeat(2000)}\n[truncated]` });
    expect(messages[1]).toEqual({ level: 'debug', message: 'm0' });
  });

  test('missing or broken lines read as zero usage and no messages', () => {
    expect(
      readEpilogue(['__sandbox_usage__ {"cpuMs": -1, "peakMemoryBytes": 1}\n__sandbox_messages__ {oops\n']),
    ).toEqual({ usage: { cpuMs: 0, peakMemoryBytes: 0 }, messages: [] });
    expect(readEpilogue([])).toEqual({ usage: { cpuMs: 0, peakMemoryBytes: 0 }, messages: [] });
  });
});
