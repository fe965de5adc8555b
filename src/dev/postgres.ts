import { execFileSync, spawnSync } from 'node:child_process';
import { chownSync, existsSync, mkdirSync, readdirSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { waitForPort } from './temporal-dev-server';

export interface LocalPostgres {
  url: string;
  port: number;
  stop(): Promise<void>;
}

/** The directory of Debian's PostgreSQL programs (initdb, pg_ctl), newest version first. */
export function postgresBin(): string {
  const root = '/usr/lib/postgresql';
  const versions = existsSync(root) ? readdirSync(root).sort((a, b) => Number(b) - Number(a)) : [];
  for (const version of versions) {
    const bin = path.join(root, version, 'bin');
    if (existsSync(path.join(bin, 'initdb'))) return bin;
  }
  throw new Error("PostgreSQL's programs were not found under /usr/lib/postgresql: run scripts/setup.sh");
}

/**
 * Starts Debian's PostgreSQL on `port` with its data in `dir` (created with initdb when empty),
 * trusting local connections, and resolves once it accepts them. initdb refuses to run as root, so
 * as root the server runs as the `postgres` user.
 */
export async function startPostgres(dir: string, port: number): Promise<LocalPostgres> {
  const bin = postgresBin();
  const asRoot = os.userInfo().uid === 0;
  const run = (program: string, args: string[]) => {
    const command = [path.join(bin, program), ...args];
    const result = asRoot
      ? spawnSync('su', ['postgres', '-s', '/bin/sh', '-c', command.map(quote).join(' ')], { encoding: 'utf8' })
      : spawnSync(command[0], command.slice(1), { encoding: 'utf8' });
    if (result.status !== 0) throw new Error(`${program} failed: ${result.stderr || result.stdout}`);
  };
  mkdirSync(dir, { recursive: true });
  if (asRoot) {
    const uid = Number(execFileSync('id', ['-u', 'postgres'], { encoding: 'utf8' }).trim());
    const gid = Number(execFileSync('id', ['-g', 'postgres'], { encoding: 'utf8' }).trim());
    chownSync(dir, uid, gid);
    const reachable = spawnSync('su', ['postgres', '-s', '/bin/sh', '-c', `test -w ${quote(dir)}`]);
    if (reachable.status !== 0) {
      throw new Error(
        `PostgreSQL runs as the postgres user, which cannot reach ${dir}: make the folders above it ` +
          'searchable by others (chmod o+x), or set DATA_DIR to a folder under one that is',
      );
    }
  }
  // A server an earlier run left behind (killed before it could stop it) is stopped first.
  if (existsSync(path.join(dir, 'postmaster.pid'))) {
    try {
      run('pg_ctl', ['-D', dir, '-m', 'fast', '-w', 'stop']);
    } catch {
      // Not running after all: the file is stale, and PostgreSQL starts over it.
    }
  }
  if (!existsSync(path.join(dir, 'PG_VERSION')))
    run('initdb', ['-D', dir, '-U', 'service', '--auth=trust', '-E', 'UTF8']);
  run('pg_ctl', [
    '-D',
    dir,
    '-o',
    `-p ${port} -k /tmp -c listen_addresses=127.0.0.1`,
    '-l',
    path.join(dir, 'server.log'),
    '-w',
    'start',
  ]);
  if (!(await waitForPort('127.0.0.1', port, 30_000))) throw new Error(`PostgreSQL did not listen on ${port}`);
  return {
    url: `postgres://service@127.0.0.1:${port}/postgres`,
    port,
    stop: async () => run('pg_ctl', ['-D', dir, '-m', 'fast', '-w', 'stop']),
  };
}

function quote(arg: string): string {
  return `'${arg.replace(/'/g, `'\\''`)}'`;
}
