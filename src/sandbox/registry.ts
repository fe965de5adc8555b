import type { Config } from '../config';
import { SANDBOX_KINDS, type SandboxKind } from '../domain/sandbox-kinds';
import { E2bSandbox } from './e2b-sandbox';
import { checkLocalSandbox, LocalSandbox } from './local-sandbox';
import type { Sandbox } from './types';

/** What building a backend may report to the process that builds it. */
export interface SandboxBuildContext {
  /** Weaker-than-asked modes and the like; the worker logs them. */
  warn(message: string): void;
}

/** How one backend is built from the configuration. */
export interface SandboxBackend {
  /**
   * Builds the backend, checked and able to take its first job (a pool may still be filling).
   * Rejects, saying what to fix, when the host or the settings cannot run it.
   */
  create(config: Config, context: SandboxBuildContext): Promise<Sandbox>;
}

/**
 * Every backend, by kind. Which of them a deployment offers is `config.sandbox.available`, decided
 * in src/config.ts because the gateway, which never loads sandbox code, needs the same answer.
 */
export const SANDBOX_BACKENDS: { readonly [K in SandboxKind]: SandboxBackend } = {
  local: {
    async create(config, context) {
      const check = await checkLocalSandbox(config.sandbox.pythonPath);
      if (!check.ok) throw new Error(`The local sandbox cannot run: ${check.problem}. Run scripts/setup.sh.`);
      if (check.warning) context.warn(check.warning);
      const local = new LocalSandbox({
        pythonPath: config.sandbox.pythonPath,
        workRoot: config.sandbox.workDir,
        poolMin: config.sandbox.pool.min,
        poolMax: config.sandbox.pool.max,
        // A run may ask for less (options.resources), never for more.
        limits: {
          memoryBytes: config.sandbox.maxima.memoryMb * 1024 ** 2,
          workspaceBytes: config.sandbox.maxima.diskMb * 1024 ** 2,
        },
        onWarning: (message) => context.warn(message),
      });
      // The worker fills the pool once it polls (warmUp): a job that comes first runs cold.
      return local;
    },
  },
  e2b: {
    async create(config) {
      return new E2bSandbox({
        apiKey: config.sandbox.e2bApiKey,
        domain: config.sandbox.e2bDomain,
        template: config.sandbox.e2bTemplate,
      });
    },
  },
};

/** Builds the backend `kind`, whether or not the configuration offers it (tests build each in turn). */
export function createSandbox(kind: SandboxKind, config: Config, context: SandboxBuildContext): Promise<Sandbox> {
  return SANDBOX_BACKENDS[kind].create(config, context);
}

/**
 * Builds every backend the configuration offers. If one cannot be built, those already built are
 * closed and the error is passed on.
 */
export async function createSandboxes(
  config: Config,
  context: SandboxBuildContext,
): Promise<Partial<Record<SandboxKind, Sandbox>>> {
  const sandboxes: Partial<Record<SandboxKind, Sandbox>> = {};
  try {
    for (const kind of SANDBOX_KINDS) {
      if (config.sandbox.available.includes(kind)) sandboxes[kind] = await createSandbox(kind, config, context);
    }
  } catch (error) {
    await Promise.allSettled(Object.values(sandboxes).map((sandbox) => sandbox.close()));
    throw error;
  }
  return sandboxes;
}
