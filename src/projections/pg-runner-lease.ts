/**
 * One projector per PostgreSQL database: a session advisory lock on a connection of its own. The
 * lock lives exactly as long as the session, so a holder that dies (killed, cut off) frees it as
 * soon as the server notices, and a standby takes over. Holding it is an efficiency, not the
 * fence: every batch still commits by compare-and-set, so two holders for a moment (one cut off
 * but not yet aware) cannot apply an event twice.
 */
import pg from 'pg';
import type { RunnerLease } from './read-model-store.ts';

const RUNNER_LOCK = 7_310_554_211_015_102_003n;

export async function acquireRunnerLease(
  config: pg.ClientConfig,
  signal: AbortSignal,
  retryMs = 1_000,
): Promise<RunnerLease | undefined> {
  while (!signal.aborted) {
    const client = new pg.Client(config);
    let held = false;
    // Errors end the session and with it the lock: 'end' below says so.
    client.on('error', () => {});
    try {
      await client.connect();
      const { rows } = await client.query<{ ok: boolean }>('SELECT pg_try_advisory_lock($1) AS ok', [
        RUNNER_LOCK.toString(),
      ]);
      held = rows[0]?.ok === true;
    } catch {
      held = false;
    }
    if (held && !signal.aborted) {
      let alive = true;
      client.once('end', () => {
        alive = false;
      });
      return {
        held: () => alive,
        async release() {
          alive = false;
          // Ending the session releases the lock.
          await client.end().catch(() => {});
        },
      };
    }
    await client.end().catch(() => {});
    await new Promise<void>((resolve) => {
      const timer = setTimeout(done, retryMs);
      signal.addEventListener('abort', done, { once: true });
      function done() {
        clearTimeout(timer);
        signal.removeEventListener('abort', done);
        resolve();
      }
    });
  }
  return undefined;
}
