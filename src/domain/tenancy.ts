/** What an API key may do: read executions, run and steer them, manage its tenant's keys. */
export const SCOPES = ['read', 'run', 'admin'] as const;
export type Scope = (typeof SCOPES)[number];

/** The tenant of executions started before tenants existed, or with no key on an open gateway. */
export const DEFAULT_TENANT = 'default';

/** Tenant ids: short, lower-case, safe in visibility queries and URLs. */
export const TENANT_ID = /^[a-z0-9][a-z0-9-]{0,62}$/;

/** Who is calling: a tenant's key with its scopes, or the operator, who sees every tenant. */
export interface Principal {
  tenant: string;
  scopes: readonly Scope[];
  /** The key's id, recorded as `by` on what it does; never the secret. */
  keyId: string;
  operator: boolean;
}

/** Whether `principal` may see what belongs to `tenant`. Pure. */
export function canSee(principal: Principal, tenant: string): boolean {
  return principal.operator || principal.tenant === tenant;
}

/** Whether `principal` holds `scope`; the operator holds every scope. Pure. */
export function hasScope(principal: Principal, scope: Scope): boolean {
  return principal.operator || principal.scopes.includes(scope);
}
