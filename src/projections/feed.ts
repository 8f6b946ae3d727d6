/**
 * What the runner feeds to projections: log records in global order, decoded once for all of
 * them, and grouped into batches so one transaction covers many events. A stored row that cannot
 * be read at all reaches the projections as its error, in its place, so that each of them stops
 * there (recording stream, revision and position) instead of the feed failing over and over.
 */
import { decodeEvent, type LedgerEvent } from '../events/codec.ts';
import { CorruptEventError, type StoredRevision } from '../eventstore/errors.ts';
import { readAllEntries, subscribeEntries, type LiveEntry, type LogEntry } from '../eventstore/log-entries.ts';
import type { EventStore } from '../eventstore/port.ts';

interface FedRecord {
  readonly position: bigint;
  readonly streamId: string;
  readonly revision: StoredRevision;
}

/** A log record as the projections receive it: decoded, not decodable, or of a type none of them handles. */
export type FedEvent =
  | (FedRecord & { readonly kind: 'decoded'; readonly type: string; readonly event: LedgerEvent })
  /** `type` is undefined for a row that cannot be read at all: every projection must stop at it. */
  | (FedRecord & { readonly kind: 'undecodable'; readonly type: string | undefined; readonly error: Error })
  /** Not decoded: it only advances the checkpoints. */
  | (FedRecord & { readonly kind: 'unhandled'; readonly type: string });

/** Decodes only what some projection handles: other records (tests' events, future types) just advance checkpoints. */
export function fedFromRecord(record: LogEntry, handled: ReadonlySet<string>): FedEvent {
  if (record instanceof CorruptEventError) {
    const { position, streamId, revision } = record;
    return { position, streamId, revision, kind: 'undecodable', type: undefined, error: record };
  }
  const { position, streamId, revision, type } = record;
  if (!handled.has(type)) return { position, streamId, revision, kind: 'unhandled', type };
  try {
    return { position, streamId, revision, kind: 'decoded', type, event: decodeEvent(record) };
  } catch (error) {
    const reason = error instanceof Error ? error : new Error(String(error));
    return { position, streamId, revision, kind: 'undecodable', type, error: reason };
  }
}

export function fedFromLedgerEvent(event: LedgerEvent): FedEvent {
  const { position, streamId, revision } = event;
  return { position, streamId, revision, kind: 'decoded', type: event.event.type, event };
}

/** One catch-up page of the log after `after`: at most `maxCount` entries, unreadable rows included. */
export async function catchUpPage(
  store: Pick<EventStore, 'readAll'>,
  after: bigint | undefined,
  maxCount: number,
): Promise<LogEntry[]> {
  const entries: LogEntry[] = [];
  for await (const entry of readAllEntries(store, { ...(after !== undefined && { after }), maxCount })) {
    entries.push(entry);
  }
  return entries;
}

/** The live log after `after`, unreadable rows included as entries. */
export function liveEntries(
  store: Pick<EventStore, 'subscribe'>,
  after: bigint | undefined,
  signal: AbortSignal,
): AsyncIterable<LiveEntry> {
  return subscribeEntries(store, { ...(after !== undefined && { after }), signal });
}

export interface LiveBatch {
  readonly events: LogEntry[];
  /** The subscription has reported reaching the head of the log at least once. */
  readonly caughtUp: boolean;
  /** Nothing more was immediately available: the batch ends at what the subscription has seen. */
  readonly idle: boolean;
}

const TICK = Symbol('tick');

/**
 * Groups a live subscription into batches: everything that is already available (up to
 * maxBatch) goes into one batch, "available" meaning resolved before the next macrotask. Once
 * the subscription would have to wait, it waits `lingerMs` once more for stragglers: under a
 * stream of small commits that turns many one-event transactions into a few larger ones (each
 * transaction has a fixed cost), at the price of that much read-your-writes latency.
 */
export async function* liveBatches(
  items: AsyncIterable<LiveEntry>,
  maxBatch: number,
  lingerMs = 0,
): AsyncGenerator<LiveBatch> {
  const iterator = items[Symbol.asyncIterator]();
  let caughtUp = false;
  let next = iterator.next();
  try {
    for (;;) {
      let result = await next;
      const events: LogEntry[] = [];
      let idle = false;
      let lingered = lingerMs <= 0;
      for (;;) {
        if (result.done) {
          if (events.length > 0) yield { events, caughtUp, idle: true };
          return;
        }
        const item = result.value;
        if (item.kind === 'event') events.push(item.event);
        else if (item.kind === 'corrupt') events.push(item.error);
        else caughtUp = true;
        next = iterator.next();
        if (events.length >= maxBatch) break;
        let ready = await Promise.race([next, nextMacrotask()]);
        if (ready === TICK && !lingered && events.length > 0) {
          lingered = true;
          ready = await Promise.race([next, delay(lingerMs)]);
        }
        if (ready === TICK) {
          idle = true;
          break;
        }
        result = ready;
      }
      yield { events, caughtUp, idle };
    }
  } finally {
    // Not awaited: the subscription ends when its signal aborts, which the caller does. A read
    // still in flight may fail once the store closes; nobody is left to care.
    next.catch(() => {});
    void iterator.return?.(undefined).catch(() => {});
  }
}

const nextMacrotask = (): Promise<typeof TICK> => new Promise((resolve) => setImmediate(resolve, TICK));
const delay = (ms: number): Promise<typeof TICK> => new Promise((resolve) => setTimeout(resolve, ms, TICK));
