/**
 * The sandbox backends there are. How each is configured and built lives in src/sandbox/registry.ts;
 * this list is here so that the domain, the workflow and the gateway can name a backend without
 * loading any sandbox code.
 */
export const SANDBOX_KINDS = ['local', 'e2b'] as const;

export type SandboxKind = (typeof SANDBOX_KINDS)[number];

export function isSandboxKind(value: unknown): value is SandboxKind {
  return typeof value === 'string' && (SANDBOX_KINDS as readonly string[]).includes(value);
}
