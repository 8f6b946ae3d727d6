import { redactSecrets } from '../redact.ts';
import type { EventStore } from './port.ts';
import type { SqliteStoreOptions } from './sqlite-store.ts';

/** Opens the store a LEDGER_STORE URL names; EventStoreDB's client is loaded only when used. */
export async function openStore(url: string, sqliteOptions: SqliteStoreOptions = {}): Promise<EventStore> {
  if (url === 'memory:') {
    const { openMemoryStore } = await import('./memory-store.ts');
    return openMemoryStore();
  }
  if (url.startsWith('sqlite:')) {
    const { openSqliteStore } = await import('./sqlite-store.ts');
    return openSqliteStore(url.slice('sqlite:'.length), sqliteOptions);
  }
  if (url.startsWith('esdb://') || url.startsWith('esdb+discover://')) {
    const { openEsdbStore } = await import('./esdb-store.ts');
    return openEsdbStore(url);
  }
  throw new Error(`unknown store URL ${redactSecrets(url)}: use sqlite:<path>, memory: or esdb://…`);
}
