/**
 * EventStoreDB adapter (@eventstore/db-client 6.x, gRPC).
 *
 * Positions. EventStoreDB addresses a record in its log with a pair (commit, prepare).
 * Events appended over gRPC are written as self-committed records, so each one has
 * commit === prepare, unique and strictly increasing: we expose the commit position as
 * the port's single bigint `position`. Going back the other way (resuming a read or a
 * subscription from a checkpoint p) we pass { commit: p, prepare: p }. Reads of $all from
 * a position include the record at that position, subscriptions start after it; we filter
 * `position > after` ourselves so both behave the same. (Records from legacy TCP explicit
 * transactions share one commit position; the ledger never writes those.)
 *
 * Bounds. The client gives reads and subscriptions an infinite gRPC deadline and fetches
 * server capabilities and cluster gossip without one, so a dead or black-holed server could
 * hang a call for a long time. Every one-shot call here (append, stream read, page of $all,
 * ping) is therefore also raced against a timer, which answers StoreUnavailableError.
 * A timed-out append has an unknown outcome; retrying it is safe because the expectation is
 * explicit and the event ids are deterministic (the server recognises the same events).
 */
import {
  BACKWARDS,
  CancelledError,
  DeadlineExceededError,
  END,
  EventStoreDBClient,
  FORWARDS,
  NO_STREAM,
  NotLeaderError,
  START,
  StreamNotFoundError,
  TimeoutError,
  UnavailableError,
  WrongExpectedVersionError as EsdbWrongExpectedVersionError,
  jsonEvent,
  streamNameFilter,
} from '@eventstore/db-client';
import type { Position, RecordedEvent as EsdbRecordedEvent, StreamingRead } from '@eventstore/db-client';
import { CorruptEventError, StoreUnavailableError, WrongExpectedVersionError } from './errors.ts';
import type {
  EventStore,
  ExpectedRevision,
  JsonObject,
  ReadAllOptions,
  RecordedEvent,
  SubscriptionItem,
} from './port.ts';

export interface EsdbStoreOptions {
  /** Upper bound (ms) for one append, stream read, page of $all or ping. Default 5000. */
  readonly timeoutMs?: number;
  /** Which streams are the ledger's; everything else in $all is skipped. Default: orders and key bindings. */
  readonly streamPrefixes?: readonly string[];
}

const DEFAULT_TIMEOUT_MS = 5_000;
/** Raw $all records per page: system records are filtered out client-side (6.x readAll has no server filter). */
const PAGE_SIZE = 512;

// gRPC status codes seen as raw errors (the first call on a dead channel is not converted by the client).
const GRPC_CANCELLED = 1;
const GRPC_DEADLINE_EXCEEDED = 4;
const GRPC_ABORTED = 10;
const GRPC_UNAVAILABLE = 14;
const NETWORK_CODES = new Set(['ECONNREFUSED', 'ECONNRESET', 'ETIMEDOUT', 'EHOSTUNREACH', 'ENETUNREACH', 'ENOTFOUND', 'EAI_AGAIN', 'EPIPE']);

/**
 * Translates whatever the client threw into the port's typed errors. Pure, so it can be
 * tested with the client's own error classes. Unknown errors come back unchanged.
 * `streamId`/`expected` describe the append that failed; without them a wrong expected
 * version keeps the client's stream name and (when expressible) expectation.
 */
