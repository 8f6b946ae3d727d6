/**
 * A scratch PostgreSQL database per benchmark contender, dropped afterwards, on the server that
 * LEDGER_BENCH_PG names (default: the local one the tests use).
 */
import { randomBytes } from 'node:crypto';
import pg from 'pg';

export const BENCH_PG = process.env.LEDGER_BENCH_PG ?? 'postgres://postgres@127.0.0.1:5432/postgres';

function withDatabase(url: string, database: string): string {
  const parsed = new URL(url);
  parsed.pathname = `/${database}`;
  return parsed.toString();
}

async function admin<T>(work: (client: pg.Client) => Promise<T>): Promise<T> {
  const client = new pg.Client({ connectionString: BENCH_PG });
  await client.connect();
  try {
    return await work(client);
  } finally {
    await client.end();
  }
}

/** Runs `work` with the URL of a fresh, empty database; drops it whatever happens. */
export async function withScratchDatabase<T>(label: string, work: (url: string) => Promise<T>): Promise<T> {
  const name = `ledger_bench_${label.replace(/\W/g, '_')}_${randomBytes(4).toString('hex')}`;
  await admin((client) => client.query(`CREATE DATABASE ${name}`));
  try {
    return await work(withDatabase(BENCH_PG, name));
  } finally {
    await admin((client) => client.query(`DROP DATABASE IF EXISTS ${name} WITH (FORCE)`));
  }
}
