import type { Kysely, Migration, MigrationProvider } from 'kysely';

/**
 * Every migration, in order, by name. A migration is never edited once released: add a new one.
 * The same statements run on SQLite and PostgreSQL (text columns, ISO times).
 */
const MIGRATIONS: Record<string, Migration> = {
  '001-tenants-and-keys': {
    async up(db: Kysely<unknown>) {
      await db.schema
        .createTable('tenants')
        .addColumn('id', 'text', (column) => column.primaryKey())
        .addColumn('created_at', 'text', (column) => column.notNull())
        .execute();
      await db.schema
        .createTable('api_keys')
        .addColumn('id', 'text', (column) => column.primaryKey())
        .addColumn('tenant_id', 'text', (column) => column.notNull().references('tenants.id'))
        .addColumn('name', 'text', (column) => column.notNull())
        .addColumn('scopes', 'text', (column) => column.notNull())
        .addColumn('secret_hash', 'text', (column) => column.notNull().unique())
        .addColumn('created_at', 'text', (column) => column.notNull())
        .addColumn('expires_at', 'text')
        .addColumn('last_used_at', 'text')
        .addColumn('revoked_at', 'text')
        .execute();
      await db.schema.createIndex('api_keys_tenant').on('api_keys').column('tenant_id').execute();
    },
  },
  '002-named-tasks': {
    async up(db: Kysely<unknown>) {
      await db.schema
        .createTable('tasks')
        .addColumn('tenant_id', 'text', (column) => column.notNull().references('tenants.id'))
        .addColumn('slug', 'text', (column) => column.notNull())
        .addColumn('version', 'integer', (column) => column.notNull())
        .addColumn('title', 'text', (column) => column.notNull())
        .addColumn('description', 'text', (column) => column.notNull())
        .addColumn('parameters', 'text', (column) => column.notNull())
        .addColumn('code', 'text')
        .addColumn('plan', 'text')
        .addColumn('options', 'text')
        .addColumn('files', 'text', (column) => column.notNull())
        .addColumn('created_at', 'text', (column) => column.notNull())
        .addColumn('deleted_at', 'text')
        .addPrimaryKeyConstraint('tasks_pk', ['tenant_id', 'slug', 'version'])
        .execute();
    },
  },
  '003-inbound-hooks': {
    async up(db: Kysely<unknown>) {
      await db.schema
        .createTable('hooks')
        .addColumn('id', 'text', (column) => column.primaryKey())
        .addColumn('tenant_id', 'text', (column) => column.notNull().references('tenants.id'))
        .addColumn('slug', 'text', (column) => column.notNull())
        .addColumn('secret', 'text', (column) => column.notNull())
        .addColumn('previous_secret', 'text')
        .addColumn('previous_until', 'text')
        .addColumn('mapping', 'text')
        .addColumn('created_at', 'text', (column) => column.notNull())
        .addColumn('deleted_at', 'text')
        .execute();
      await db.schema
        .createTable('hook_signatures')
        .addColumn('hook_id', 'text', (column) => column.notNull())
        .addColumn('signature', 'text', (column) => column.notNull())
        .addColumn('seen_at', 'text', (column) => column.notNull())
        .addPrimaryKeyConstraint('hook_signatures_pk', ['hook_id', 'signature'])
        .execute();
    },
  },
  '004-schedules': {
    async up(db: Kysely<unknown>) {
      await db.schema
        .createTable('schedules')
        .addColumn('id', 'text', (column) => column.primaryKey())
        .addColumn('tenant_id', 'text', (column) => column.notNull().references('tenants.id'))
        .addColumn('slug', 'text', (column) => column.notNull())
        .addColumn('version', 'integer')
        .addColumn('inputs', 'text', (column) => column.notNull())
        .addColumn('spec', 'text', (column) => column.notNull())
        .addColumn('overlap', 'text', (column) => column.notNull())
        .addColumn('created_at', 'text', (column) => column.notNull())
        .execute();
      await db.schema.createIndex('schedules_task').on('schedules').columns(['tenant_id', 'slug']).execute();
    },
  },
  '005-subscriptions': {
    async up(db: Kysely<unknown>) {
      await db.schema
        .createTable('subscriptions')
        .addColumn('id', 'text', (column) => column.primaryKey())
        .addColumn('tenant_id', 'text', (column) => column.notNull().references('tenants.id'))
        .addColumn('url', 'text', (column) => column.notNull())
        .addColumn('events', 'text', (column) => column.notNull())
        .addColumn('secret', 'text', (column) => column.notNull())
        .addColumn('execution_id', 'text')
        .addColumn('created_at', 'text', (column) => column.notNull())
        .addColumn('deleted_at', 'text')
        .execute();
      await db.schema.createIndex('subscriptions_tenant').on('subscriptions').column('tenant_id').execute();
      await db.schema
        .createTable('deliveries')
        .addColumn('id', 'text', (column) => column.primaryKey())
        .addColumn('subscription_id', 'text', (column) => column.notNull())
        .addColumn('delivery_id', 'text', (column) => column.notNull())
        .addColumn('event', 'text', (column) => column.notNull())
        .addColumn('execution_id', 'text', (column) => column.notNull())
        .addColumn('attempt', 'integer', (column) => column.notNull())
        .addColumn('outcome', 'text', (column) => column.notNull())
        .addColumn('response_status', 'integer')
        .addColumn('response_body', 'text')
        .addColumn('error', 'text')
        .addColumn('duration_ms', 'integer', (column) => column.notNull())
        .addColumn('at', 'text', (column) => column.notNull())
        .execute();
      await db.schema
        .createIndex('deliveries_subscription')
        .on('deliveries')
        .columns(['subscription_id', 'at'])
        .execute();
    },
  },
  '006-recovery-strategies': {
    async up(db: Kysely<unknown>) {
      await db.schema
        .createTable('recovery_strategies')
        .addColumn('tenant_id', 'text', (column) => column.notNull().references('tenants.id'))
        .addColumn('id', 'text', (column) => column.notNull())
        .addColumn('definition', 'text', (column) => column.notNull())
        .addColumn('created_at', 'text', (column) => column.notNull())
        .addPrimaryKeyConstraint('recovery_strategies_pk', ['tenant_id', 'id'])
        .execute();
    },
  },
  '007-alert-defaults': {
    async up(db: Kysely<unknown>) {
      await db.schema
        .createTable('alert_defaults')
        .addColumn('tenant_id', 'text', (column) => column.primaryKey().references('tenants.id'))
        .addColumn('conditions', 'text', (column) => column.notNull())
        .addColumn('updated_at', 'text', (column) => column.notNull())
        .execute();
    },
  },
};

/** The migrations as Kysely's migrator wants them. */
export const migrationProvider: MigrationProvider = {
  getMigrations: async () => MIGRATIONS,
};
