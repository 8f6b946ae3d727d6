/**
 * Where a payment feed restarts: a position before which every payment request is resolved. It
 * only moves forward, by a conditional write: several processes may save at once, each with a
 * mark that is true of the log it has read, so the highest of them is true as well.
 */
import type Database from 'better-sqlite3';

const SCHEMA = `
  CREATE TABLE IF NOT EXISTS payment_checkpoints (
    name       TEXT    PRIMARY KEY,
    position   INTEGER NOT NULL,
    updated_at TEXT    NOT NULL
  );
`;

/** Synchronous where the read models are an embedded file, asynchronous over the network. */
export interface ProcessorCheckpoint {
  read(): bigint | undefined | Promise<bigint | undefined>;
  /** Moves the checkpoint to `to` if it is further on; false when it already was there or further. */
  advance(to: bigint): boolean | Promise<boolean>;
}

export function sqliteProcessorCheckpoint(db: Database.Database, name = 'payment-requests'): ProcessorCheckpoint {
  db.exec(SCHEMA);
  const read = db.prepare('SELECT position FROM payment_checkpoints WHERE name = ?').pluck().safeIntegers(true);
  const advance = db.prepare(
    `INSERT INTO payment_checkpoints (name, position, updated_at) VALUES (:name, :to, :now)
     ON CONFLICT (name) DO UPDATE SET position = excluded.position, updated_at = excluded.updated_at
     WHERE payment_checkpoints.position < excluded.position`,
  );
  return {
    read: () => (read.get(name) as bigint | undefined) ?? undefined,
    advance: (to) => advance.run({ name, to, now: new Date().toISOString() }).changes === 1,
  };
}

/** For a store kept in memory: the feed starts from the beginning of the log each time anyway. */
export function memoryProcessorCheckpoint(): ProcessorCheckpoint {
  let position: bigint | undefined;
  return {
    read: () => position,
    advance(to) {
      if (position !== undefined && position >= to) return false;
      position = to;
      return true;
    },
  };
}
