/**
 * The one reading of a store URL (LEDGER_STORE, --store). Everything that needs to know which
 * store a URL names (the configuration, openStore, where the read models live, the CLI, the audit
 * workers) takes the parsed location, never the text, so a new scheme is added here and only here.
 */
import { z } from 'zod';

/** Where the log is. `url` is the text as given, for naming the store (redact it before showing it). */
export type StoreLocation =
  | { readonly kind: 'memory'; readonly url: string }
  | { readonly kind: 'sqlite'; readonly url: string; readonly path: string }
  | { readonly kind: 'esdb'; readonly url: string; readonly connectionString: string }
  | { readonly kind: 'postgres'; readonly url: string; readonly connectionString: string };

export const STORE_URL_FORMS = 'sqlite:<path>, memory:, a postgres:// URL or an esdb:// connection string';

export const StoreUrlSchema = z.string().transform((url, ctx): StoreLocation => {
  if (url === 'memory:') return { kind: 'memory', url };
  if (url.startsWith('sqlite:')) {
    const path = url.slice('sqlite:'.length);
    if (path !== '') return { kind: 'sqlite', url, path };
    ctx.addIssue({ code: 'custom', message: 'sqlite: needs a file path' });
    return z.NEVER;
  }
  if (url.startsWith('esdb://') || url.startsWith('esdb+discover://'))
    return { kind: 'esdb', url, connectionString: url };
  if (url.startsWith('postgres://') || url.startsWith('postgresql://'))
    return { kind: 'postgres', url, connectionString: url };
  ctx.addIssue({ code: 'custom', message: `must be ${STORE_URL_FORMS}` });
  return z.NEVER;
});

/** A location from code (tests, tools) that already knows it names a SQLite file. */
export function sqliteLocation(path: string): StoreLocation & { readonly kind: 'sqlite' } {
  return { kind: 'sqlite', url: `sqlite:${path}`, path };
}
