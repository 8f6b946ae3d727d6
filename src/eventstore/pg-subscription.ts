/**
 * The live signal of the PostgreSQL store: one connection of its own LISTENs on the channel every
 * append notifies in its transaction (so a notification means "committed"). It wakes the store's
 * polling subscriptions; the poll interval stays the fallback for whatever the signal misses (a
 * notification lost with the connection, an older transaction that ended without appending and
 * so moved the visibility bound silently). A lost connection (the server restarted, the backend
 * was terminated) is re-established with backoff, and a wake-up after each reconnect makes the
 * subscriptions read what was committed meanwhile.
 */
import pg from 'pg';
import { NOTIFY_CHANNEL } from './pg-schema.ts';

export interface CommitListener {
  /** Whether the LISTEN connection is up now (for tests and diagnostics). */
  readonly listening: () => boolean;
  close(): Promise<void>;
}

const FIRST_RETRY_MS = 50;
const LAST_RETRY_MS = 2_000;

/** Listens on `channel` (default: the one every append notifies), calling `onCommit` for each notification and after each (re)connect. */
export function listenForCommits(
  config: pg.ClientConfig,
  onCommit: () => void,
  channel: string = NOTIFY_CHANNEL,
): CommitListener {
  let client: pg.Client | undefined;
  let closed = false;
  let retryMs = FIRST_RETRY_MS;
  let retry: NodeJS.Timeout | undefined;

  async function connect(): Promise<void> {
    retry = undefined;
    if (closed) return;
    const candidate = new pg.Client(config);
    // Errors surface as 'end' below; an unhandled 'error' event would end the process.
    candidate.on('error', () => {});
    try {
      await candidate.connect();
      await candidate.query(`LISTEN ${channel}`);
    } catch {
      await candidate.end().catch(() => {});
      scheduleReconnect();
      return;
    }
    if (closed) {
      await candidate.end().catch(() => {});
      return;
    }
    client = candidate;
    retryMs = FIRST_RETRY_MS;
    candidate.on('notification', onCommit);
    candidate.once('end', () => {
      if (client === candidate) client = undefined;
      scheduleReconnect();
    });
    onCommit();
  }

  function scheduleReconnect(): void {
    if (closed || retry) return;
    retry = setTimeout(() => void connect(), retryMs);
    retryMs = Math.min(retryMs * 2, LAST_RETRY_MS);
  }

  void connect();
  return {
    listening: () => client !== undefined,
    async close() {
      closed = true;
      clearTimeout(retry);
      const current = client;
      client = undefined;
      await current?.end().catch(() => {});
    },
  };
}
