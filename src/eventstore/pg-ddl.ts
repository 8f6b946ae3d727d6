/** Creates what is missing of a schema, one server at a time (servers starting together on an empty database would race). */
import type pg from 'pg';

export async function createUnderLock(pool: pg.Pool, lock: bigint, ddl: string): Promise<void> {
  const client = await pool.connect();
  try {
    await client.query('BEGIN');
    await client.query('SELECT pg_advisory_xact_lock($1)', [lock.toString()]);
    await client.query(ddl);
    await client.query('COMMIT');
  } catch (error) {
    await client.query('ROLLBACK').catch(() => {});
    throw error;
  } finally {
    client.release();
  }
}
