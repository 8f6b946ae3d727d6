/**
 * The read models in SQLite (database.ts: the event file itself, a file of their own, or memory).
 * Each port call is one synchronous transaction on this connection, so none can interleave with
 * another; only a batch's commit waits, asynchronously, for a write lock held by another process.
 */
import Database from 'better-sqlite3';
import type { Projection } from '../../projections/projection.ts';
import { sqliteProcessorCheckpoint } from '../payments/processor-checkpoint.ts';
import { Checkpoints } from './checkpoints.ts';
import {
  createIndexes,
  dropIndexes,
  openReadModelDatabase,
  type ReadModelDatabase,
  type ReadModelDatabaseOptions,
} from './database.ts';
import { DocumentTable } from './documents.ts';
import { IndexedQueries } from './sqlite-indexed-queries.ts';
import { documentKey, type PlannedGenerations, type ReadModelStore, type ServedQuery } from './read-model-store.ts';

export interface SqliteReadModels extends ReadModelStore {
  readonly kind: 'sqlite';
  readonly readModels: ReadModelDatabase;
  readonly db: Database.Database;
  readonly checkpoints: Checkpoints;
}

/** How long a commit retries without blocking before it waits for the lock like any SQLite writer. */
const BUSY_RETRY_MS = 5_000;

export function openSqliteReadModels(
  location: string | Database.Database,
  options: ReadModelDatabaseOptions = {},
): SqliteReadModels {
  const readModels = openReadModelDatabase(location, options);
  const db = readModels.db;
  const checkpoints = new Checkpoints(db);
  const documents = new DocumentTable(db);
  const indexed = new IndexedQueries(db);

  /**
   * BEGIN IMMEDIATE, failing at once if another connection holds the write lock. SQLite waits for
   * a lock as long as the connection's busy timeout and has no bound per statement, so the timeout
   * is 0 for this one statement.
   */
  function lockWithoutWaiting(): boolean {
    const usual = db.pragma('busy_timeout', { simple: true }) as number;
    db.pragma('busy_timeout = 0');
    try {
      db.exec('BEGIN IMMEDIATE');
      return true;
    } catch (error) {
      if (isBusy(error)) return false;
      throw error;
    } finally {
      db.pragma(`busy_timeout = ${usual}`);
    }
  }

  function runQuery(projection: string, generation: number, query: ServedQuery): string[] {
    switch (query.kind) {
      case 'document': {
        const text = documents.text(projection, generation, query.collection, query.key);
        return text === undefined ? [] : [text];
      }
      case 'range':
        return documents.range(projection, generation, query.collection, query.low, query.high);
      case 'indexed':
        return indexed.page(projection, generation, query);
    }
  }

  return {
    kind: 'sqlite',
    readModels,
    db,
    checkpoints,

    async planGenerations(projections, decide) {
      return db
        .transaction(() =>
          projections.map((projection): PlannedGenerations => {
            const plan = decide(projection, checkpoints.of(projection.name));
            if (plan.retire !== undefined) checkpoints.retire(projection.name, plan.retire, 'building');
            const created = plan.create ? checkpoints.createBuilding(projection.name, projection.version) : undefined;
            // Served generations from before a change of index layout get theirs here (a no-op otherwise).
            if (plan.active) createIndexes(db, projection, plan.active.generation);
            return { plan, created };
          }),
        )
        .immediate();
    },

    async generations() {
      return checkpoints.all();
    },

    async servedPositions(names) {
      return new Map(names.map((name) => [name, checkpoints.active(name)?.position]));
    },

    async readServed(projection, query, usable) {
      return db.transaction(() => {
        const { active, failure } = checkpoints.served(projection);
        const run = active && !failure && usable(active);
        return { active, failure, documents: run ? runQuery(projection, active.generation, query) : [] };
      })();
    },

    documentNow: (projection, generation, { collection, key }) =>
      documents.get(projection, generation, collection, key),

    readingNow: (work) => db.transaction(work).deferred(),

    async readDocuments(projection, generation, ids) {
      const found = new Map<string, unknown>();
      db.transaction(() => {
        for (const { collection, key } of ids) {
          const doc = documents.get(projection, generation, collection, key);
          if (doc !== undefined) found.set(documentKey(collection, key), doc);
        }
      })();
      return found;
    },

    /**
     * The write lock may be held by another process's store or runner sharing the file. Rather
     * than let SQLite's busy handler sleep on this thread, try without waiting and retry a moment
     * later; after the busy timeout, wait the ordinary way.
     */
    async commitBatch(writes, signal) {
      const giveUpAt = performance.now() + BUSY_RETRY_MS;
      let locked = false;
      for (let pause = 1; performance.now() < giveUpAt && !signal.aborted; pause = Math.min(pause * 2, 8)) {
        if ((locked = lockWithoutWaiting())) break;
        await new Promise((resolve) => setTimeout(resolve, pause));
      }
      if (!locked) db.exec('BEGIN IMMEDIATE');
      try {
        const held = writes.map((write) => {
          // A failure recorded where the checkpoint stays is fenced the same way (to = from).
          if (!checkpoints.advance(write.projection, write.generation, write.from, write.to ?? write.from))
            return false;
          for (const { collection, key } of write.deletes)
            documents.delete(write.projection, write.generation, collection, key);
          documents.putAll(write.projection, write.generation, write.puts);
          if (write.failure) checkpoints.fail(write.projection, write.generation, write.failure);
          return true;
        });
        db.exec('COMMIT');
        return held;
      } catch (error) {
        if (db.inTransaction) db.exec('ROLLBACK');
        throw error;
      }
    },

    async recordFailure(projection, generation, failure) {
      db.transaction(() => checkpoints.fail(projection, generation, failure))();
    },

    async promote(projection: Projection, generation: number) {
      // Indexes and swap in one transaction: readers never see a served generation without its indexes.
      return db
        .transaction(() => {
          createIndexes(db, projection, generation);
          return checkpoints.promote(projection.name, generation);
        })
        .immediate();
    },

    async purgeRetired(limit) {
      for (const row of checkpoints.all()) {
        if (row.status !== 'retired') continue;
        const removed = db
          .transaction(() => {
            // Indexes first: then deleting the documents does not have to maintain them.
            dropIndexes(db, row.projection, row.generation);
            const count = documents.purge(row.projection, row.generation, limit);
            if (count < limit) checkpoints.remove(row.projection, row.generation);
            return count;
          })
          .immediate();
        if (removed >= limit) return true;
      }
      return false;
    },

    async *listDocuments(projection, generation) {
      yield* documents.list(projection, generation);
    },

    processorCheckpoint: (name) => sqliteProcessorCheckpoint(db, name),

    async close() {
      readModels.close();
    },
  };
}

const isBusy = (error: unknown): boolean =>
  error instanceof Database.SqliteError && error.code.startsWith('SQLITE_BUSY');
