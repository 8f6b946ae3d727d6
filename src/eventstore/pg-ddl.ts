/**
 * Creates what is missing of a schema, one server at a time (servers starting together on an
 * empty database would race). The schema's marker table carries, as its comment, a digest of the
 * DDL that made it: a database already made by this DDL is left alone, so a start-up costs one
 * query, and a role with no right to create (a server running with only read and write rights on
 * a database its owner set up) can open it.
 */
import { createHash } from 'node:crypto';
import type pg from 'pg';

export async function createUnderLock(pool: pg.Pool, lock: bigint, ddl: string, marker: string): Promise<void> {
  const made = `order-ledger schema ${createHash('sha256').update(ddl).digest('hex')}`;
  const { rows } = await pool.query<{ made: string | null }>(
    "SELECT obj_description(to_regclass($1), 'pg_class') AS made",
    [marker],
  );
  if (rows[0]?.made === made) return;
  const client = await pool.connect();
  try {
    await client.query('BEGIN');
    await client.query('SELECT pg_advisory_xact_lock($1)', [lock.toString()]);
    await client.query(ddl);
    await client.query(`COMMENT ON TABLE ${marker} IS '${made}'`);
    await client.query('COMMIT');
  } catch (error) {
    await client.query('ROLLBACK').catch(() => {});
    throw error;
  } finally {
    client.release();
  }
}
