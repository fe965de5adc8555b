import { spawnSync } from 'node:child_process';
import { readFileSync, readdirSync } from 'node:fs';

/**
 * Processes whose command line mentions `marker` (a sandbox run carries its execution id), as
 * `pgrep -af` lists them. pgrep's exit code 1 means "none"; anything else (pgrep missing, a bad
 * pattern) throws, so that a check for "no process left" can never pass by checking nothing.
 */
export function processesMentioning(marker: string): string[] {
  const result = spawnSync('pgrep', ['-af', marker], { encoding: 'utf8' });
  if (result.error) throw new Error(`pgrep could not run: ${result.error.message}`);
  if (result.status === 1) return [];
  if (result.status !== 0) throw new Error(`pgrep -af ${marker} failed with ${result.status}: ${result.stderr}`);
  return result.stdout.split('\n').filter((line) => line.trim() !== '' && !line.includes('pgrep'));
}

export interface HostProcess {
  pid: number;
  ppid: number;
  /** The real uid. */
  uid: number;
  /** One letter: R, S, D, … and Z for a zombie (dead, not yet reaped: it holds nothing and cannot run). */
  state: string;
  /** The kernel is tearing the process down (PF_EXITING): it was killed or has returned, and cannot run. */
  exiting: boolean;
  cmdline: string;
}

const PF_EXITING = 0x4;

/** Every process of the host (those that end while listed are left out). */
export function allProcesses(): HostProcess[] {
  const listed: HostProcess[] = [];
  for (const entry of readdirSync('/proc')) {
    if (!/^\d+$/.test(entry)) continue;
    try {
      const status = readFileSync(`/proc/${entry}/status`, 'utf8');
      const stat = readFileSync(`/proc/${entry}/stat`, 'utf8');
      // Fields after the command name in parentheses: state, ppid, pgrp, session, tty, tpgid, flags, …
      const flags = Number(stat.slice(stat.lastIndexOf(')') + 2).split(' ')[6]);
      const cmdline = readFileSync(`/proc/${entry}/cmdline`, 'utf8').replace(/\0/g, ' ').trim();
      listed.push({
        pid: Number(entry),
        ppid: Number(/^PPid:\s+(\d+)/m.exec(status)?.[1]),
        uid: Number(/^Uid:\s+(\d+)/m.exec(status)?.[1]),
        state: /^State:\s+(\S)/m.exec(status)?.[1] ?? '?',
        exiting: (flags & PF_EXITING) !== 0,
        cmdline,
      });
    } catch {
      // Gone while listing.
    }
  }
  if (!listed.some((process_) => process_.pid === process.pid)) {
    throw new Error('/proc does not list this process: the process checks would see nothing');
  }
  return listed;
}
