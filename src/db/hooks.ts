import { randomBytes } from 'node:crypto';
import type { Kysely } from 'kysely';
import type { Database } from './schema';

/** An inbound hook as the service shows it: never its secrets. */
export interface Hook {
  id: string;
  tenant: string;
  slug: string;
  mapping: Record<string, string> | null;
  createdAt: string;
  /** Until when the secret before the last rotation is still accepted. */
  previousSecretUntil: string | null;
}

/** A hook with the secrets that may sign a delivery now. */
export interface HookWithSecrets extends Hook {
  secrets: string[];
}

type Row = Database['hooks'];

const newSecret = () => `whsec_${randomBytes(32).toString('base64url')}`;

function toHook(row: Row): Hook {
  return {
    id: row.id,
    tenant: row.tenant_id,
    slug: row.slug,
    mapping: row.mapping === null ? null : (JSON.parse(row.mapping) as Record<string, string>),
    createdAt: row.created_at,
    previousSecretUntil: row.previous_until,
  };
}

/** Inbound webhooks of named tasks, and the signatures they have accepted. */
export class HookStore {
  constructor(
    private readonly db: Kysely<Database>,
    private readonly now: () => Date = () => new Date(),
  ) {}

  async create(
    tenant: string,
    slug: string,
    mapping: Record<string, string> | null,
  ): Promise<{ hook: Hook; secret: string }> {
    const row: Row = {
      id: `hook_${randomBytes(12).toString('base64url')}`,
      tenant_id: tenant,
      slug,
      secret: newSecret(),
      previous_secret: null,
      previous_until: null,
      mapping: mapping === null ? null : JSON.stringify(mapping),
      created_at: this.now().toISOString(),
      deleted_at: null,
    };
    await this.db.insertInto('hooks').values(row).execute();
    return { hook: toHook(row), secret: row.secret };
  }

  /** A live hook with the secrets valid now; null for an unknown or deleted one. */
  async find(id: string): Promise<HookWithSecrets | null> {
    const row = await this.db
      .selectFrom('hooks')
      .selectAll()
      .where('id', '=', id)
      .where('deleted_at', 'is', null)
      .executeTakeFirst();
    if (!row) return null;
    const secrets = [row.secret];
    if (row.previous_secret !== null && row.previous_until !== null && row.previous_until > this.now().toISOString()) {
      secrets.push(row.previous_secret);
    }
    return { ...toHook(row), secrets };
  }

  async list(tenant: string, slug: string): Promise<Hook[]> {
    const rows = await this.db
      .selectFrom('hooks')
      .selectAll()
      .where('tenant_id', '=', tenant)
      .where('slug', '=', slug)
      .where('deleted_at', 'is', null)
      .orderBy('created_at')
      .execute();
    return rows.map(toHook);
  }

  /** A new secret; the old one stays valid for `graceMs`. Null for no such hook of the tenant. */
  async rotate(tenant: string, id: string, graceMs: number): Promise<{ hook: Hook; secret: string } | null> {
    const row = await this.db
      .selectFrom('hooks')
      .selectAll()
      .where('id', '=', id)
      .where('tenant_id', '=', tenant)
      .where('deleted_at', 'is', null)
      .executeTakeFirst();
    if (!row) return null;
    const secret = newSecret();
    const previousUntil = new Date(this.now().getTime() + graceMs).toISOString();
    await this.db
      .updateTable('hooks')
      .set({ secret, previous_secret: row.secret, previous_until: previousUntil })
      .where('id', '=', id)
      .execute();
    return { hook: toHook({ ...row, secret, previous_secret: row.secret, previous_until: previousUntil }), secret };
  }

  async delete(tenant: string, id: string): Promise<boolean> {
    const result = await this.db
      .updateTable('hooks')
      .set({ deleted_at: this.now().toISOString() })
      .where('id', '=', id)
      .where('tenant_id', '=', tenant)
      .where('deleted_at', 'is', null)
      .executeTakeFirst();
    return Number(result.numUpdatedRows) > 0;
  }

  /**
   * Records a signature as used; false when it was used before (a replayed delivery). Signatures
   * older than `windowMs` are forgotten, since their timestamps no longer pass the check.
   */
  async useSignature(hookId: string, signature: string, windowMs: number): Promise<boolean> {
    const now = this.now();
    await this.db
      .deleteFrom('hook_signatures')
      .where('seen_at', '<', new Date(now.getTime() - windowMs).toISOString())
      .execute();
    const result = await this.db
      .insertInto('hook_signatures')
      .values({ hook_id: hookId, signature, seen_at: now.toISOString() })
      .onConflict((conflict) => conflict.columns(['hook_id', 'signature']).doNothing())
      .executeTakeFirst();
    return Number(result.numInsertedOrUpdatedRows ?? 0) > 0;
  }
}
