import type { Kysely } from 'kysely';
import { customStrategySchema, type CustomStrategy } from '../domain/custom-recovery-schema';
import type { Database } from './schema';
import { ensureTenant } from './tenants';

/** A registered strategy as the service shows it. */
export type RegisteredStrategy = CustomStrategy & { createdAt: string };

/** The most strategies one tenant may register (an execution consults at most 20 in all). */
export const MAX_TENANT_STRATEGIES = 20;

/** The recovery strategies each tenant registered, in the order they were registered. */
export class RecoveryStrategyStore {
  constructor(
    private readonly db: Kysely<Database>,
    private readonly now: () => Date = () => new Date(),
  ) {}

  /** Registers a strategy; false when the tenant has one with that id already. */
  async create(tenant: string, strategy: CustomStrategy): Promise<RegisteredStrategy | null> {
    const createdAt = this.now().toISOString();
    return this.db.transaction().execute(async (trx) => {
      await ensureTenant(trx, tenant, createdAt);
      const taken = await trx
        .selectFrom('recovery_strategies')
        .select('id')
        .where('tenant_id', '=', tenant)
        .where('id', '=', strategy.id)
        .executeTakeFirst();
      if (taken) return null;
      await trx
        .insertInto('recovery_strategies')
        .values({ tenant_id: tenant, id: strategy.id, definition: JSON.stringify(strategy), created_at: createdAt })
        .execute();
      return { ...strategy, createdAt };
    });
  }

  async count(tenant: string): Promise<number> {
    const row = await this.db
      .selectFrom('recovery_strategies')
      .select((eb) => eb.fn.countAll<string | number>().as('n'))
      .where('tenant_id', '=', tenant)
      .executeTakeFirstOrThrow();
    return Number(row.n);
  }

  async list(tenant: string): Promise<RegisteredStrategy[]> {
    const rows = await this.db
      .selectFrom('recovery_strategies')
      .selectAll()
      .where('tenant_id', '=', tenant)
      .orderBy('created_at')
      .orderBy('id')
      .execute();
    // Read back through the schema, so that a definition stored by an older version gets today's defaults.
    return rows.map((row) => ({
      ...customStrategySchema.parse(JSON.parse(row.definition)),
      createdAt: row.created_at,
    }));
  }

  /** False when the tenant has no strategy with that id. */
  async delete(tenant: string, id: string): Promise<boolean> {
    const result = await this.db
      .deleteFrom('recovery_strategies')
      .where('tenant_id', '=', tenant)
      .where('id', '=', id)
      .executeTakeFirst();
    return Number(result.numDeletedRows) > 0;
  }
}
