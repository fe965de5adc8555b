import { randomBytes } from 'node:crypto';
import type { Kysely } from 'kysely';
import type { Database } from './schema';
import { ensureTenant } from './tenants';

export const SUBSCRIPTION_EVENTS = ['status', 'awaiting_input', 'completed', 'alert'] as const;
export type SubscriptionEvent = (typeof SUBSCRIPTION_EVENTS)[number];

/** A subscription as the service shows it: never its secret. */
export interface Subscription {
  id: string;
  tenant: string;
  url: string;
  events: SubscriptionEvent[];
  /** Set when the subscription is one execution's `options.notify`. */
  executionId: string | null;
  createdAt: string;
}

/** One attempt to deliver an event, as `GET /api/subscriptions/:id/deliveries` shows it. */
export interface DeliveryAttempt {
  deliveryId: string;
  event: string;
  executionId: string;
  attempt: number;
  outcome: 'delivered' | 'failed';
  responseStatus: number | null;
  /** The start of what the receiver answered (its first 200 characters). */
  responseBody: string | null;
  error: string | null;
  durationMs: number;
  at: string;
}

type Row = Database['subscriptions'];

const toSubscription = (row: Row): Subscription => ({
  id: row.id,
  tenant: row.tenant_id,
  url: row.url,
  events: row.events.split(',') as SubscriptionEvent[],
  executionId: row.execution_id,
  createdAt: row.created_at,
});

export const newSubscriptionSecret = () => `whsec_${randomBytes(32).toString('base64url')}`;

/** Subscriptions to execution events, by tenant, and the log of their deliveries. */
export class SubscriptionStore {
  constructor(
    private readonly db: Kysely<Database>,
    private readonly now: () => Date = () => new Date(),
  ) {}

  async create(subscription: {
    tenant: string;
    url: string;
    events: SubscriptionEvent[];
    secret: string;
    executionId?: string;
  }): Promise<Subscription> {
    const createdAt = this.now().toISOString();
    const row: Row = {
      id: `sub_${randomBytes(12).toString('base64url')}`,
      tenant_id: subscription.tenant,
      url: subscription.url,
      events: subscription.events.join(','),
      secret: subscription.secret,
      execution_id: subscription.executionId ?? null,
      created_at: createdAt,
      deleted_at: null,
    };
    await this.db.transaction().execute(async (trx) => {
      await ensureTenant(trx, subscription.tenant, createdAt);
      await trx.insertInto('subscriptions').values(row).execute();
    });
    return toSubscription(row);
  }

  /** The tenant's subscriptions to all its executions (not those of one execution's `notify`). */
  async list(tenant: string): Promise<Subscription[]> {
    const rows = await this.live()
      .where('tenant_id', '=', tenant)
      .where('execution_id', 'is', null)
      .orderBy('created_at')
      .orderBy('id')
      .execute();
    return rows.map(toSubscription);
  }

  /** Whether the tenant has a subscription to all its executions: their events are then sent. */
  async any(tenant: string): Promise<boolean> {
    const row = await this.live()
      .where('tenant_id', '=', tenant)
      .where('execution_id', 'is', null)
      .limit(1)
      .executeTakeFirst();
    return row !== undefined;
  }

  async get(tenant: string, id: string): Promise<Subscription | null> {
    const row = await this.live().where('tenant_id', '=', tenant).where('id', '=', id).executeTakeFirst();
    return row === undefined ? null : toSubscription(row);
  }

  /** A live subscription and its secret, by id alone: for the worker that delivers. */
  async forDelivery(id: string): Promise<(Subscription & { secret: string }) | null> {
    const row = await this.live().where('id', '=', id).executeTakeFirst();
    return row === undefined ? null : { ...toSubscription(row), secret: row.secret };
  }

  /**
   * The subscriptions an event of `executionId` goes to: the tenant's that take `event`, and the
   * execution's own.
   */
  async recipients(tenant: string, executionId: string, event: SubscriptionEvent): Promise<string[]> {
    const rows = await this.live()
      .where('tenant_id', '=', tenant)
      .where((where) => where.or([where('execution_id', 'is', null), where('execution_id', '=', executionId)]))
      .execute();
    return rows.filter((row) => row.events.split(',').includes(event)).map((row) => row.id);
  }

  /** Unsubscribes; false when the tenant has no such live subscription. */
  async delete(tenant: string, id: string): Promise<boolean> {
    const result = await this.db
      .updateTable('subscriptions')
      .set({ deleted_at: this.now().toISOString() })
      .where('tenant_id', '=', tenant)
      .where('id', '=', id)
      .where('deleted_at', 'is', null)
      .executeTakeFirst();
    return Number(result.numUpdatedRows) > 0;
  }

  async recordAttempt(subscriptionId: string, attempt: Omit<DeliveryAttempt, 'at'>): Promise<void> {
    await this.db
      .insertInto('deliveries')
      .values({
        id: `dla_${randomBytes(12).toString('base64url')}`,
        subscription_id: subscriptionId,
        delivery_id: attempt.deliveryId,
        event: attempt.event,
        execution_id: attempt.executionId,
        attempt: attempt.attempt,
        outcome: attempt.outcome,
        response_status: attempt.responseStatus,
        response_body: attempt.responseBody === null ? null : attempt.responseBody.slice(0, 200),
        error: attempt.error,
        duration_ms: attempt.durationMs,
        at: this.now().toISOString(),
      })
      .execute();
  }

  /** The newest attempts first, at most `limit`. */
  async deliveries(subscriptionId: string, limit = 100): Promise<DeliveryAttempt[]> {
    const rows = await this.db
      .selectFrom('deliveries')
      .selectAll()
      .where('subscription_id', '=', subscriptionId)
      .orderBy('at', 'desc')
      .orderBy('attempt', 'desc')
      .limit(limit)
      .execute();
    return rows.map((row) => ({
      deliveryId: row.delivery_id,
      event: row.event,
      executionId: row.execution_id,
      attempt: Number(row.attempt),
      outcome: row.outcome as DeliveryAttempt['outcome'],
      responseStatus: row.response_status === null ? null : Number(row.response_status),
      responseBody: row.response_body,
      error: row.error,
      durationMs: Number(row.duration_ms),
      at: row.at,
    }));
  }

  private live() {
    return this.db.selectFrom('subscriptions').selectAll().where('deleted_at', 'is', null);
  }
}
