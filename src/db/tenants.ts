import type { Kysely, Transaction } from 'kysely';
import type { Database } from './schema';

/**
 * Makes sure the tenant has its row, which every tenant-owned record references; a tenant comes
 * into being with its first key, task, subscription or strategy.
 */
export async function ensureTenant(
  db: Kysely<Database> | Transaction<Database>,
  tenant: string,
  createdAt: string,
): Promise<void> {
  await db
    .insertInto('tenants')
    .values({ id: tenant, created_at: createdAt })
    .onConflict((conflict) => conflict.column('id').doNothing())
    .execute();
}
