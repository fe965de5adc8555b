export { E2bSandbox, e2bSdk, E2B_WORKSPACE } from './e2b-sandbox';
export type { E2bSandboxHandle, E2bSandboxOptions, E2bSdk } from './e2b-sandbox';
export { hostFileInput } from './host-file-input';
export { LocalSandbox, checkLocalSandbox } from './local-sandbox';
export type { LocalSandboxOptions } from './local-sandbox';
export { SANDBOX_BACKENDS, createSandbox, createSandboxes } from './registry';
export type { SandboxBackend, SandboxBuildContext } from './registry';
export * from './types';
