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
 * Bounds. A dead or black-holed server could hang a call for a long time, so every one-shot
 * call (append, stream read, page of $all, ping) is also raced against a timer (esdb-bounded.ts),
 * which answers StoreUnavailableError. A timed-out append has an unknown outcome; retrying it
 * is safe because the expectation is explicit and the event ids are deterministic (the server
 * recognises the same events).
 */
import { EventStoreDBClient, NO_STREAM, jsonEvent } from '@eventstore/db-client';
import { bounded } from './esdb-bounded.ts';
import { esdbStoreError } from './esdb-errors.ts';
import { headPosition, ping, positionOf, readLedger, readStream } from './esdb-reads.ts';
import { subscribeLedger, type EsdbSubscriptionContext } from './esdb-subscription.ts';
import { StoreUnavailableError } from './errors.ts';
import type { EventStore } from './port.ts';

export interface EsdbStoreOptions {
  /** Upper bound (ms) for one append, stream read, page of $all or ping. Default 5000. */
  readonly timeoutMs?: number;
  /** Which streams are the ledger's; everything else in $all is skipped. Default: orders and key bindings. */
  readonly streamPrefixes?: readonly string[];
}

const DEFAULT_TIMEOUT_MS = 5_000;

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
  const inflight = new Set<Promise<unknown>>();
  const shutdown = new AbortController();
  let closing: Promise<void> | undefined;
  const context: EsdbSubscriptionContext = {
    client,
    timeoutMs,
    prefixes,
    shutdown: shutdown.signal,
    isLedgerStream: (streamId) => prefixes.some((prefix) => streamId.startsWith(prefix)),
    assertOpen() {
      if (shutdown.signal.aborted) throw new StoreUnavailableError('EventStoreDB store is closed', 'closed');
    },
  };

  return {
    kind: 'esdb',
    async append(streamId, events, expected) {
      context.assertOpen();
      if (events.length === 0) throw new Error(`append to ${streamId}: no events`);
      const work = (async () => {
        try {
          const appending = client.appendToStream(
            streamId,
            // Our deterministic ids, never the client's random default: a retry must carry the same ids.
            events.map((e) => jsonEvent({ id: e.id, type: e.type, data: e.data, metadata: e.metadata })),
            { expectedRevision: expected === 'no_stream' ? NO_STREAM : expected, deadline: timeoutMs },
          );
          // The bound is a little longer than the gRPC deadline, so the deadline's typed error wins when it fires.
          const result = await bounded(appending, `append to ${streamId}`, timeoutMs + 500);
          const position =
            result.position?.commit ?? (await positionOf(context, streamId, result.nextExpectedRevision));
          // ESDB answers an idempotent re-append (same ids at those revisions) exactly like a fresh one,
          // so we cannot tell a duplicate apart: `duplicate` is always false here.
          return { nextExpectedRevision: result.nextExpectedRevision, position, duplicate: false };
        } catch (err) {
          throw esdbStoreError(err, streamId, expected);
        }
      })();
      inflight.add(work);
      const forget = () => inflight.delete(work);
      void work.then(forget, forget);
      return work;
    },
    readStream: (streamId, options) => readStream(context, streamId, options?.fromRevision),
    readAll: (options = {}) => readLedger(context, options),
    subscribe: (subscription) => subscribeLedger(context, subscription),
    headPosition: () => headPosition(context),
    ping: () => ping(context),
    close() {
      closing ??= (async () => {
        shutdown.abort(); // new calls fail as 'closed'; subscriptions end
        await Promise.allSettled([...inflight]);
        await client.dispose();
      })();
      return closing;
    },
  };
}
