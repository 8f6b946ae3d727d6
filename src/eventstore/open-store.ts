import type { EventStore } from './port.ts';
import type { SqliteStoreOptions } from './sqlite-store.ts';
import type { StoreLocation } from './store-url.ts';

/** Opens the store a parsed LEDGER_STORE names; EventStoreDB's client is loaded only when used. */
export async function openStore(location: StoreLocation, sqliteOptions: SqliteStoreOptions = {}): Promise<EventStore> {
  switch (location.kind) {
    case 'memory': {
      const { openMemoryStore } = await import('./memory-store.ts');
      return openMemoryStore();
    }
    case 'sqlite': {
      const { openSqliteStore } = await import('./sqlite-store.ts');
      return openSqliteStore(location.path, sqliteOptions);
    }
    case 'esdb': {
      const { openEsdbStore } = await import('./esdb-store.ts');
      return openEsdbStore(location.connectionString);
    }
  }
}
