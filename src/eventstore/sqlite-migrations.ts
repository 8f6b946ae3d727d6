/**
 * The SQLite log's schema, as an ordered list of migrations numbered by `PRAGMA user_version`.
 * A file records the last migration applied to it; opening applies the later ones, all in one
 * write transaction, so two processes opening the same old file at once migrate it exactly once.
 * Files made before migrations existed hold version 0 and the first migration's table already,
 * which is why that migration is written to be a no-op on them.
 */
import type Database from 'better-sqlite3';
import { StoreUnavailableError } from './errors.ts';

export interface Migration {
  readonly version: number;
  readonly description: string;
  readonly sql: string;
}

export const LOG_MIGRATIONS: readonly Migration[] = [
  {
    version: 1,
    description: 'events: one row per event, positions never reused, one event per (stream, revision)',
    sql: `
      CREATE TABLE IF NOT EXISTS events (
        position   INTEGER PRIMARY KEY AUTOINCREMENT, -- AUTOINCREMENT: positions are never reused
        id         TEXT    NOT NULL UNIQUE,
        stream     TEXT    NOT NULL,
        revision   INTEGER NOT NULL CHECK (revision >= 0),
        type       TEXT    NOT NULL,
        data       TEXT    NOT NULL,
        metadata   TEXT    NOT NULL,
        created_at TEXT    NOT NULL,
        UNIQUE (stream, revision)
      );
    `,
  },
];

export interface MigrationResult {
  readonly from: number;
  readonly to: number;
}

const versionOf = (db: Database.Database): number => db.pragma('user_version', { simple: true }) as number;

/** Brings the file up to the last migration; refuses a file a newer release has migrated further. */
export function migrate(db: Database.Database, migrations: readonly Migration[] = LOG_MIGRATIONS): MigrationResult {
  const latest = migrations.at(-1)?.version ?? 0;
  // Read without the write lock first: an up-to-date file, the usual case, takes no lock at all.
  if (versionOf(db) === latest) return { from: latest, to: latest };
  db.exec('BEGIN IMMEDIATE');
  try {
    const from = versionOf(db);
    if (from > latest) {
      throw new StoreUnavailableError(
        `the log's schema is at version ${from}, newer than this release knows (${latest}): open it with a newer release`,
        'io',
      );
    }
    for (const migration of migrations) {
      if (migration.version <= from) continue;
      db.exec(migration.sql);
      db.pragma(`user_version = ${migration.version}`);
    }
    db.exec('COMMIT');
    return { from, to: latest };
  } catch (error) {
    if (db.inTransaction) db.exec('ROLLBACK');
    throw error;
  }
}
