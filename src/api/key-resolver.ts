import { createHash, timingSafeEqual } from 'node:crypto';
import type { KeyStore } from '../db/keys';
import { DEFAULT_TENANT, type Principal } from '../domain/tenancy';

export interface KeyResolverOptions {
  /** API_KEYS: each listed key is a tenant of its own, with read and run. */
  legacyKeys: readonly string[];
  /** ADMIN_API_KEY: the operator. */
  adminKey: string | undefined;
  /** Tenants' keys; null when the database is not opened (tests of other parts). */
  store: KeyStore | null;
  /** How long a looked-up key is remembered by this process. */
  cacheMs?: number;
  now?: () => number;
}

const sha256 = (text: string) => createHash('sha256').update(text).digest('hex');

/** The tenant of a key listed in API_KEYS: derived from the key, so the list's order does not matter. */
export function legacyTenant(key: string): string {
  return `k-${sha256(key).slice(0, 12)}`;
}

/** The operator acting without a key, on a gateway that requires none (loopback only). */
export const OPEN_PRINCIPAL: Principal = {
  tenant: DEFAULT_TENANT,
  scopes: ['read', 'run', 'admin'],
  keyId: 'anonymous',
  operator: true,
};

function sameSecret(a: string, b: string): boolean {
  const left = Buffer.from(sha256(a));
  const right = Buffer.from(sha256(b));
  return timingSafeEqual(left, right);
}

/**
 * Turns a presented secret into the principal it stands for. Tenants' keys are looked up by their
 * SHA-256 and remembered for `cacheMs`, so reads do not wait for the database; revoking through this
 * process forgets at once, other gateways within `cacheMs`.
 */
export class KeyResolver {
  private readonly cache = new Map<string, { principal: Principal | null; at: number }>();
  private readonly cacheMs: number;
  private readonly now: () => number;

  constructor(private readonly options: KeyResolverOptions) {
    this.cacheMs = options.cacheMs ?? 30_000;
    this.now = options.now ?? Date.now;
  }

  /** Whether a request must carry a key: once an operator key or API_KEYS are configured. */
  get required(): boolean {
    return this.options.adminKey !== undefined || this.options.legacyKeys.length > 0;
  }

  async resolve(secret: string): Promise<Principal | null> {
    const { adminKey, legacyKeys, store } = this.options;
    if (adminKey !== undefined && sameSecret(secret, adminKey)) {
      return { tenant: DEFAULT_TENANT, scopes: ['read', 'run', 'admin'], keyId: 'operator', operator: true };
    }
    const legacy = legacyKeys.find((key) => sameSecret(secret, key));
    if (legacy !== undefined) {
      const tenant = legacyTenant(legacy);
      return { tenant, scopes: ['read', 'run'], keyId: `api-key-${tenant.slice(2)}`, operator: false };
    }
    if (store === null) return null;
    const hash = sha256(secret);
    const cached = this.cache.get(hash);
    if (cached && this.now() - cached.at < this.cacheMs) return cached.principal;
    const key = await store.findBySecret(secret);
    const principal: Principal | null = key && {
      tenant: key.tenant,
      scopes: key.scopes,
      keyId: key.id,
      operator: false,
    };
    this.cache.set(hash, { principal, at: this.now() });
    if (key) store.touch(key.id).catch(() => undefined); // the last-used time is a hint, not worth a failure
    return principal;
  }

  /**
   * The principal of a console session, if the key it was opened with still stands: the operator's
   * and API_KEYS' keys while they are configured, a tenant's key while it is neither revoked nor
   * expired (remembered for `cacheMs`, like `resolve`). The scopes are the key's now, not the session's.
   */
  async confirm(claims: { keyId: string; tenant: string; operator: boolean }): Promise<Principal | null> {
    const { adminKey, legacyKeys, store } = this.options;
    if (claims.keyId === 'operator') {
      return adminKey === undefined || !claims.operator
        ? null
        : { tenant: DEFAULT_TENANT, scopes: ['read', 'run', 'admin'], keyId: 'operator', operator: true };
    }
    if (claims.keyId.startsWith('api-key-')) {
      const legacy = legacyKeys.find((key) => `api-key-${legacyTenant(key).slice(2)}` === claims.keyId);
      return legacy === undefined
        ? null
        : { tenant: legacyTenant(legacy), scopes: ['read', 'run'], keyId: claims.keyId, operator: false };
    }
    if (store === null) return null;
    const cacheKey = `id:${claims.keyId}`;
    const cached = this.cache.get(cacheKey);
    if (cached && this.now() - cached.at < this.cacheMs) return cached.principal;
    const key = await store.findLive(claims.keyId);
    const principal: Principal | null =
      key && key.tenant === claims.tenant
        ? { tenant: key.tenant, scopes: key.scopes, keyId: key.id, operator: false }
        : null;
    this.cache.set(cacheKey, { principal, at: this.now() });
    return principal;
  }

  /** Forgets every remembered key, after a revocation. */
  forget(): void {
    this.cache.clear();
  }
}
