import { redactSecrets } from '../redact.ts';
import type { EventStore } from './port.ts';
import type { SqliteStoreOptions } from './sqlite-store.ts';
import type { StoreLocation } from './store-url.ts';

/** Opens the store a parsed LEDGER_STORE names; a network store's driver is loaded only when used. */
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
      return withRedactedClientOutput(() => openEsdbStore(location.connectionString));
    }
    case 'postgres': {
      const { openPgStore } = await import('./pg-store.ts');
      return openPgStore(location.connectionString);
    }
  }
}

/**
 * EventStoreDB's client parses its connection string when the store is opened: it warns about an
 * unknown option on the console and throws on a bad value, quoting the whole string, password
 * included, both times. Both pass through redactSecrets here; the parse is synchronous, so the
 * console is only wrapped for its duration.
 */
function withRedactedClientOutput<T>(open: () => T): T {
  const { warn } = console;
  console.warn = (...args: unknown[]) =>
    warn(...args.map((arg) => (typeof arg === 'string' ? redactSecrets(arg) : arg)));
  try {
    return open();
  } catch (error) {
    if (!(error instanceof Error)) throw new Error(redactSecrets(String(error)));
    // A fresh error: the original's stack and cause quote the connection string too.
    const redacted = new Error(redactSecrets(error.message));
    redacted.name = error.name;
    throw redacted;
  } finally {
    console.warn = warn;
  }
}
