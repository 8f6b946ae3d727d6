/** The SQLite log's file: one table, WAL, and the fsync discipline the store was opened with. */
import { mkdirSync } from 'node:fs';
import { dirname } from 'node:path';
import Database from 'better-sqlite3';
import { sqliteStoreError } from './sqlite-errors.ts';

export type SynchronousMode = 'OFF' | 'NORMAL' | 'FULL' | 'EXTRA';

const SCHEMA = `
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
`;

/** Opens (creating if needed) the file and its schema; a file SQLite cannot use is a StoreUnavailableError. */
export function openLogDatabase(path: string, synchronous: SynchronousMode, busyTimeoutMs: number): Database.Database {
  if (path !== ':memory:') mkdirSync(dirname(path), { recursive: true });
  let db: Database.Database | undefined;
  try {
    db = new Database(path, { timeout: busyTimeoutMs });
    db.pragma('journal_mode = WAL');
    db.pragma(`synchronous = ${synchronous}`);
    db.exec(SCHEMA);
    return db;
  } catch (error) {
    db?.close();
    throw sqliteStoreError(error);
  }
}
