/**
 * A private copy of a log to run commands against, so that nothing done to it can reach the
 * live store. A SQLite file is copied page by page with SQLite's online backup (consistent even
 * while the server writes); any other source is appended into a memory store through the port.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { openMemoryStore } from '../eventstore/memory-store.ts';
import type { EventStore } from '../eventstore/port.ts';
import { openSqliteStore, type SqliteEventStore } from '../eventstore/sqlite-store.ts';
import { copyLog } from './copy-log.ts';
import { recordsOf, type LogSource, type ProgressListener } from './source.ts';

export interface ScratchCopy {
  readonly store: EventStore;
  /** Closes the copy and deletes its files. */
  dispose(): Promise<void>;
}

export async function scratchCopyOf(source: LogSource, onProgress?: ProgressListener): Promise<ScratchCopy> {
  if (source.kind === 'store' && isSqlite(source.store)) {
    const dir = mkdtempSync(join(tmpdir(), 'ledger-scratch-'));
    try {
      const path = join(dir, 'scratch.db');
      await source.store.database.backup(path, {
        progress({ totalPages, remainingPages }) {
          onProgress?.(totalPages - remainingPages, totalPages);
          return 1_000; // pages per step
        },
      });
      // No fsync: the copy is thrown away when the run ends.
      const store = openSqliteStore(path, { synchronous: 'OFF' });
      return {
        store,
        async dispose() {
          await store.close();
          rmSync(dir, { recursive: true, force: true });
        },
      };
    } catch (error) {
      rmSync(dir, { recursive: true, force: true });
      throw error;
    }
  }
  const store = openMemoryStore();
  await copyLog(recordsOf(source, {}, onProgress), store);
  return { store, dispose: () => store.close() };
}

function isSqlite(store: EventStore): store is SqliteEventStore {
  return store.kind === 'sqlite' && 'database' in store;
}
