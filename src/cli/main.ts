import { runCli } from './cli';

/** The entry point of `agent-exec` (bin/agent-exec.mjs, `npm run cli`). */
async function main(): Promise<void> {
  // exitCode rather than exit(): a piped stdout may still hold the answer.
  process.exitCode = await runCli(process.argv, { env: process.env, stdout: process.stdout, stderr: process.stderr });
}

void main();
