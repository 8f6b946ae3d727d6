/** The EventStoreDB store's reads: a stream, the ledger's part of $all in pages, and the head. */
import { BACKWARDS, END, FORWARDS, START, StreamNotFoundError } from '@eventstore/db-client';
import type { EventStoreDBClient, Position } from '@eventstore/db-client';
import { drain } from './esdb-bounded.ts';
import { esdbStoreError } from './esdb-errors.ts';
import { StoreUnavailableError } from './errors.ts';
import { comparePositions, toRecorded } from './esdb-records.ts';
import type { ReadAllOptions, RecordedEvent } from './port.ts';

/** Raw $all records per page: system records are filtered out client-side (6.x readAll has no server filter). */
const PAGE_SIZE = 512;

export interface EsdbReadContext {
  readonly client: EventStoreDBClient;
  readonly timeoutMs: number;
  readonly isLedgerStream: (streamId: string) => boolean;
  /** Throws StoreUnavailableError once the store is closed. */
  readonly assertOpen: () => void;
}

export async function readStream(
  context: EsdbReadContext,
  streamId: string,
  fromRevision?: bigint,
): Promise<RecordedEvent[]> {
  context.assertOpen();
  try {
    const read = context.client.readStream(streamId, { fromRevision: fromRevision ?? START, direction: FORWARDS });
    const resolved = await drain(read, `read ${streamId}`, context.timeoutMs, context.assertOpen);
    return resolved.flatMap((r) => (r.event ? [toRecorded(r.event)] : []));
  } catch (err) {
    // The client reports a missing stream as an error inside the iteration, not at the call.
    if (err instanceof StreamNotFoundError) return [];
    throw esdbStoreError(err);
  }
}

/** Fallback when an append result carries no position: read the event at that revision. */
export async function positionOf(context: EsdbReadContext, streamId: string, revision: bigint): Promise<bigint> {
  const read = context.client.readStream(streamId, { fromRevision: revision, maxCount: 1 });
  const [first] = await drain(read, `read ${streamId}`, context.timeoutMs, context.assertOpen);
  const position = first?.event?.position?.commit;
  if (position === undefined) throw new Error(`EventStoreDB returned no position for ${streamId}@${revision}`);
  return position;
}

/** One page of raw $all records; `more` is false once the log had fewer than a page left. */
async function readAllPage(
  context: EsdbReadContext,
  fromPosition: Position | typeof START | typeof END,
  direction: typeof FORWARDS | typeof BACKWARDS,
) {
  context.assertOpen();
  try {
    const read = context.client.readAll({ fromPosition, direction, maxCount: PAGE_SIZE });
    const page = await drain(read, 'read $all', context.timeoutMs, context.assertOpen);
    return { records: page.flatMap((r) => (r.event ? [r.event] : [])), more: page.length === PAGE_SIZE };
  } catch (err) {
    const mapped = esdbStoreError(err);
    throw mapped instanceof StoreUnavailableError
      ? mapped
      : new StoreUnavailableError(`EventStoreDB ping failed: ${mapped.message}`, 'io', { cause: mapped });
  }
}

/** The ledger's events after `after`, paged so each round trip is bounded and abortable. */
export async function* readLedger(
  context: EsdbReadContext,
  { after, upTo, maxCount }: ReadAllOptions,
  signal?: AbortSignal,
): AsyncGenerator<RecordedEvent> {
  let remaining = maxCount ?? Number.POSITIVE_INFINITY;
  let from: Position | typeof START = after === undefined ? START : { commit: after, prepare: after };
  while (remaining > 0 && !signal?.aborted) {
    const { records, more } = await readAllPage(context, from, FORWARDS);
    for (const raw of records) {
      // Forward reads include the record at `from`: skip it (and anything not past `after`).
      if (from !== START && comparePositions(raw.position, from) <= 0) continue;
      if (!context.isLedgerStream(raw.streamId)) continue;
      if (after !== undefined && raw.position.commit <= after) continue;
      if (upTo !== undefined && raw.position.commit > upTo) return;
      if (signal?.aborted) return;
      yield toRecorded(raw);
      if (--remaining <= 0) return;
    }
    const last = records.at(-1);
    if (!more || last === undefined) return;
    from = last.position;
  }
}

/** Newest first, page by page, until a ledger event shows up (system records can follow it). */
export async function headPosition(context: EsdbReadContext): Promise<bigint | undefined> {
  let from: Position | typeof END = END;
  for (;;) {
    const { records, more } = await readAllPage(context, from, BACKWARDS);
    for (const raw of records) {
      if (from !== END && comparePositions(raw.position, from) >= 0) continue;
      if (context.isLedgerStream(raw.streamId)) return raw.position.commit;
    }
    const last = records.at(-1);
    if (!more || last === undefined) return undefined;
    from = last.position;
  }
}

/** Readiness only needs "usable or not": anything else (e.g. access denied) is unusable too. */
export async function ping(context: EsdbReadContext): Promise<void> {
  context.assertOpen();
  try {
    const read = context.client.readAll({ fromPosition: END, direction: BACKWARDS, maxCount: 1 });
    await drain(read, 'ping', context.timeoutMs, context.assertOpen);
  } catch (err) {
    const mapped = esdbStoreError(err);
    throw mapped instanceof StoreUnavailableError
      ? mapped
      : new StoreUnavailableError(`EventStoreDB ping failed: ${mapped.message}`, 'io', { cause: mapped });
  }
}
