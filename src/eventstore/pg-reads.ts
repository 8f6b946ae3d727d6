/**
 * The PostgreSQL store's reads. A stream is read whole (its head decides the next append, which
 * checks it again under lock). The log is read only below the visibility bound (pg-schema.ts):
 * positions under pg_snapshot_xmin(pg_current_snapshot()) << 20, so that what a reader has seen
 * is never followed by an event below it.
 */
import type pg from 'pg';
import { ORDINAL_BITS } from './pg-schema.ts';
import { EVENT_COLUMNS, type PgEventRow, toRecorded } from './pg-rows.ts';
import type { ReadAllOptions, RecordedEvent } from './port.ts';

/** Runs one query with the store's error mapping, refused once the store is closed. */
export type Query = <R extends pg.QueryResultRow>(text: string, values?: unknown[]) => Promise<R[]>;

const PAGE = 1_000;
const BIGINT_MAX = (1n << 63n) - 1n;
/** Every position below this is final: its transaction, and every one before it, has ended. */
const VISIBLE_BELOW = `(pg_snapshot_xmin(pg_current_snapshot())::text::bigint << ${ORDINAL_BITS})`;

const STREAM = `SELECT ${EVENT_COLUMNS} FROM ledger_events WHERE stream_id = $1 AND revision >= $2 ORDER BY ledger_events.revision`;
const LOG_PAGE =
  `SELECT ${EVENT_COLUMNS} FROM ledger_events ` +
  `WHERE position > $1 AND position <= $2 AND position < ${VISIBLE_BELOW} ORDER BY ledger_events.position LIMIT $3`;
const HEAD = `SELECT max(position)::text AS head FROM ledger_events WHERE position < ${VISIBLE_BELOW}`;
const BOUND = `SELECT ${VISIBLE_BELOW}::text AS bound`;

export async function readStream(query: Query, streamId: string, fromRevision = 0n): Promise<RecordedEvent[]> {
  const rows = await query<PgEventRow>(STREAM, [streamId, fromRevision.toString()]);
  return rows.map(toRecorded);
}

export async function* readAll(query: Query, options: ReadAllOptions = {}): AsyncGenerator<RecordedEvent> {
  const upTo = (options.upTo ?? BIGINT_MAX).toString();
  let after = options.after ?? 0n;
  let remaining = options.maxCount ?? Infinity;
  while (remaining > 0) {
    const limit = Math.min(remaining, PAGE);
    const rows = await query<PgEventRow>(LOG_PAGE, [after.toString(), upTo, limit]);
    for (const row of rows) yield toRecorded(row);
    if (rows.length < limit) return;
    after = BigInt(rows[rows.length - 1]!.position);
    remaining -= rows.length;
  }
}

export async function headPosition(query: Query): Promise<bigint | undefined> {
  const [row] = await query<{ head: string | null }>(HEAD);
  return row?.head == null ? undefined : BigInt(row.head);
}

/** The visibility bound now: every position below it can be read, and nothing will appear below it later. */
export async function visibleBelow(query: Query): Promise<bigint> {
  const [row] = await query<{ bound: string }>(BOUND);
  return BigInt(row!.bound);
}
