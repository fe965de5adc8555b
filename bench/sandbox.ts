/**
 * Latency of the local sandbox for two jobs, `print(1)` and a pandas group-by plus a PNG plot on a
 * 10,000-row CSV, measured three ways: bare Debian python3 in a subprocess (the floor), the sandbox
 * cold (poolSize 0) and the warm pool (poolSize 2; the pool refills between runs, only `run()` is
 * timed). Prints median and p95.
 *
 *   npm run bench:sandbox            (30 runs per cell by default)
 *   npm run bench:sandbox -- 50
 */
import { spawn } from 'node:child_process';
import { chmodSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { hostFileInput } from '../src/sandbox/host-file-input';
import { LocalSandbox } from '../src/sandbox/local-sandbox';
import { percentile } from './stats';

const RUNS = Number(process.argv[2] ?? 30);
const WARMUP = 3;
const PYTHON = '/usr/bin/python3';

interface Job {
  label: string;
  code: string;
  /** Checks the output, so that a fast failure is never counted as a fast run. */
  expect: (stdout: string) => boolean;
  targetMs: number;
}

const JOBS: Job[] = [
  { label: 'print(1)', code: 'print(1)', expect: (stdout) => stdout === '1\n', targetMs: 15 },
  {
    label: 'pandas group-by + PNG plot',
    code: [
      'import pandas as pd',
      'import matplotlib.pyplot as plt',
      'df = pd.read_csv("sales.csv")',
      'totals = df.groupby("region")["amount"].sum().sort_values()',
      'ax = totals.plot.bar(title="Sales by region")',
      'ax.set_ylabel("amount")',
      'plt.tight_layout()',
      'plt.savefig("totals.png")',
      'print(len(df), round(totals.sum(), 2))',
    ].join('\n'),
    expect: (stdout) => stdout.startsWith('10000 '),
    targetMs: 150,
  },
];

type Mode = 'bare python3' | 'sandbox, cold' | 'sandbox, warm pool';

function salesCsv(rows: number): string {
  const regions = ['north', 'south', 'east', 'west', 'central'];
  const products = ['tea', 'coffee', 'cocoa', 'juice'];
  const lines = ['date,region,product,amount'];
  for (let i = 0; i < rows; i++) {
    const day = String((i % 28) + 1).padStart(2, '0');
    const month = String((Math.floor(i / 28) % 12) + 1).padStart(2, '0');
    const amount = (((i * 7919) % 10_000) / 100 + 1).toFixed(2);
    lines.push(`2024-${month}-${day},${regions[i % regions.length]},${products[(i * 3) % products.length]},${amount}`);
  }
  return `${lines.join('\n')}\n`;
}

/** Bare python3 with the code on stdin, in a folder holding the CSV. */
function runBare(code: string, cwd: string, mplConfigDir: string): Promise<{ ms: number; stdout: string }> {
  return new Promise((resolve, reject) => {
    const started = performance.now();
    const child = spawn(PYTHON, ['-'], {
      cwd,
      env: { MPLBACKEND: 'Agg', MPLCONFIGDIR: mplConfigDir, LANG: 'C.UTF-8', OPENBLAS_NUM_THREADS: '1' },
      stdio: ['pipe', 'pipe', 'pipe'],
    });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (chunk: Buffer) => (stdout += chunk.toString()));
    child.stderr.on('data', (chunk: Buffer) => (stderr += chunk.toString()));
    child.on('error', reject);
    child.on('close', (code) => {
      const ms = performance.now() - started;
      if (code === 0) resolve({ ms, stdout });
      else reject(new Error(`bare python3 exited ${code}: ${stderr}`));
    });
    child.stdin.end(code);
  });
}

async function measure(
  mode: Mode,
  job: Job,
  once: () => Promise<{ ms: number; stdout: string }>,
): Promise<{ median: number; p95: number }> {
  const times: number[] = [];
  for (let i = 0; i < WARMUP + RUNS; i++) {
    const { ms, stdout } = await once();
    if (!job.expect(stdout)) throw new Error(`${mode} / ${job.label}: unexpected output ${JSON.stringify(stdout)}`);
    if (i >= WARMUP) times.push(ms);
  }
  times.sort((a, b) => a - b);
  return { median: percentile(times, 50), p95: percentile(times, 95) };
}

