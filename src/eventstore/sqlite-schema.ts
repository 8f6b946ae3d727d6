/** The SQLite log's file: its migrated schema, WAL, and the fsync discipline the store was opened with. */
import { mkdirSync } from 'node:fs';
import { dirname } from 'node:path';
import Database from 'better-sqlite3';
import { sqliteStoreError } from './sqlite-errors.ts';
import { migrate } from './sqlite-migrations.ts';

export type SynchronousMode = 'OFF' | 'NORMAL' | 'FULL' | 'EXTRA';

/** Opens (creating if needed) the file and its schema; a file SQLite cannot use is a StoreUnavailableError. */
export function openLogDatabase(path: string, synchronous: SynchronousMode, busyTimeoutMs: number): Database.Database {
  if (path !== ':memory:') mkdirSync(dirname(path), { recursive: true });
  let db: Database.Database | undefined;
  try {
    db = new Database(path, { timeout: busyTimeoutMs });
    db.pragma('journal_mode = WAL');
    db.pragma(`synchronous = ${synchronous}`);
    migrate(db);
    return db;
  } catch (error) {
    db?.close();
    throw sqliteStoreError(error);
  }
}
