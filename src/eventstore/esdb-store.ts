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
 * which answers StoreUnavailableError. An append the server timed out is settled by reading the
 * stream back (esdb-append.ts).
 */
import { appendToEsdb } from './esdb-append.ts';
import { connectEsdb, type EsdbConnection } from './esdb-client.ts';
import { headPosition, ping, readLedger, readStream } from './esdb-reads.ts';
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
  return esdbStoreOver(connectEsdb(connectionString), options);
}

/** The store over a connection: the real client, or a fake transport in a test of the adapter's own logic. */
export function esdbStoreOver(connection: EsdbConnection, options: EsdbStoreOptions = {}): EventStore {
  const { client } = connection;
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
      const work = appendToEsdb(context, streamId, events, expected);
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
        await connection.release();
      })();
      return closing;
    },
  };
}
