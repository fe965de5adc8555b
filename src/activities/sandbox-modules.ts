import { randomUUID } from 'node:crypto';
import { mkdir, mkdtemp, rm } from 'node:fs/promises';
import path from 'node:path';
import type { SandboxKind } from '../domain/sandbox-kinds';
import type { Sandbox } from '../sandbox/types';
import type { InstalledModules } from './code-validator';

/** Run in the sandbox: every module its Python can import, and those beyond the standard library. */
const LIST_MODULES = String.raw`
import json, pkgutil, sys
names = set(sys.builtin_module_names) | {module.name for module in pkgutil.iter_modules()}
standard = set(getattr(sys, 'stdlib_module_names', ()))
# Packaging tools, the system's own bindings and CPython's test modules: importable, of no use to code here.
noise = {'apt', 'apt_inst', 'apt_pkg', 'aptsources', 'dbus', 'gi', 'pygtkcompat', 'softwareproperties', 'pip',
         'setuptools', 'pkg_resources', 'wheel', 'sitecustomize', 'usercustomize', 'test', 'perf', 'xxlimited',
         'xxlimited_35', 'xxsubtype', 'lsb_release', 'debconf', 'distro_info'}
print(json.dumps({'all': sorted(names | standard),
                  'thirdParty': sorted(name for name in names
                                       if name not in standard and name not in noise and not name.startswith('_'))}))
`;
const LIST_TIMEOUT_MS = 15_000;

/**
 * What each sandbox backend's Python has installed, asked of the sandbox itself once per worker (the
 * worker's own Python may differ from it). A backend that cannot be asked right now gives null, and
 * is asked again next time.
 */
export class SandboxModules {
  private readonly lists = new Map<SandboxKind, Promise<InstalledModules | null>>();

  constructor(
    private readonly sandboxes: Partial<Record<SandboxKind, Sandbox>>,
    private readonly workRoot: string,
    private readonly warn: (message: string) => void = () => undefined,
  ) {}

  get(kind: SandboxKind): Promise<InstalledModules | null> {
    let listed = this.lists.get(kind);
    if (listed === undefined) {
      listed = this.list(kind);
      this.lists.set(kind, listed);
      void listed.then((modules) => {
        if (modules === null && this.lists.get(kind) === listed) this.lists.delete(kind);
      });
    }
    return listed;
  }

  private async list(kind: SandboxKind): Promise<InstalledModules | null> {
    const sandbox = this.sandboxes[kind];
    if (!sandbox) return null;
    await mkdir(this.workRoot, { recursive: true });
    const outputDir = await mkdtemp(path.join(this.workRoot, 'modules-'));
    try {
      const execution = await sandbox.run({
        runId: `modules-${kind}-${randomUUID().slice(0, 8)}`,
        code: LIST_MODULES,
        files: [],
        outputDir,
        timeoutMs: LIST_TIMEOUT_MS,
      });
      const line = execution.logs.stdout.join('').trim().split('\n').pop() ?? '';
      if (execution.error !== null || execution.failure !== null) throw new Error(execution.failure ?? 'an error');
      const parsed = JSON.parse(line) as { all?: unknown; thirdParty?: unknown };
      if (!Array.isArray(parsed.all) || !Array.isArray(parsed.thirdParty)) throw new Error('an unreadable list');
      return { name: kind, all: parsed.all.map(String), thirdParty: parsed.thirdParty.map(String) };
    } catch (error) {
      this.warn(
        `the ${kind} sandbox's modules could not be listed (${error instanceof Error ? error.message : String(error)}); imports are checked against the denylist only`,
      );
      return null;
    } finally {
      await rm(outputDir, { recursive: true, force: true });
    }
  }
}
