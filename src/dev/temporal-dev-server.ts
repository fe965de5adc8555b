import { spawn, type ChildProcess } from 'node:child_process';
import { existsSync } from 'node:fs';
import net from 'node:net';
import path from 'node:path';
import { SEARCH_ATTRIBUTES } from '../workflows/messages';

/** Where scripts/setup.sh puts the Temporal CLI. */
export const TEMPORAL_BIN = path.resolve(__dirname, '../../.tools/bin/temporal');

export interface DevServerOptions {
  port: number;
  uiPort?: number;
  /** SQLite file; in memory without it. */
  dbFile?: string;
  namespace?: string;
  /** Wait at most this long for the server to answer. */
  startTimeoutMs?: number;
  /** Where the server's own output goes. */
  stdio?: 'inherit' | 'ignore';
}

export interface DevServer {
  address: string;
  uiPort: number | null;
  process: ChildProcess;
  stop(): Promise<void>;
}

/** Resolves when something accepts TCP connections at host:port, false after `timeoutMs`. */
export async function waitForPort(host: string, port: number, timeoutMs: number): Promise<boolean> {
  const deadline = Date.now() + timeoutMs;
  while (Date.now() < deadline) {
    if (await canConnect(host, port)) return true;
    await new Promise((resolve) => setTimeout(resolve, 100));
  }
  return false;
}

export function canConnect(host: string, port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const socket = net.connect({ host, port });
    socket.setTimeout(1000);
    socket.once('connect', () => {
      socket.destroy();
      resolve(true);
    });
    socket.once('timeout', () => {
      socket.destroy();
      resolve(false);
    });
    socket.once('error', () => resolve(false));
  });
}

/** A TCP port nobody listens on right now. */
export function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = net.createServer();
    server.unref();
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => {
      const address = server.address();
      server.close(() => resolve(typeof address === 'object' && address ? address.port : 0));
    });
  });
}

/**
 * Starts `temporal server start-dev` with our search attributes and waits until its frontend
 * answers. The SDK's own launcher waits only a few seconds, too little on a busy 2-core machine.
 */
export async function startDevServer(options: DevServerOptions): Promise<DevServer> {
  if (!existsSync(TEMPORAL_BIN)) throw new Error(`${TEMPORAL_BIN} is missing: run scripts/setup.sh`);
  const args = [
    'server',
    'start-dev',
    '--ip',
    '127.0.0.1',
    '--port',
    String(options.port),
    '--namespace',
    options.namespace ?? 'default',
    '--log-level',
    'error',
    '--dynamic-config-value',
    'frontend.enableServerVersionCheck=false',
    '--dynamic-config-value',
    'frontend.enableUpdateWorkflowExecution=true',
    '--dynamic-config-value',
    'system.enableActivityEagerExecution=true',
  ];
  for (const [name, type] of Object.entries(SEARCH_ATTRIBUTES)) args.push('--search-attribute', `${name}=${type}`);
  if (options.dbFile) args.push('--db-filename', options.dbFile);
  if (options.uiPort) args.push('--ui-port', String(options.uiPort));
  else args.push('--headless');
  const child = spawn(TEMPORAL_BIN, args, { stdio: ['ignore', options.stdio ?? 'ignore', options.stdio ?? 'ignore'] });
  let exited: number | null = null;
  child.once('exit', (code) => (exited = code ?? -1));
  const deadline = Date.now() + (options.startTimeoutMs ?? 90_000);
  while (Date.now() < deadline && exited === null) {
    if (await canConnect('127.0.0.1', options.port)) break;
    await new Promise((resolve) => setTimeout(resolve, 200));
  }
  try {
    if (exited !== null || Date.now() >= deadline) {
      throw new Error(`the Temporal dev server did not start on port ${options.port} (exit code ${exited})`);
    }
    await waitForTemporal(`127.0.0.1:${options.port}`, options.namespace ?? 'default', deadline - Date.now());
  } catch (error) {
    child.kill('SIGKILL');
    throw error;
  }
  return {
    address: `127.0.0.1:${options.port}`,
    uiPort: options.uiPort ?? null,
    process: child,
    stop: () =>
      new Promise<void>((resolve) => {
        if (child.exitCode !== null || child.signalCode !== null) return resolve();
        child.once('exit', () => resolve());
        child.kill('SIGTERM');
        setTimeout(() => child.kill('SIGKILL'), 5000).unref();
      }),
  };
}

/** Waits until the Temporal frontend answers gRPC for `namespace`, not just TCP. */
export async function waitForTemporal(address: string, namespace: string, timeoutMs: number): Promise<void> {
  const { Connection } = await import('@temporalio/client');
  const deadline = Date.now() + timeoutMs;
  let lastError: unknown;
  while (Date.now() < deadline) {
    try {
      const connection = await Connection.connect({ address, connectTimeout: 2000 });
      try {
        await connection.workflowService.describeNamespace({ namespace });
        return;
      } finally {
        await connection.close();
      }
    } catch (error) {
      lastError = error;
      await new Promise((resolve) => setTimeout(resolve, 250));
    }
  }
  throw new Error(`Temporal at ${address} did not answer: ${String(lastError)}`);
}
