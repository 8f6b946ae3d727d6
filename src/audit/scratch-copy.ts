/**
 * A private copy of a log to run commands against, so that nothing done to it can reach the
 * live store. A store that can snapshot itself (SQLite: an online backup, consistent even while
 * the server writes) is copied that way; any other source is appended into a memory store
 * through the port.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { openMemoryStore } from '../eventstore/memory-store.ts';
import { openStore } from '../eventstore/open-store.ts';
import type { EventStore } from '../eventstore/port.ts';
import { copyLog } from './copy-log.ts';
import { recordsOf, type LogSource, type ProgressListener } from './source.ts';

export interface ScratchCopy {
  readonly store: EventStore;
  /** Closes the copy and deletes its files. */
  dispose(): Promise<void>;
}

export async function scratchCopyOf(source: LogSource, onProgress?: ProgressListener): Promise<ScratchCopy> {
  const snapshotTo = source.kind === 'store' ? source.store.snapshotTo?.bind(source.store) : undefined;
  if (snapshotTo) {
    const dir = mkdtempSync(join(tmpdir(), 'ledger-scratch-'));
    try {
      const copy = await snapshotTo(join(dir, 'scratch.db'), onProgress);
      // No fsync: the copy is thrown away when the run ends.
      const store = await openStore(copy, { synchronous: 'OFF' });
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
