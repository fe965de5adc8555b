import { createHash, randomBytes } from 'node:crypto';
import type { Kysely } from 'kysely';
import type { Database } from './schema';
import { ensureTenant } from './tenants';

import { SCOPES, type Scope } from '../domain/tenancy';

export { SCOPES, type Scope };

/** An API key as the service shows it: never its secret, which is shown once at creation. */
export interface ApiKey {
  id: string;
  tenant: string;
  name: string;
  scopes: Scope[];
  createdAt: string;
  expiresAt: string | null;
  lastUsedAt: string | null;
  revokedAt: string | null;
}

export interface NewKey {
  tenant: string;
  name: string;
  scopes: Scope[];
  expiresAt: string | null;
}

/** The SHA-256 of a secret: what the database keeps. A long random secret needs no slow hash. */
export function hashSecret(secret: string): string {
  return createHash('sha256').update(secret).digest('hex');
}

type Row = Database['api_keys'];

function toKey(row: Row): ApiKey {
  return {
    id: row.id,
    tenant: row.tenant_id,
    name: row.name,
    scopes: row.scopes.split(',').filter((scope): scope is Scope => (SCOPES as readonly string[]).includes(scope)),
    createdAt: row.created_at,
    expiresAt: row.expires_at,
    lastUsedAt: row.last_used_at,
    revokedAt: row.revoked_at,
  };
}

/** Tenants' API keys in the service's database. */
export class KeyStore {
  constructor(
    private readonly db: Kysely<Database>,
    private readonly now: () => Date = () => new Date(),
  ) {}

  /** Creates a key; the returned secret is the only time anyone sees it. */
  async create(key: NewKey): Promise<{ key: ApiKey; secret: string }> {
    const id = `key_${randomBytes(9).toString('base64url')}`;
    const secret = `ak_${randomBytes(32).toString('base64url')}`;
    const createdAt = this.now().toISOString();
    await ensureTenant(this.db, key.tenant, createdAt);
    const row: Row = {
      id,
      tenant_id: key.tenant,
      name: key.name,
      scopes: [...new Set(key.scopes)].join(','),
      secret_hash: hashSecret(secret),
      created_at: createdAt,
      expires_at: key.expiresAt,
      last_used_at: null,
      revoked_at: null,
    };
    await this.db.insertInto('api_keys').values(row).execute();
    return { key: toKey(row), secret };
  }

  /** The key with this secret, when it exists, is not revoked and has not expired. */
  async findBySecret(secret: string): Promise<ApiKey | null> {
    const row = await this.db
      .selectFrom('api_keys')
      .selectAll()
      .where('secret_hash', '=', hashSecret(secret))
      .executeTakeFirst();
    if (!row || row.revoked_at !== null) return null;
    if (row.expires_at !== null && row.expires_at <= this.now().toISOString()) return null;
    return toKey(row);
  }

  /** The key with this id, when it exists, is not revoked and has not expired. */
  async findLive(id: string): Promise<ApiKey | null> {
    const row = await this.db.selectFrom('api_keys').selectAll().where('id', '=', id).executeTakeFirst();
    if (!row || row.revoked_at !== null) return null;
    if (row.expires_at !== null && row.expires_at <= this.now().toISOString()) return null;
    return toKey(row);
  }

  /** Keys, newest first: one tenant's, or every tenant's. Revoked keys are listed with their time. */
  async list(tenant: string | null): Promise<ApiKey[]> {
    let query = this.db.selectFrom('api_keys').selectAll().orderBy('created_at', 'desc').orderBy('id');
    if (tenant !== null) query = query.where('tenant_id', '=', tenant);
    return (await query.execute()).map(toKey);
  }

  /** Revokes a key of `tenant` (any tenant's with null); false when there is no such live key. */
  async revoke(id: string, tenant: string | null): Promise<ApiKey | null> {
    let query = this.db
      .updateTable('api_keys')
      .set({ revoked_at: this.now().toISOString() })
      .where('id', '=', id)
      .where('revoked_at', 'is', null);
    if (tenant !== null) query = query.where('tenant_id', '=', tenant);
    const result = await query.executeTakeFirst();
    if (Number(result.numUpdatedRows) === 0) return null;
    const row = await this.db.selectFrom('api_keys').selectAll().where('id', '=', id).executeTakeFirstOrThrow();
    return toKey(row);
  }

  /** Records that a key was used. */
  async touch(id: string): Promise<void> {
    await this.db
      .updateTable('api_keys')
      .set({ last_used_at: this.now().toISOString() })
      .where('id', '=', id)
      .execute();
  }
}
