import { randomBytes } from 'node:crypto';
import type { Kysely } from 'kysely';
import type { Database } from './schema';

/** When a schedule runs, as its creator said it. */
export type ScheduleSpec = ({ cron: string } | { every: string }) & { timezone: string };

export const OVERLAP_POLICIES = ['skip', 'buffer_one', 'allow_all', 'cancel_other'] as const;
export type OverlapPolicy = (typeof OVERLAP_POLICIES)[number];

/** Whose a schedule is, what it runs and when; whether it is paused, and its runs, are Temporal's. */
export interface ScheduleRecord {
  id: string;
  tenant: string;
  slug: string;
  version: number | 'latest';
  inputs: Record<string, unknown>;
  spec: ScheduleSpec;
  overlap: OverlapPolicy;
  createdAt: string;
}

type Row = Database['schedules'];

function toSchedule(row: Row): ScheduleRecord {
  return {
    id: row.id,
    tenant: row.tenant_id,
    slug: row.slug,
    version: row.version === null ? 'latest' : Number(row.version),
    inputs: JSON.parse(row.inputs) as Record<string, unknown>,
    spec: JSON.parse(row.spec) as ScheduleSpec,
    overlap: row.overlap as OverlapPolicy,
    createdAt: row.created_at,
  };
}

/** Schedules of named tasks, by tenant: another tenant's schedule is never found. */
export class ScheduleStore {
  constructor(
    private readonly db: Kysely<Database>,
    private readonly now: () => Date = () => new Date(),
  ) {}

  /** A new schedule's id, unique and safe in a Temporal id. */
  static newId(): string {
    return `sched-${randomBytes(9).toString('base64url').replace(/[_-]/g, 'x').toLowerCase()}`;
  }

  async create(schedule: Omit<ScheduleRecord, 'createdAt'>): Promise<ScheduleRecord> {
    const row: Row = {
      id: schedule.id,
      tenant_id: schedule.tenant,
      slug: schedule.slug,
      version: schedule.version === 'latest' ? null : schedule.version,
      inputs: JSON.stringify(schedule.inputs),
      spec: JSON.stringify(schedule.spec),
      overlap: schedule.overlap,
      created_at: this.now().toISOString(),
    };
    await this.db.insertInto('schedules').values(row).execute();
    return toSchedule(row);
  }

  async list(tenant: string, slug: string): Promise<ScheduleRecord[]> {
    const rows = await this.db
      .selectFrom('schedules')
      .selectAll()
      .where('tenant_id', '=', tenant)
      .where('slug', '=', slug)
      .orderBy('created_at')
      .orderBy('id')
      .execute();
    return rows.map(toSchedule);
  }

  async get(tenant: string, id: string): Promise<ScheduleRecord | null> {
    const row = await this.db
      .selectFrom('schedules')
      .selectAll()
      .where('tenant_id', '=', tenant)
      .where('id', '=', id)
      .executeTakeFirst();
    return row === undefined ? null : toSchedule(row);
  }

  /** Forgets a schedule; false when the tenant has none of that id. */
  async delete(tenant: string, id: string): Promise<boolean> {
    const result = await this.db
      .deleteFrom('schedules')
      .where('tenant_id', '=', tenant)
      .where('id', '=', id)
      .executeTakeFirst();
    return Number(result.numDeletedRows) > 0;
  }
}
