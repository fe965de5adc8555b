import { execFileSync } from 'node:child_process';

/** Processes whose command line mentions `marker` (a sandbox run carries its execution id). */
export function processesMentioning(marker: string): string[] {
  try {
    return execFileSync('pgrep', ['-af', marker], { encoding: 'utf8' })
      .split('\n')
      .filter((line) => line.trim() !== '' && !line.includes('pgrep'));
  } catch {
    return [];
  }
}
