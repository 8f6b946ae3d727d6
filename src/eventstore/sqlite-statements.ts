/** Every statement the SQLite store runs, prepared once per connection. */
import type Database from 'better-sqlite3';
import type { BatchTransaction } from './group-commit.ts';

export type SqliteStatements = ReturnType<typeof prepareStatements>;

export function prepareStatements(db: Database.Database) {
  return {
    head: db
      .prepare('SELECT revision FROM events WHERE stream = ? ORDER BY revision DESC LIMIT 1')
      .pluck()
      .safeIntegers(true),
    refsFrom: db
      .prepare('SELECT id, revision, position FROM events WHERE stream = ? AND revision >= ? ORDER BY revision LIMIT ?')
      .safeIntegers(true),
    insert: db.prepare(
      'INSERT INTO events (id, stream, revision, type, data, metadata, created_at) VALUES (?, ?, ?, ?, ?, ?, ?)',
    ),
    stream: db.prepare('SELECT * FROM events WHERE stream = ? AND revision >= ? ORDER BY revision').safeIntegers(true),
    page: db
      .prepare('SELECT * FROM events WHERE position > ? AND position <= ? ORDER BY position LIMIT ?')
      .safeIntegers(true),
    headPosition: db.prepare('SELECT max(position) FROM events').pluck().safeIntegers(true),
    ping: db.prepare('SELECT 1'),
  };
}

/** A group commit's transaction on this connection: BEGIN IMMEDIATE takes the write lock up front. */
export function sqliteTransaction(db: Database.Database): BatchTransaction {
  const begin = db.prepare('BEGIN IMMEDIATE');
  const commit = db.prepare('COMMIT');
  const savepoint = db.prepare('SAVEPOINT append');
  const release = db.prepare('RELEASE append');
  const rollbackTo = db.prepare('ROLLBACK TO append');
  return {
    begin: () => void begin.run(),
    commit: () => void commit.run(),
    rollback() {
      if (!db.inTransaction) return;
      try {
        db.exec('ROLLBACK');
      } catch {
        // SQLite may already have rolled back (SQLITE_FULL on commit); nothing more to undo.
      }
    },
    savepoint: () => void savepoint.run(),
    release: () => void release.run(),
    rollbackToSavepoint: () => void rollbackTo.run(),
  };
}
