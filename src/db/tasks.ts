import type { Kysely } from 'kysely';
import type { TaskParameters } from '../domain/task-parameters';
import type { ArtifactRef } from '../domain/types';
import type { Database } from './schema';
import { ensureTenant } from './tenants';

/** One version of a named task, as the service shows it. */
export interface NamedTask {
  tenant: string;
  slug: string;
  version: number;
  title: string;
  /** The task text, with `{{name}}` placeholders for its parameters. */
  description: string;
  parameters: TaskParameters;
  code: string | null;
  plan: unknown;
  options: Record<string, unknown> | null;
  files: ArtifactRef[];
  createdAt: string;
}

export type TaskDefinition = Omit<NamedTask, 'tenant' | 'slug' | 'version' | 'createdAt'>;

type Row = Database['tasks'];

function toTask(row: Row): NamedTask {
  return {
    tenant: row.tenant_id,
    slug: row.slug,
    version: Number(row.version),
    title: row.title,
    description: row.description,
    parameters: JSON.parse(row.parameters) as TaskParameters,
    code: row.code,
    plan: row.plan === null ? null : (JSON.parse(row.plan) as unknown),
    options: row.options === null ? null : (JSON.parse(row.options) as Record<string, unknown>),
    files: JSON.parse(row.files) as ArtifactRef[],
    createdAt: row.created_at,
  };
}

/** Named tasks in the service's database: each save a new version, deleting hides every version. */
export class TaskStore {
  constructor(
    private readonly db: Kysely<Database>,
    private readonly now: () => Date = () => new Date(),
  ) {}

  /**
   * Saves a new version of `slug` and returns it: version 1 when the task is new (`expectNew`
   * refuses an existing one), else the next number.
   */
  async save(tenant: string, slug: string, definition: TaskDefinition, expectNew: boolean): Promise<NamedTask | null> {
    const createdAt = this.now().toISOString();
    return this.db.transaction().execute(async (trx) => {
      await ensureTenant(trx, tenant, createdAt);
      const latest = await trx
        .selectFrom('tasks')
        .select(['version', 'deleted_at'])
        .where('tenant_id', '=', tenant)
        .where('slug', '=', slug)
        .orderBy('version', 'desc')
        .executeTakeFirst();
      const live = latest !== undefined && latest.deleted_at === null;
      if (expectNew === live) return null;
      const row: Row = {
        tenant_id: tenant,
        slug,
        version: (latest ? Number(latest.version) : 0) + 1,
        title: definition.title,
        description: definition.description,
        parameters: JSON.stringify(definition.parameters),
        code: definition.code,
        plan: definition.plan === null || definition.plan === undefined ? null : JSON.stringify(definition.plan),
        options: definition.options === null ? null : JSON.stringify(definition.options),
        files: JSON.stringify(definition.files),
        created_at: createdAt,
        deleted_at: null,
      };
      await trx.insertInto('tasks').values(row).execute();
      return toTask(row);
    });
  }

  /** A version of a live task (the latest without `version`), or null. */
  async get(tenant: string, slug: string, version?: number): Promise<NamedTask | null> {
    let query = this.db
      .selectFrom('tasks')
      .selectAll()
      .where('tenant_id', '=', tenant)
      .where('slug', '=', slug)
      .where('deleted_at', 'is', null);
    query = version === undefined ? query.orderBy('version', 'desc') : query.where('version', '=', version);
    const row = await query.executeTakeFirst();
    return row ? toTask(row) : null;
  }

  /** The version numbers of a live task, newest first. */
  async versions(tenant: string, slug: string): Promise<Array<{ version: number; createdAt: string }>> {
    const rows = await this.db
      .selectFrom('tasks')
      .select(['version', 'created_at'])
      .where('tenant_id', '=', tenant)
      .where('slug', '=', slug)
      .where('deleted_at', 'is', null)
      .orderBy('version', 'desc')
      .execute();
    return rows.map((row) => ({ version: Number(row.version), createdAt: row.created_at }));
  }

  /** The latest version of every live task of `tenant`, by slug. */
  async list(tenant: string): Promise<NamedTask[]> {
    const rows = await this.db
      .selectFrom('tasks')
      .selectAll()
      .where('tenant_id', '=', tenant)
      .where('deleted_at', 'is', null)
      .orderBy('slug')
      .orderBy('version', 'desc')
      .execute();
    const latest = new Map<string, Row>();
    for (const row of rows) if (!latest.has(row.slug)) latest.set(row.slug, row);
    return [...latest.values()].map(toTask);
  }

  /** Hides every version of a task; false when there was no live task. */
  async delete(tenant: string, slug: string): Promise<boolean> {
    const result = await this.db
      .updateTable('tasks')
      .set({ deleted_at: this.now().toISOString() })
      .where('tenant_id', '=', tenant)
      .where('slug', '=', slug)
      .where('deleted_at', 'is', null)
      .executeTakeFirst();
    return Number(result.numUpdatedRows) > 0;
  }
}
