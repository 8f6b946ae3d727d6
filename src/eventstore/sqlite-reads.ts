/** The SQLite store's reads: a stream, the log in pages, and the head. */
import type { ReadAllOptions, RecordedEvent } from './port.ts';
import { toRecorded, type EventRow } from './sqlite-rows.ts';
import type { SqliteStatements } from './sqlite-statements.ts';

/** Runs one read on the connection; the store passes its guard (open, errors typed). */
export type Guard = <T>(read: () => T) => T;

const PAGE = 1_000;

export function readStream(
  statements: SqliteStatements,
  guarded: Guard,
  streamId: string,
  fromRevision = 0n,
): RecordedEvent[] {
  return guarded(() => (statements.stream.all(streamId, fromRevision) as EventRow[]).map(toRecorded));
}

export async function* readAll(
  statements: SqliteStatements,
  guarded: Guard,
  options: ReadAllOptions = {},
): AsyncGenerator<RecordedEvent> {
  const upTo = options.upTo ?? BigInt(Number.MAX_SAFE_INTEGER);
  let after = options.after ?? 0n;
  let remaining = options.maxCount ?? Infinity;
  // Pages rather than one open cursor: a cursor would block appends on this connection.
  while (remaining > 0) {
    const limit = Math.min(remaining, PAGE);
    const rows = guarded(() => statements.page.all(after, upTo, limit) as EventRow[]);
    for (const row of rows) yield toRecorded(row);
    if (rows.length < limit) return;
    after = rows[rows.length - 1]!.position as bigint;
    remaining -= rows.length;
  }
}

export function headPosition(statements: SqliteStatements, guarded: Guard): bigint | undefined {
  return guarded(() => statements.headPosition.get() as bigint | null) ?? undefined;
}
