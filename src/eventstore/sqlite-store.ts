/**
 * The embedded, durable default. One SQLite file (WAL) holds the log; several processes may
 * share it. An append is acknowledged only after its transaction is committed with the
 * configured fsync discipline (synchronous=FULL by default), and appends that arrive while a
 * batch is being prepared share one commit (group commit), each under its own savepoint so a
 * failed expectation does not fail its neighbours.
 */
import { mkdirSync } from 'node:fs';
import { dirname } from 'node:path';
import Database from 'better-sqlite3';
import { CorruptEventError, StoreUnavailableError, WrongExpectedVersionError } from './errors.ts';
import { assertDistinctStreams, resolveExpectation, type StoredRef } from './expectation.ts';
import { CommitSignal } from '../commit-signal.ts';
import { pollingSubscription } from './polling-subscription.ts';
import { sqliteHealth, withWriteHealth } from './sqlite-health.ts';
import type {
  AppendResult,
  EventStore,
  EventToAppend,
  ExpectedRevision,
  ReadAllOptions,
  RecordedEvent,
  StreamWrite,
  SubscribeOptions,
} from './port.ts';
import { toRecorded, type EventRow } from './sqlite-rows.ts';

export type SynchronousMode = 'OFF' | 'NORMAL' | 'FULL' | 'EXTRA';

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
  /** The file's connection, for the read models that live in the same file and for fault tests. */
  readonly database: Database.Database;
}

/** One unit of a group commit: a single append, or the writes of one atomic multi-stream append. */
interface PendingAppend {
  readonly writes: readonly StreamWrite[];
  readonly resolve: (results: AppendResult[]) => void;
  readonly reject: (error: unknown) => void;
}

const SCHEMA = `
  CREATE TABLE IF NOT EXISTS events (
    position   INTEGER PRIMARY KEY AUTOINCREMENT, -- AUTOINCREMENT: positions are never reused
    id         TEXT    NOT NULL UNIQUE,
    stream     TEXT    NOT NULL,
    revision   INTEGER NOT NULL CHECK (revision >= 0),
    type       TEXT    NOT NULL,
    data       TEXT    NOT NULL,
    metadata   TEXT    NOT NULL,
    created_at TEXT    NOT NULL,
    UNIQUE (stream, revision)
  );
`;

