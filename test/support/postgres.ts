/**
 * Scratch PostgreSQL databases for tests: each run creates its own (ledger_test_<random>) on the
 * local server and drops it afterwards, so suites never share state and a shared server stays clean.
 * PG_URL names the server (default postgres://postgres@127.0.0.1:5432/postgres). When it cannot be
 * reached, pgUnavailable() says why, and suites skip, printing it; PG_REQUIRED=1 makes that a failure.
 */
import { randomBytes } from 'node:crypto';
import pg from 'pg';

export const PG_ADMIN_URL = process.env.PG_URL ?? 'postgres://postgres@127.0.0.1:5432/postgres';

export interface ScratchDatabase {
  /** A URL of the new, empty database, as LEDGER_STORE takes it. */
  readonly url: string;
  readonly name: string;
  /** Ends every session on it, then drops it. Idempotent. */
  drop(): Promise<void>;
}

async function admin<T>(work: (client: pg.Client) => Promise<T>): Promise<T> {
  const client = new pg.Client({ connectionString: PG_ADMIN_URL, connectionTimeoutMillis: 3_000 });
  client.on('error', () => {});
  await client.connect();
  try {
    return await work(client);
  } finally {
    await client.end().catch(() => {});
  }
}

let reachable: Promise<string | undefined> | undefined;

/** Undefined when the server answers; otherwise why it cannot be used. Asked once per process. */
export function pgUnavailable(): Promise<string | undefined> {
  reachable ??= admin((client) => client.query('SELECT 1')).then(
    () => undefined,
    (error: Error) => `PostgreSQL at ${PG_ADMIN_URL} is not reachable: ${error.message}`,
  );
  return reachable;
}

/**
 * For a suite that needs the server: true when it is there. Otherwise prints the reason and
 * answers false (skip), or, with PG_REQUIRED=1, exits the run with a failure.
 */
export async function pgAvailableOrSkip(suiteName: string): Promise<boolean> {
  const why = await pgUnavailable();
  if (why === undefined) return true;
  if (process.env.PG_REQUIRED === '1') {
    console.error(`PG_REQUIRED=1 but ${why} (${suiteName})`);
    process.exit(1);
  }
  console.log(`${suiteName} skipped: ${why} (set PG_REQUIRED=1 to fail instead)`);
  return false;
}

export async function createScratchDatabase(): Promise<ScratchDatabase> {
  const name = `ledger_test_${randomBytes(6).toString('hex')}`;
  await admin((client) => client.query(`CREATE DATABASE ${name}`));
  const url = new URL(PG_ADMIN_URL);
  url.pathname = `/${name}`;
  let dropped: Promise<void> | undefined;
  return {
    url: url.toString(),
    name,
    drop: () =>
      (dropped ??= admin(async (client) => {
        await client.query(`DROP DATABASE IF EXISTS ${name} WITH (FORCE)`);
      })),
  };
}

/** Runs `work` with a scratch database, dropped afterwards whatever happens. */
export async function withScratchDatabase<T>(work: (database: ScratchDatabase) => Promise<T>): Promise<T> {
  const database = await createScratchDatabase();
  try {
    return await work(database);
  } finally {
    await database.drop();
  }
}

/** Ends every other session on a database (as an operator's pg_terminate_backend would): connection loss. */
export async function terminateBackends(database: string): Promise<number> {
  return admin(async (client) => {
    const { rows } = await client.query(
      'SELECT count(pg_terminate_backend(pid))::int AS n FROM pg_stat_activity WHERE datname = $1 AND pid <> pg_backend_pid()',
      [database],
    );
    return rows[0].n as number;
  });
}