async function main(): Promise<void> {
  const root = mkdtempSync(path.join(os.tmpdir(), 'bench-sandbox-'));
  // Sandboxes run as unprivileged uids that must be able to walk down to their folders.
  chmodSync(root, 0o755);
  const workRoot = path.join(root, 'work');
  const dataDir = path.join(root, 'data');
  const csv = path.join(root, 'sales.csv');
  writeFileSync(csv, salesCsv(10_000));
  const bareDir = mkdtempSync(path.join(root, 'bare-'));
  writeFileSync(path.join(bareDir, 'sales.csv'), salesCsv(10_000));
  const warnings: string[] = [];
  const onWarning = (message: string): void => void warnings.push(message);
  const cold = new LocalSandbox({ workRoot, poolSize: 0, onWarning });
  const warm = new LocalSandbox({ workRoot, poolSize: 2, onWarning });
  let runs = 0;

  const inSandbox = async (sandbox: LocalSandbox, job: Job): Promise<{ ms: number; stdout: string }> => {
    if (sandbox.poolSize > 0) {
      await sandbox.warmUp();
      // The refill finished: let its processes' last I/O settle before the clock starts.
      await new Promise((resolve) => setTimeout(resolve, 20));
    }
    const outputDir = path.join(dataDir, `out-${runs++}`);
    const started = performance.now();
    const execution = await sandbox.run({
      runId: `bench-${runs}`,
      code: job.code,
      files: [hostFileInput('sales.csv', csv)],
      outputDir,
      timeoutMs: 60_000,
    });
    const ms = performance.now() - started;
    rmSync(outputDir, { recursive: true, force: true });
    if (execution.failure) throw new Error(`${job.label}: ${execution.failure} ${JSON.stringify(execution.error)}`);
    return { ms, stdout: execution.logs.stdout.join('') };
  };

  try {
    // Builds the font cache, the seccomp filter and the runner before anything is timed.
    await cold.warmUp();
    const mplConfigDir = path.join(workRoot, 'mplconfig');
    const rows: { job: Job; mode: Mode; median: number; p95: number }[] = [];
    for (const job of JOBS) {
      const modes: [Mode, () => Promise<{ ms: number; stdout: string }>][] = [
        ['bare python3', () => runBare(job.code, bareDir, mplConfigDir)],
        ['sandbox, cold', () => inSandbox(cold, job)],
        ['sandbox, warm pool', () => inSandbox(warm, job)],
      ];
      for (const [mode, once] of modes) {
        process.stderr.write(`[bench] ${job.label} / ${mode}...\n`);
        rows.push({ job, mode, ...(await measure(mode, job, once)) });
      }
    }

    console.log(
      `\nLocal sandbox latency, ${RUNS} runs per row after ${WARMUP} warm-up runs ` +
        `(${os.cpus().length} cores, node ${process.version}):\n`,
    );
    const header = ['job', 'mode', 'median ms', 'p95 ms', 'target'];
    const lines = rows.map(({ job, mode, median, p95 }) => [
      job.label,
      mode,
      median.toFixed(1),
      p95.toFixed(1),
      mode === 'sandbox, warm pool' ? `median ≤ ${job.targetMs} ms: ${median <= job.targetMs ? 'met' : 'MISSED'}` : '',
    ]);
    const widths = header.map((title, i) => Math.max(title.length, ...lines.map((line) => line[i].length)));
    const format = (cells: string[]): string =>
      cells.map((cell, i) => (i === 2 || i === 3 ? cell.padStart(widths[i]) : cell.padEnd(widths[i]))).join('  ');
    console.log(format(header));
    console.log(widths.map((width) => '-'.repeat(width)).join('  '));
    for (const line of lines) console.log(format(line));
    for (const warning of warnings) console.log(`\nwarning: ${warning}`);
  } finally {
    await Promise.all([cold.close(), warm.close()]);
    rmSync(root, { recursive: true, force: true });
  }
}

main().catch((error: unknown) => {
  console.error(error);
  process.exit(1);
});
