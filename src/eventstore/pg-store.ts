/**
 * The PostgreSQL store, for several ledger servers on one database. Appends that arrive together
 * share one call of the append function (one round trip, one commit: group-commit.ts); each
 * stream's expectation is checked in that transaction under its head row's lock, behind
 * UNIQUE (stream_id, revision). Acknowledged means committed with synchronous_commit on, which
 * every connection sets for itself, whatever the server's default. Reads of the log stop at the
 * visibility bound (pg-schema.ts), so a reader never skips an event that commits late.
 */
import type pg from 'pg';
import { CommitSignal } from '../commit-signal.ts';
import { StoreUnavailableError } from './errors.ts';
import { assertDistinctStreams } from './expectation.ts';
import { type CommitUnit, type GroupCommit, groupCommit } from './group-commit.ts';
import { appendBatch, assertAppendable, MAX_UNITS_PER_BATCH } from './pg-append.ts';
import { pgStoreError } from './pg-errors.ts';
import { openSchemaPool } from './pg-pool.ts';
import { headPosition, type Query, readAll, readStream, visibleBelow } from './pg-reads.ts';
import { ensureSchema } from './pg-schema.ts';
import { listenForCommits } from './pg-subscription.ts';
import { pollingSubscription } from './polling-subscription.ts';
import type { AppendResult, EventStore } from './port.ts';

export interface PgStoreOptions {
  /** Connections in the pool (appends use one per batch; reads and subscriptions share the rest). */
  readonly poolSize?: number;
  /** Group commit (default): appends arriving together share one transaction. Off: one each (for the benchmark). */
  readonly groupCommit?: boolean;
  /** Most units per batch (at most, and by default, MAX_UNITS_PER_BATCH). */
  readonly maxBatch?: number;
  /** How often a subscription reads the log when no notification woke it. */
  readonly pollIntervalMs?: number;
  /** How long a read waits for this store's own acknowledged appends to become visible. */
  readonly ownWritesWaitMs?: number;
}

export interface PgEventStore extends EventStore {
  /** Whether the LISTEN connection is up (it reconnects by itself after losing the server). */
  listening(): boolean;
}

/** How every connection of the store is opened. */
export function pgConnectionConfig(connectionString: string): pg.ClientConfig {
  return {
    connectionString,
    // Acknowledged is durable: a role or database default of off must not weaken it.
    options: '-c synchronous_commit=on',
    keepAlive: true,
    connectionTimeoutMillis: 5_000,
    application_name: 'order-ledger',
  };
}

export async function openPgStore(connectionString: string, options: PgStoreOptions = {}): Promise<PgEventStore> {
  const connection = pgConnectionConfig(connectionString);
  const pool = await openSchemaPool(connection, options.poolSize ?? 10, ensureSchema);

  let closed = false;
  const commits = new CommitSignal();
  const listener = listenForCommits(connection, () => commits.notify());

  const query: Query = async (text, values) => {
    if (closed) throw new StoreUnavailableError('the event store is closed', 'closed');
    try {
      return (await pool.query(text, values)).rows;
    } catch (error) {
      throw pgStoreError(error);
    }
  };

  // Read your own writes: a read waits (boundedly) until this store's acknowledged appends are below the bound.
  let acknowledged = 0n;
  let knownVisible = 0n;
  const ownWritesWaitMs = options.ownWritesWaitMs ?? 2_000;
  async function awaitOwnWrites(): Promise<void> {
    const deadline = performance.now() + ownWritesWaitMs;
    while (acknowledged > 0n && acknowledged >= knownVisible) {
      knownVisible = await visibleBelow(query);
      if (acknowledged < knownVisible || performance.now() > deadline) return;
      await new Promise((resolve) => setTimeout(resolve, 5));
    }
  }
  const acknowledge = (results: AppendResult[]): AppendResult[] => {
    for (const r of results) if (r.position > acknowledged) acknowledged = r.position;
    return results;
  };

  const units = unitCommitter(pool, options, () => commits.notify());
  const commitUnit = async (unit: CommitUnit): Promise<AppendResult[]> => {
    if (closed) throw new StoreUnavailableError('the event store is closed', 'closed');
    return acknowledge(await units.commit(unit));
  };

  const store: PgEventStore = {
    kind: 'postgres',
    async append(streamId, events, expected) {
      const unit = [{ streamId, events, expected }];
      assertAppendable(unit);
      const [result] = await commitUnit(unit);
      return result!;
    },
    async appendAtomically(writes) {
      assertDistinctStreams(writes);
      assertAppendable(writes);
      return commitUnit(writes);
    },
    readStream: (streamId, readOptions) => readStream(query, streamId, readOptions?.fromRevision),
    async *readAll(readOptions) {
      await awaitOwnWrites();
      yield* readAll(query, readOptions);
    },
    subscribe: (subscription) => pollingSubscription(store, subscription, commits.wait, options.pollIntervalMs ?? 500),
    async headPosition() {
      await awaitOwnWrites();
      return headPosition(query);
    },
    async ping() {
      const [row] = await query<{ standby: boolean }>('SELECT pg_is_in_recovery() AS standby');
      if (row?.standby) throw new StoreUnavailableError('the PostgreSQL server is a read-only standby', 'io');
    },
    listening: () => listener.listening(),
    async close() {
      if (closed) return;
      closed = true;
      await units.close();
      commits.notify();
      await listener.close();
      await pool.end();
    },
  };
  return store;
}

/** Appends in shared batches (group commit), or, for comparison, each on its own connection and commit. */
function unitCommitter(pool: pg.Pool, options: PgStoreOptions, onCommitted: () => void): GroupCommit {
  if (options.groupCommit !== false) {
    return groupCommit({
      maxBatch: Math.min(options.maxBatch ?? MAX_UNITS_PER_BATCH, MAX_UNITS_PER_BATCH),
      toStoreError: pgStoreError,
      onCommitted,
      commitBatch: (units) => appendBatch(pool, units),
    });
  }
  let inFlight = new Set<Promise<unknown>>();
  return {
    async commit(unit) {
      const attempt = appendBatch(pool, [unit]);
      inFlight.add(attempt);
      try {
        const [outcome] = await attempt;
        if (!outcome!.ok) throw outcome!.error;
        onCommitted();
        return outcome!.results;
      } catch (error) {
        throw pgStoreError(error);
      } finally {
        inFlight.delete(attempt);
      }
    },
    async close() {
      await Promise.allSettled([...inFlight]);
      inFlight = new Set();
    },
  };
}
