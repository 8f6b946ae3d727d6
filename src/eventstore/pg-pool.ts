/** A pool for one of the PostgreSQL adapters, its schema made before it is handed out. */
import pg from 'pg';
import { pgStoreError } from './pg-errors.ts';

/** Opens the pool and makes the schema; a failure is a typed error and leaves no connection open. */
export async function openSchemaPool(
  connection: pg.ClientConfig,
  max: number,
  ensureSchema: (pool: pg.Pool) => Promise<void>,
): Promise<pg.Pool> {
  const pool = new pg.Pool({ ...connection, max });
  // An idle connection the server dropped is removed from the pool; the next query opens another.
  pool.on('error', () => {});
  try {
    await ensureSchema(pool);
  } catch (error) {
    await pool.end().catch(() => {});
    throw pgStoreError(error);
  }
  return pool;
}
