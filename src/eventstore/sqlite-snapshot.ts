/** A copy of the SQLite log in a file of its own, for scratch work that must not reach the live log. */
import type Database from 'better-sqlite3';
import { sqliteStoreError } from './sqlite-errors.ts';
import type { Guard } from './sqlite-reads.ts';
import { sqliteLocation, type StoreLocation } from './store-url.ts';

/** SQLite's online backup: page by page, consistent even while other connections write. */
export async function snapshotDatabase(
  db: Database.Database,
  guarded: Guard,
  target: string,
  onProgress?: (done: number, total: number) => void,
): Promise<StoreLocation> {
  const copying = guarded(() =>
    db.backup(target, {
      progress({ totalPages, remainingPages }) {
        onProgress?.(totalPages - remainingPages, totalPages);
        return 1_000; // pages per step
      },
    }),
  );
  await copying.catch((error: unknown) => Promise.reject(sqliteStoreError(error)));
  return sqliteLocation(target);
}