export function openSqliteStore(path: string, options: SqliteStoreOptions = {}): SqliteEventStore {
  if (path !== ':memory:') mkdirSync(dirname(path), { recursive: true });
  const db = new Database(path, { timeout: options.busyTimeoutMs ?? 5_000 });
  db.pragma('journal_mode = WAL');
  db.pragma(`synchronous = ${options.synchronous ?? 'FULL'}`);
  db.exec(SCHEMA);

  const statements = {
    head: db.prepare('SELECT revision FROM events WHERE stream = ? ORDER BY revision DESC LIMIT 1').pluck().safeIntegers(true),
    refsFrom: db
      .prepare('SELECT id, revision, position FROM events WHERE stream = ? AND revision >= ? ORDER BY revision LIMIT ?')
      .safeIntegers(true),
    insert: db.prepare(
      'INSERT INTO events (id, stream, revision, type, data, metadata, created_at) VALUES (?, ?, ?, ?, ?, ?, ?)',
    ),
    stream: db.prepare('SELECT * FROM events WHERE stream = ? ORDER BY revision').safeIntegers(true),
    page: db.prepare('SELECT * FROM events WHERE position > ? AND position <= ? ORDER BY position LIMIT ?').safeIntegers(true),
    headPosition: db.prepare('SELECT max(position) FROM events').pluck().safeIntegers(true),
    ping: db.prepare('SELECT 1'),
    savepoint: db.prepare('SAVEPOINT append'),
    release: db.prepare('RELEASE append'),
    rollbackTo: db.prepare('ROLLBACK TO append'),
    begin: db.prepare('BEGIN IMMEDIATE'),
    commit: db.prepare('COMMIT'),
  };

  const maxBatch = options.maxBatch ?? 512;
  const commits = new CommitSignal();
  let pending: PendingAppend[] = [];
  let flushScheduled = false;
  let closed = false;
  let idle: Promise<void> = Promise.resolve();
  let markIdle: () => void = () => {};

  /** One stream's write inside the open transaction; throws WrongExpectedVersionError without writing. */
  function applyAppend(append: StreamWrite, createdAt: string): AppendResult {
    const head = statements.head.get(append.streamId) as bigint | undefined;
    const outcome = resolveExpectation(
      append.streamId,
      append.expected,
      head ?? 'no_stream',
      append.events.map((e) => e.id),
      (first, count) => statements.refsFrom.all(append.streamId, first, count) as StoredRef[],
    );
    if (outcome.kind === 'duplicate') {
      return { nextExpectedRevision: outcome.last.revision, position: outcome.last.position, duplicate: true };
    }
    let revision = outcome.firstRevision;
    let position = 0n;
    for (const e of append.events) {
      const info = statements.insert.run(
        e.id,
        append.streamId,
        revision,
        e.type,
        JSON.stringify(e.data),
        JSON.stringify(e.metadata),
        createdAt,
      );
      position = BigInt(info.lastInsertRowid);
      revision += 1n;
    }
    return { nextExpectedRevision: revision - 1n, position, duplicate: false };
  }

  function flush(): void {
    flushScheduled = false;
    const batch = pending.splice(0, maxBatch);
    if (pending.length > 0) scheduleFlush();
    if (batch.length === 0) return;
    const outcomes: Array<{ ok: true; result: AppendResult[] } | { ok: false; error: unknown }> = [];
    const createdAt = new Date().toISOString();
    try {
      statements.begin.run();
      for (const append of batch) {
        // The expectation is checked before any insert, and a failed single insert undoes itself;
        // only a multi-event unit can leave a partial write to undo, so only it pays for a savepoint.
        const savepoint = append.writes.length > 1 || append.writes[0]!.events.length > 1;
        if (savepoint) statements.savepoint.run();
        try {
          outcomes.push({ ok: true, result: append.writes.map((write) => applyAppend(write, createdAt)) });
          if (savepoint) statements.release.run();
        } catch (error) {
          // Only the append's own failures stay its own; a storage fault fails the whole batch
          // (and SQLite may already have rolled the transaction back, savepoints included).
          if (!(error instanceof WrongExpectedVersionError) && !isConstraintViolation(error)) throw error;
          if (savepoint) {
            statements.rollbackTo.run();
            statements.release.run();
          }
          outcomes.push({ ok: false, error });
        }
      }
      statements.commit.run();
    } catch (error) {
      if (db.inTransaction) {
        try {
          db.exec('ROLLBACK');
        } catch {
          // SQLite may already have rolled back (SQLITE_FULL on commit); nothing more to undo.
        }
      }
      const failure = toStoreError(error);
      for (const append of batch) append.reject(failure);
      settleIfIdle();
      return;
    }
    batch.forEach((append, i) => {
      const outcome = outcomes[i]!;
      if (outcome.ok) append.resolve(outcome.result);
      else append.reject(outcome.error);
    });
    commits.notify();
    settleIfIdle();
  }

  /** Queues a unit for the next group commit: it joins the batch under its own savepoint. */
  function enqueue(writes: readonly StreamWrite[]): Promise<AppendResult[]> {
    if (closed) return Promise.reject(new StoreUnavailableError('the event store is closed', 'closed'));
    if (pending.length === 0 && !flushScheduled) idle = new Promise((resolve) => (markIdle = resolve));
    return new Promise<AppendResult[]>((resolve, reject) => {
      pending.push({ writes, resolve, reject });
      scheduleFlush();
    });
  }

  function scheduleFlush(): void {
    if (flushScheduled) return;
    flushScheduled = true;
    // setImmediate lets every append issued in this turn of the event loop join the batch.
    setImmediate(flush);
  }

  function settleIfIdle(): void {
    if (pending.length === 0 && !flushScheduled) markIdle();
  }

  function assertOpen(): void {
    if (closed) throw new StoreUnavailableError('the event store is closed', 'closed');
  }

  function guarded<T>(read: () => T): T {
    assertOpen();
    try {
      return read();
    } catch (error) {
      if (error instanceof CorruptEventError) throw error;
      throw toStoreError(error);
    }
  }

  const store: SqliteEventStore = {
    kind: 'sqlite',
    database: db,

    async append(streamId, events, expected) {
      const [result] = await enqueue([{ streamId, events, expected }]);
      return result!;
    },

    appendAtomically(writes) {
      try {
        assertDistinctStreams(writes);
      } catch (error) {
        return Promise.reject(error);
      }
      return enqueue(writes);
    },

    async readStream(streamId) {
      return guarded(() => (statements.stream.all(streamId) as EventRow[]).map(toRecorded));
    },

    async *readAll(options: ReadAllOptions = {}) {
      const upTo = options.upTo ?? BigInt(Number.MAX_SAFE_INTEGER);
      let after = options.after ?? 0n;
      let remaining = options.maxCount ?? Infinity;
      // Pages rather than one open cursor: a cursor would block appends on this connection.
      while (remaining > 0) {
        const limit = Math.min(remaining, 1_000);
        const rows = guarded(() => statements.page.all(after, upTo, limit) as EventRow[]);
        for (const row of rows) yield toRecorded(row);
        if (rows.length < limit) return;
        after = rows[rows.length - 1]!.position as bigint;
        remaining -= rows.length;
      }
    },

    subscribe(subscription: SubscribeOptions) {
      return pollingSubscription(store, subscription, commits.wait, options.pollIntervalMs ?? 100);
    },

    async headPosition() {
      const head = guarded(() => statements.headPosition.get() as bigint | null);
      return head ?? undefined;
    },

    async ping() {
      guarded(() => statements.ping.get());
    },

    async close() {
      if (closed) return;
      closed = true;
      await idle;
      commits.notify();
      db.close();
    },
  };
  return path === ':memory:' ? store : withWriteHealth(store, sqliteHealth(path));
}

function isConstraintViolation(error: unknown): boolean {
  return error instanceof Database.SqliteError && error.code.startsWith('SQLITE_CONSTRAINT');
}

/** Storage faults become one retryable error, whatever SQLite called them. */
export function toStoreError(error: unknown): Error {
  if (error instanceof StoreUnavailableError) return error;
  if (error instanceof Database.SqliteError) {
    const code = error.code;
    const reason = code === 'SQLITE_FULL' ? 'full' : code.startsWith('SQLITE_BUSY') || code.startsWith('SQLITE_LOCKED') ? 'busy' : 'io';
    return new StoreUnavailableError(`the event store cannot write (${code}): ${error.message}`, reason, { cause: error });
  }
  if (error instanceof TypeError && /database connection is not open/.test(error.message)) {
    return new StoreUnavailableError('the event store is closed', 'closed', { cause: error });
  }
  return error instanceof Error ? error : new Error(String(error));
}
