import Sqlite from 'better-sqlite3';
import { Kysely, Migrator, PostgresDialect, SqliteDialect } from 'kysely';
import { mkdirSync } from 'node:fs';
import path from 'node:path';
import { Pool } from 'pg';
import { migrationProvider } from './migrations';
import type { Database } from './schema';

export type DatabaseKind = 'sqlite' | 'postgres';

export interface DatabaseSettings {
  /** `postgres://…` for PostgreSQL; null for the embedded SQLite file. */
  url: string | null;
  /** The SQLite file used when there is no URL. */
  sqliteFile: string;
}

export interface ServiceDatabase {
  db: Kysely<Database>;
  kind: DatabaseKind;
  close(): Promise<void>;
}

/** Thrown when the database cannot be opened or migrated; the message names the setting to fix. */
export class DatabaseError extends Error {
  override readonly name = 'DatabaseError';
}

/**
 * Opens the service's database (SQLite in DATA_DIR by default, PostgreSQL with DATABASE_URL) and
 * applies every migration not yet applied. Both dialects share one query layer: Kysely.
 */
export async function openDatabase(settings: DatabaseSettings): Promise<ServiceDatabase> {
  let db: Kysely<Database>;
  let kind: DatabaseKind;
  if (settings.url) {
    kind = 'postgres';
    db = new Kysely<Database>({
      dialect: new PostgresDialect({ pool: new Pool({ connectionString: settings.url, max: 10 }) }),
    });
  } else {
    kind = 'sqlite';
    mkdirSync(path.dirname(settings.sqliteFile), { recursive: true });
    const file = new Sqlite(settings.sqliteFile);
    // Several processes (gateways, workers) may share the file: wait for each other's writes.
    file.pragma('journal_mode = WAL');
    file.pragma('busy_timeout = 5000');
    file.pragma('foreign_keys = ON');
    db = new Kysely<Database>({ dialect: new SqliteDialect({ database: file }) });
  }
  const { error, results } = await new Migrator({ db, provider: migrationProvider }).migrateToLatest();
  if (error) {
    await db.destroy();
    const failed = results?.find((result) => result.status === 'Error')?.migrationName;
    const where = kind === 'postgres' ? 'DATABASE_URL' : settings.sqliteFile;
    const reason = error instanceof Error ? error.message : String(error);
    throw new DatabaseError(`The database (${where}) could not be migrated${failed ? ` at ${failed}` : ''}: ${reason}`);
  }
  return { db, kind, close: () => db.destroy() };
}
