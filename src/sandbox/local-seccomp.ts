import { spawn } from 'node:child_process';
import { createHash } from 'node:crypto';
import { lstat, readFile } from 'node:fs/promises';
import { join } from 'node:path';

const GENERATOR = join(__dirname, 'seccomp-filter.py');
/** seccomp-filter.py's exit code when python3-seccomp is missing. */
const MODULE_MISSING = 3;

/** Where the filter is, or why there is none. */
export type SeccompFilter = { path: string; warning?: undefined } | { path?: undefined; warning: string };

/**
 * Compiles the sandbox's seccomp filter (see seccomp-filter.py) with Debian's python3-seccomp, once:
 * the BPF is cached in `workRoot` under a name derived from the generator and the architecture, so a
 * changed generator never meets an old filter.
 */
export async function buildSeccompFilter(workRoot: string, pythonPath: string): Promise<SeccompFilter> {
  const source = await readFile(GENERATOR);
  const digest = createHash('sha256').update(source).update(process.arch).digest('hex').slice(0, 12);
  const path = join(workRoot, `seccomp-${digest}.bpf`);
  const cached = await lstat(path).catch(() => null);
  if (cached?.isFile() && cached.size > 0) return { path };

  const { code, output } = await runGenerator(pythonPath, path);
  if (code === 0) return { path };
  if (code === MODULE_MISSING) {
    return { warning: 'python3-seccomp is not installed: sandboxes run without a seccomp filter' };
  }
  return {
    warning: `could not build the seccomp filter (${output.trim() || `exit ${code}`}): sandboxes run without one`,
  };
}

function runGenerator(pythonPath: string, target: string): Promise<{ code: number | null; output: string }> {
  return new Promise((resolve) => {
    let output = '';
    const child = spawn(pythonPath, ['-I', '-B', GENERATOR, target], { stdio: ['ignore', 'ignore', 'pipe'] });
    child.stderr.on('data', (chunk: Buffer) => (output += chunk.toString()));
    child.on('error', (error) => resolve({ code: null, output: error.message }));
    child.on('close', (code) => resolve({ code, output: output.slice(-500) }));
  });
}
