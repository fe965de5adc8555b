/** What `npm start` and `npm run cluster` share: starting our processes, waiting for them, stopping them. */
import { spawn, type ChildProcess } from 'node:child_process';
import path from 'node:path';

const root = path.resolve(__dirname, '../..');

/** Our processes, started with `launch`; the first to stop on its own stops them all. */
export class Services {
  private readonly children: ChildProcess[] = [];
  private stopping = false;

  constructor(private readonly onUnexpectedExit: () => void) {}

  /** Starts `entry` (a TypeScript file of the repository) with `env`, its output on ours. */
  launch(name: string, entry: string, env: NodeJS.ProcessEnv): ChildProcess {
    const child = spawn(process.execPath, ['--import', 'tsx', path.join(root, entry)], {
      cwd: root,
      stdio: 'inherit',
      env,
    });
    child.once('exit', (code, signal) => {
      if (this.stopping) return;
      console.error(`The ${name} stopped (${signal ?? `exit code ${code}`}); stopping everything.`);
      this.onUnexpectedExit();
    });
    this.children.push(child);
    return child;
  }

  /** SIGTERM to each (SIGKILL after `graceMs`), and resolves once all have exited. */
  async stopAll(graceMs = 10_000): Promise<void> {
    this.stopping = true;
    await Promise.all(this.children.map((child) => terminate(child, graceMs)));
  }
}

export function terminate(child: ChildProcess, graceMs: number): Promise<void> {
  return new Promise((resolve) => {
    if (child.exitCode !== null || child.signalCode !== null) return resolve();
    child.once('exit', () => resolve());
    child.kill('SIGTERM');
    setTimeout(() => child.kill('SIGKILL'), graceMs).unref();
  });
}

/** Waits until /healthz says that Temporal answers and a worker polls. */
export async function waitForHealth(url: string, timeoutMs: number): Promise<boolean> {
  const deadline = Date.now() + timeoutMs;
  while (Date.now() < deadline) {
    const health = await fetch(url).then(
      (response) => response.json() as Promise<{ ok?: boolean }>,
      () => null,
    );
    if (health?.ok === true) return true;
    await new Promise((resolve) => setTimeout(resolve, 250));
  }
  return false;
}

export function splitAddress(address: string): [string, number] {
  const index = address.lastIndexOf(':');
  return [address.slice(0, index), Number(address.slice(index + 1))];
}
