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
  let client: pg.Client | undefined;
  let alive = false;
  // A standby asks again on the same session: no new connection (and backend) every retry.
  while (!signal.aborted) {
    try {
      if (!client) {
        const fresh = new pg.Client(config);
        // Errors end the session and with it the lock: 'end' says so.
        fresh.on('error', () => {});
        fresh.once('end', () => {
          alive = false;
          if (client === fresh) client = undefined;
        });
        await fresh.connect();
        client = fresh;
        alive = true;
      }
      const { rows } = await client.query<{ ok: boolean }>('SELECT pg_try_advisory_lock($1) AS ok', [
        RUNNER_LOCK.toString(),
      ]);
      if (rows[0]?.ok === true && alive && !signal.aborted) {
        const held = client;
        return {
          held: () => alive && client === held,
          async release() {
            alive = false;
            // Ending the session releases the lock.
            await held.end().catch(() => {});
          },
        };
      }
    } catch {
      await client?.end().catch(() => {});
      client = undefined;
    }
    await pause(retryMs, signal);
  }
  await client?.end().catch(() => {});
  return undefined;
}

function pause(ms: number, signal: AbortSignal): Promise<void> {
  return new Promise<void>((resolve) => {
    const timer = setTimeout(done, ms);
    signal.addEventListener('abort', done, { once: true });
    function done() {
      clearTimeout(timer);
      signal.removeEventListener('abort', done);
      resolve();
    }
  });
}
