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
    return withRedactedClientOutput(() => openEsdbStore(url));
  }
  throw new Error(`unknown store URL ${redactSecrets(url)}: use sqlite:<path>, memory: or esdb://…`);
}

/**
 * EventStoreDB's client parses its connection string when the store is opened: it warns about an
 * unknown option on the console and throws on a bad value, quoting the whole string, password
 * included, both times. Both pass through redactSecrets here; the parse is synchronous, so the
 * console is only wrapped for its duration.
 */
function withRedactedClientOutput<T>(open: () => T): T {
  const { warn } = console;
  console.warn = (...args: unknown[]) => warn(...args.map((arg) => (typeof arg === 'string' ? redactSecrets(arg) : arg)));
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
