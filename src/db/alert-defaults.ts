import type { Kysely } from 'kysely';
import { alertConditionSchema, type AlertConditionBody } from '../domain/alerts-schema';
import type { Database } from './schema';
import { ensureTenant } from './tenants';

/** A tenant's default alert conditions, as GET /api/alert-defaults shows them. */
export interface AlertDefaults {
  tenant: string;
  alerts: AlertConditionBody[];
  /** Null when the tenant never set any. */
  updatedAt: string | null;
}

/** The alert conditions each tenant's executions watch from their start, after their own and their task's. */
export class AlertDefaultsStore {
  constructor(
    private readonly db: Kysely<Database>,
    private readonly now: () => Date = () => new Date(),
  ) {}

  async get(tenant: string): Promise<AlertDefaults> {
    const row = await this.db
      .selectFrom('alert_defaults')
      .selectAll()
      .where('tenant_id', '=', tenant)
      .executeTakeFirst();
    if (row === undefined) return { tenant, alerts: [], updatedAt: null };
    // Read back through the schema, so a condition stored by an older version is checked as today's.
    return {
      tenant,
      alerts: alertConditionSchema.array().parse(JSON.parse(row.conditions)),
      updatedAt: row.updated_at,
    };
  }

  /** Replaces the tenant's defaults (an empty list removes them). */
  async put(tenant: string, alerts: AlertConditionBody[]): Promise<AlertDefaults> {
    const updatedAt = this.now().toISOString();
    await this.db.transaction().execute(async (trx) => {
      await ensureTenant(trx, tenant, updatedAt);
      await trx.deleteFrom('alert_defaults').where('tenant_id', '=', tenant).execute();
      if (alerts.length > 0) {
        await trx
          .insertInto('alert_defaults')
          .values({ tenant_id: tenant, conditions: JSON.stringify(alerts), updated_at: updatedAt })
          .execute();
      }
    });
    return { tenant, alerts, updatedAt: alerts.length > 0 ? updatedAt : null };
  }
}