export function toStoreError(err: unknown, streamId?: string, expected?: ExpectedRevision): Error {
  if (err instanceof StoreUnavailableError || err instanceof WrongExpectedVersionError) return err;
  if (err instanceof EsdbWrongExpectedVersionError) {
    const exp = expected ?? (err.expectedVersion === NO_STREAM || typeof err.expectedVersion === 'bigint' ? err.expectedVersion : undefined);
    // 'any' / 'stream_exists' cannot occur in our appends; if they do, keep the client's error rather than lie.
    return exp === undefined ? err : new WrongExpectedVersionError(streamId ?? err.streamName, exp, err.actualVersion);
  }
  if (!(err instanceof Error)) return new Error(`EventStoreDB call failed: ${String(err)}`);
  const unavailable = (reason: 'unreachable' | 'busy') =>
    new StoreUnavailableError(`EventStoreDB ${reason === 'busy' ? 'is busy' : 'is unreachable'}: ${err.message}`, reason, { cause: err });
  // Retryable "try again": a follower answered a leader-only call (the client reconnects to the leader),
  // or the server timed the write out internally (ABORTED) under load.
  if (err instanceof NotLeaderError || err instanceof TimeoutError) return unavailable('busy');
  if (err instanceof UnavailableError || err instanceof DeadlineExceededError || err instanceof CancelledError) {
    return unavailable('unreachable');
  }
  const code = (err as { code?: unknown }).code;
  if (code === GRPC_ABORTED) return unavailable('busy');
  if (code === GRPC_UNAVAILABLE || code === GRPC_DEADLINE_EXCEEDED || code === GRPC_CANCELLED) return unavailable('unreachable');
  if (typeof code === 'string' && NETWORK_CODES.has(code)) return unavailable('unreachable');
  // Cluster discovery gives up with a plain Error after maxDiscoverAttempts.
  if (/^Failed to discover after \d+ attempts/.test(err.message)) return unavailable('unreachable');
  return err;
}

