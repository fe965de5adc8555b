import { E2bSandbox, type E2bSandboxOptions } from './e2b-sandbox';
import { LocalSandbox, type LocalSandboxOptions } from './local-sandbox';
import type { Sandbox, SandboxKind } from './types';

export { E2bSandbox, e2bSdk, E2B_WORKSPACE } from './e2b-sandbox';
export type { E2bSandboxHandle, E2bSandboxOptions, E2bSdk } from './e2b-sandbox';
export { LocalSandbox, checkLocalSandbox } from './local-sandbox';
export type { LocalSandboxOptions } from './local-sandbox';
export * from './types';

/** The options each backend takes. */
export interface SandboxOptionsByKind {
  local: LocalSandboxOptions;
  e2b: E2bSandboxOptions;
}

/**
 * Builds the backend `kind` names.
 * @throws SandboxConfigurationError for an e2b backend without an API key.
 */
export function createSandbox<K extends SandboxKind>(kind: K, options: SandboxOptionsByKind[K]): Sandbox {
  // TypeScript cannot narrow `options` with `kind` through the generic, hence the casts.
  const which: SandboxKind = kind;
  switch (which) {
    case 'local':
      return new LocalSandbox(options as LocalSandboxOptions);
    case 'e2b':
      return new E2bSandbox(options as E2bSandboxOptions);
    default:
      return assertNever(which);
  }
}

function assertNever(value: never): never {
  throw new Error(`Unknown sandbox kind ${String(value)}`);
}
