/**
 * Appends a log, in order, to another store through the EventStore port, each event at the
 * exact revision it had (no_stream for revision 0): the same ids, data and metadata, new
 * positions. Used by `ledger import` and for scratch copies of stores that are not files.
 */
import type { EventStore, RecordedEvent } from '../eventstore/port.ts';

/** Appends in flight at once: enough for the SQLite store to group-commit hundreds per transaction. */
const WINDOW = 512;

export async function copyLog(records: AsyncIterable<RecordedEvent>, target: EventStore): Promise<number> {
  // Appends for distinct streams go out together; an event whose stream still has one in flight
  // waits for the window to settle, which keeps each stream in order and the log in source order.
  let inFlight: Promise<unknown>[] = [];
  const busy = new Set<string>();
  let copied = 0;
  const settle = async () => {
    await Promise.all(inFlight);
    inFlight = [];
    busy.clear();
  };
  for await (const record of records) {
    if (busy.has(record.streamId) || inFlight.length >= WINDOW) await settle();
    busy.add(record.streamId);
    const { id, type, data, metadata } = record;
    const appended = target.append(
      record.streamId,
      [{ id, type, data, metadata }],
      record.revision === 0n ? 'no_stream' : record.revision - 1n,
    );
    // Marked as handled now: it may fail before settle() awaits it, which must not crash the process.
    appended.catch(() => {});
    inFlight.push(appended);
    copied += 1;
  }
  await settle();
  return copied;
}
