/**
 * The embedded, durable default. One SQLite file (WAL) holds the log; several processes may
 * share it. An append is acknowledged only after its transaction is committed with the
 * configured fsync discipline (synchronous=FULL by default), sharing that commit with the
 * appends that arrived beside it (group-commit.ts).
 */
import { StoreUnavailableError } from './errors.ts';
import { assertDistinctStreams } from './expectation.ts';
import { commitInSavepoints, groupCommit } from './group-commit.ts';
import { CommitSignal } from '../commit-signal.ts';
import { pollingSubscription } from './polling-subscription.ts';
import type { EventStore } from './port.ts';
import { writeStream } from './sqlite-append.ts';
import { sqliteStoreError } from './sqlite-errors.ts';
import { sqliteHealth, withWriteHealth } from './sqlite-health.ts';
import { snapshotDatabase } from './sqlite-snapshot.ts';
import { headPosition, readAll, readStream, type Guard } from './sqlite-reads.ts';
import { openLogDatabase, type SynchronousMode } from './sqlite-schema.ts';
import { prepareStatements, sqliteTransaction } from './sqlite-statements.ts';

export type { SynchronousMode } from './sqlite-schema.ts';

export interface SqliteStoreOptions {
  /** FULL (default): a committed append survives power loss. NORMAL: it survives a process crash only. */
  readonly synchronous?: SynchronousMode;
  /** How long a write waits for another process's write lock before the store is "busy". */
  readonly busyTimeoutMs?: number;
  /** How often a subscription looks for commits made by other processes. */
  readonly pollIntervalMs?: number;
  /** Most appends committed in one transaction. */
  readonly maxBatch?: number;
}

export interface SqliteEventStore extends EventStore {
  readonly snapshotTo: NonNullable<EventStore['snapshotTo']>;
  /**
   * For fault drills: while limited, the file cannot grow by a single page, so a commit that
   * needs room fails exactly as on a full disk (SQLITE_FULL).
   */
  limitGrowth(limited: boolean): void;
}

export function openSqliteStore(path: string, options: SqliteStoreOptions = {}): SqliteEventStore {
  const db = openLogDatabase(path, options.synchronous ?? 'FULL', options.busyTimeoutMs ?? 5_000);
  const statements = prepareStatements(db);
  const transaction = sqliteTransaction(db);
  const commits = new CommitSignal();
  const batches = groupCommit({
    maxBatch: options.maxBatch ?? 512,
    toStoreError: sqliteStoreError,
    onCommitted: () => commits.notify(),
    commitBatch(units) {
      const createdAt = new Date().toISOString();
      return commitInSavepoints(units, transaction, (write) => writeStream(statements, write, createdAt));
    },
  });
  let closed = false;

  const guarded: Guard = (read) => {
    if (closed) throw new StoreUnavailableError('the event store is closed', 'closed');
    try {
      return read();
    } catch (error) {
      throw sqliteStoreError(error);
    }
  };

  const store: SqliteEventStore = {
    kind: 'sqlite',
    async append(streamId, events, expected) {
      const [result] = await batches.commit([{ streamId, events, expected }]);
      return result!;
    },
    appendAtomically(writes) {
      try {
        assertDistinctStreams(writes);
      } catch (error) {
        return Promise.reject(error);
      }
      return batches.commit(writes);
    },
    readStream: async (streamId, options) => readStream(statements, guarded, streamId, options?.fromRevision),
    readAll: (options) => readAll(statements, guarded, options),
    subscribe: (subscription) => pollingSubscription(store, subscription, commits.wait, options.pollIntervalMs ?? 100),
    headPosition: async () => headPosition(statements, guarded),
    async ping() {
      guarded(() => statements.ping.get());
    },
    snapshotTo: (target, onProgress) => snapshotDatabase(db, guarded, target, onProgress),
    limitGrowth(limited) {
      const pages = limited ? (db.pragma('page_count', { simple: true }) as number) : 1_073_741_823;
      db.pragma(`max_page_count = ${pages}`);
    },
    async close() {
      if (closed) return;
      closed = true;
      await batches.close();
      commits.notify();
      db.close();
    },
  };
  return path === ':memory:' ? store : withWriteHealth(store, sqliteHealth(path));
}