/** Opens a client; no I/O happens until the first call. Throws synchronously on a bad connection string. */
export function openEsdbStore(connectionString: string, options: EsdbStoreOptions = {}): EventStore {
  // With throwOnAppendFailure=false the client resolves conflicts as {success:false} and, on the
  // batch-append path, reports a wrong current revision: refuse it rather than trust it.
  if (/[?&]throwOnAppendFailure=false\b/i.test(connectionString)) {
    throw new Error('LEDGER_STORE: throwOnAppendFailure=false is not supported by the ledger (conflicts must throw)');
  }
  const client = EventStoreDBClient.connectionString(connectionString);
  const timeoutMs = options.timeoutMs ?? DEFAULT_TIMEOUT_MS;
  const prefixes = options.streamPrefixes ?? ['order-', 'idempotency-'];
  const isLedgerStream = (streamId: string) => prefixes.some((prefix) => streamId.startsWith(prefix));
  const inflight = new Set<Promise<unknown>>();
  const shutdown = new AbortController();
  let closing: Promise<void> | undefined;

  const assertOpen = () => {
    if (shutdown.signal.aborted) throw new StoreUnavailableError('EventStoreDB store is closed', 'closed');
  };

  /** Races a call against the bound; `onTimeout` releases whatever the call holds. */
  function bounded<T>(work: Promise<T>, what: string, onTimeout?: () => void, ms = timeoutMs): Promise<T> {
    let timer: NodeJS.Timeout | undefined;
    const expired = new Promise<never>((_, reject) => {
      timer = setTimeout(() => {
        onTimeout?.();
        reject(new StoreUnavailableError(`${what}: no answer from EventStoreDB within ${ms} ms`, 'unreachable'));
      }, ms);
    });
    // Promise.race subscribes to `work`, so its late rejection after a timeout is handled, not unhandled.
    return Promise.race([work, expired]).finally(() => clearTimeout(timer));
  }

  /** Reads a finite server stream to the end, bounded; a timeout cancels the gRPC call. */
  async function drain<T>(read: StreamingRead<T>, what: string): Promise<T[]> {
    const collect = async () => {
      const out: T[] = [];
      for await (const item of read) out.push(item);
      // dispose() cancels reads, and a cancelled read just ends: never pass a cut-short read off as complete.
      assertOpen();
      return out;
    };
    return bounded(collect(), what, () => {
      void read.cancel().catch(() => undefined);
      read.destroy();
    });
  }

  /** One page of raw $all records; `more` is false once the log had fewer than a page left. */
  async function readAllPage(fromPosition: Position | typeof START | typeof END, direction: typeof FORWARDS | typeof BACKWARDS) {
    assertOpen();
    try {
      const page = await drain(client.readAll({ fromPosition, direction, maxCount: PAGE_SIZE }), 'read $all');
      return { records: page.flatMap((r) => (r.event ? [r.event] : [])), more: page.length === PAGE_SIZE };
    } catch (err) {
      throw toStoreError(err);
    }
  }

  /** The ledger's events after `after`, paged so each round trip is bounded and abortable. */
  async function* readLedger({ after, upTo, maxCount }: ReadAllOptions, signal?: AbortSignal): AsyncGenerator<RecordedEvent> {
    let remaining = maxCount ?? Number.POSITIVE_INFINITY;
    let from: Position | typeof START = after === undefined ? START : { commit: after, prepare: after };
    while (remaining > 0 && !signal?.aborted) {
      const { records, more } = await readAllPage(from, FORWARDS);
      for (const raw of records) {
        // Forward reads include the record at `from`: skip it (and anything not past `after`).
        if (from !== START && comparePositions(raw.position, from) <= 0) continue;
        if (!isLedgerStream(raw.streamId)) continue;
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

  const store: EventStore = {
    kind: 'esdb',

    async append(streamId, events, expected) {
      assertOpen();
      if (events.length === 0) throw new Error(`append to ${streamId}: no events`);
      const work = (async () => {
        try {
          const result = await bounded(
            client.appendToStream(
              streamId,
              // Our deterministic ids, never the client's random default: a retry must carry the same ids.
              events.map((e) => jsonEvent({ id: e.id, type: e.type, data: e.data, metadata: e.metadata })),
              { expectedRevision: expected === 'no_stream' ? NO_STREAM : expected, deadline: timeoutMs },
            ),
            `append to ${streamId}`,
            undefined,
            timeoutMs + 500, // let the gRPC deadline (typed error) win when it fires
          );
          const position = result.position?.commit ?? (await positionOf(streamId, result.nextExpectedRevision));
          // ESDB answers an idempotent re-append (same ids at those revisions) exactly like a fresh one,
          // so we cannot tell a duplicate apart: `duplicate` is always false here.
          return { nextExpectedRevision: result.nextExpectedRevision, position, duplicate: false };
        } catch (err) {
          throw toStoreError(err, streamId, expected);
        }
      })();
      inflight.add(work);
      const forget = () => inflight.delete(work);
      void work.then(forget, forget);
      return work;
    },

    async readStream(streamId) {
      assertOpen();
      try {
        const resolved = await drain(client.readStream(streamId, { fromRevision: START, direction: FORWARDS }), `read ${streamId}`);
        return resolved.flatMap((r) => (r.event ? [toRecorded(r.event)] : []));
      } catch (err) {
        // The client reports a missing stream as an error inside the iteration, not at the call.
        if (err instanceof StreamNotFoundError) return [];
        throw toStoreError(err);
      }
    },

    readAll(options = {}) {
      return readLedger(options);
    },

    async *subscribe({ after, signal }): AsyncGenerator<SubscriptionItem> {
      assertOpen();
      // Stops on the caller's signal or on close(); either way the iterable just ends.
      const stop = new AbortController();
      const abort = () => stop.abort();
      signal.addEventListener('abort', abort, { once: true });
      shutdown.signal.addEventListener('abort', abort, { once: true });
      if (signal.aborted) stop.abort();
      let release = () => {};
      try {
        // Catch up with paged reads rather than the subscription's `caughtUp` event: that event is
        // emitted beside the data (not in order with events still buffered) and depends on the server
        // version sending it. A paged catch-up gives an exact, ordered "caught-up" marker.
        let last = after;
        for await (const event of readLedger({ after }, stop.signal)) {
          yield { kind: 'event', event };
          last = event.position;
        }
        if (stop.signal.aborted) return;
        yield { kind: 'caught-up', position: last };
        if (stop.signal.aborted) return;

        // Live: a catch-up subscription from where the reads ended (it replays anything appended
        // in between), filtered server-side to the ledger's streams.
        const sub = client.subscribeToAll({
          fromPosition: last === undefined ? START : { commit: last, prepare: last },
          filter: streamNameFilter({ prefixes: [...prefixes] }),
        });
        let released = false;
        release = () => {
          if (released) return;
          released = true;
          // Cancelling the call ends the stream; destroying it too guarantees the loop below cannot wait forever.
          void sub
            .unsubscribe()
            .catch(() => undefined)
            .finally(() => sub.destroy());
        };
        stop.signal.addEventListener('abort', release, { once: true });
        for await (const resolved of sub) {
          if (stop.signal.aborted) return;
          const raw = resolved.event;
          if (!raw || !isLedgerStream(raw.streamId)) continue;
          const event = toRecorded(raw);
          if (last !== undefined && event.position <= last) continue;
          last = event.position;
          yield { kind: 'event', event };
        }
        if (!stop.signal.aborted) throw new StoreUnavailableError('EventStoreDB ended the subscription', 'unreachable');
      } catch (err) {
        if (stop.signal.aborted) return; // a cancelled call or a closed store surfaces as an error: not a failure
        throw toStoreError(err);
      } finally {
        stop.signal.removeEventListener('abort', release);
        release();
        signal.removeEventListener('abort', abort);
        shutdown.signal.removeEventListener('abort', abort);
      }
    },

    async headPosition() {
      // Newest first, page by page, until a ledger event shows up (system records can follow it).
      let from: Position | typeof END = END;
      for (;;) {
        const { records, more } = await readAllPage(from, BACKWARDS);
        for (const raw of records) {
          if (from !== END && comparePositions(raw.position, from) >= 0) continue;
          if (isLedgerStream(raw.streamId)) return raw.position.commit;
        }
        const last = records.at(-1);
        if (!more || last === undefined) return undefined;
        from = last.position;
      }
    },

    async ping() {
      assertOpen();
      try {
        await drain(client.readAll({ fromPosition: END, direction: BACKWARDS, maxCount: 1 }), 'ping');
      } catch (err) {
        const mapped = toStoreError(err);
        // Readiness only needs "usable or not": anything else (e.g. access denied) is unusable too.
        throw mapped instanceof StoreUnavailableError
          ? mapped
          : new StoreUnavailableError(`EventStoreDB ping failed: ${mapped.message}`, 'io', { cause: mapped });
      }
    },

    close() {
      closing ??= (async () => {
        shutdown.abort(); // new calls fail as 'closed'; subscriptions end
        await Promise.allSettled([...inflight]);
        await client.dispose();
      })();
      return closing;
    },
  };

  /** Fallback when an append result carries no position: read the event at that revision. */
  async function positionOf(streamId: string, revision: bigint): Promise<bigint> {
    const [first] = await drain(client.readStream(streamId, { fromRevision: revision, maxCount: 1 }), `read ${streamId}`);
    const position = first?.event?.position?.commit;
    if (position === undefined) throw new Error(`EventStoreDB returned no position for ${streamId}@${revision}`);
    return position;
  }

  return store;
}

/** Orders (commit, prepare) pairs the way the server does. */
function comparePositions(a: Position, b: Position): number {
  if (a.commit !== b.commit) return a.commit < b.commit ? -1 : 1;
  if (a.prepare !== b.prepare) return a.prepare < b.prepare ? -1 : 1;
  return 0;
}

function isJsonObject(value: unknown): value is JsonObject {
  return typeof value === 'object' && value !== null && !Array.isArray(value) && !(value instanceof Uint8Array);
}

/**
 * The client never throws on a record it cannot parse: data that is not JSON comes back as text
 * or bytes, metadata as bytes, a missing time as the epoch. Each of those is a record the ledger
 * cannot read, named the same way the SQLite adapter names an unreadable row.
 */
export function toRecorded(e: EsdbRecordedEvent): RecordedEvent {
  // Stream reads only carry positions from server 22.6 on; without them we cannot honour the port.
  if (!e.position) throw new Error(`EventStoreDB returned ${e.streamId}@${e.revision} without a position (server 22.6+ required)`);
  const metadata = e.metadata ?? {};
  const problems: string[] = [];
  if (!e.isJson || !isJsonObject(e.data)) problems.push('data is not a JSON object');
  if (!isJsonObject(metadata)) problems.push('metadata is not a JSON object');
  if (Number.isNaN(e.created.getTime()) || e.created.getTime() === 0) problems.push('it has no creation time');
  if (problems.length > 0) {
    const problem = `the stored record cannot be read: ${problems.join('; ')}`;
    throw new CorruptEventError(e.streamId, e.revision, e.position.commit, problem);
  }
  return {
    id: e.id,
    streamId: e.streamId,
    revision: e.revision,
    position: e.position.commit,
    type: e.type,
    data: e.data as JsonObject,
    metadata: metadata as JsonObject,
    createdAt: e.created,
  };
}
