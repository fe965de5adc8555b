import { spawn } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { createServer } from 'node:net';
import os from 'node:os';
import path from 'node:path';

const SERVER = path.resolve(__dirname, '../../src/api/server.ts');

function freePort(): Promise<number> {
  return new Promise((resolve) => {
    const server = createServer().listen(0, '127.0.0.1', () => {
      const { port } = server.address() as { port: number };
      server.close(() => resolve(port));
    });
  });
}

/** Starts the real gateway entry point; resolves with how it ended, or with 'listening' once it answers. */
function startGateway(env: Record<string, string>, port: number): Promise<{ outcome: string; output: string }> {
  return new Promise((resolve) => {
    const child = spawn(process.execPath, ['--import', 'tsx', SERVER], {
      env: { PATH: process.env.PATH ?? '', ...env, PORT: String(port), LOG_LEVEL: 'info' },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let output = '';
    let done = false;
    const finish = (outcome: string) => {
      if (done) return;
      done = true;
      clearInterval(poll);
      resolve({ outcome, output });
    };
    child.stdout.on('data', (chunk: Buffer) => (output += chunk.toString()));
    child.stderr.on('data', (chunk: Buffer) => (output += chunk.toString()));
    child.on('exit', (code) => finish(`exit ${code}`));
    // The gateway answers /healthz even while Temporal is away.
    const poll = setInterval(() => {
      fetch(`http://127.0.0.1:${port}/healthz`).then(
        () => {
          child.kill('SIGKILL');
          finish('listening');
        },
        () => undefined,
      );
    }, 200);
  });
}

describe('the gateway entry point', () => {
  let dataDir: string;
  beforeAll(() => {
    dataDir = mkdtempSync(path.join(os.tmpdir(), 'gateway-startup-'));
  });
  afterAll(() => rmSync(dataDir, { recursive: true, force: true }));

  // Nothing listens on this Temporal address: the gateway connects lazily, so it must not matter.
  const base = () => ({ TEMPORAL_ADDRESS: '127.0.0.1:1', DATA_DIR: dataDir });

  test('refuses to listen on a non-loopback HOST without API keys, and says what to set', async () => {
    const { outcome, output } = await startGateway({ ...base(), HOST: '0.0.0.0' }, await freePort());
    expect(outcome).toBe('exit 1');
    expect(output).toContain('Refusing to listen on 0.0.0.0 without keys');
    expect(output).toContain('ADMIN_API_KEY');
  });

  test('listens on a non-loopback HOST once API keys are set, and on loopback without them', async () => {
    const port = await freePort();
    expect((await startGateway({ ...base(), HOST: '0.0.0.0', API_KEYS: 'k-1' }, port)).outcome).toBe('listening');
    expect((await startGateway({ ...base() }, await freePort())).outcome).toBe('listening');
  });
});
