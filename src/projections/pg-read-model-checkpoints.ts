/**
 * Checkpoint rows in PostgreSQL, as checkpoints.ts keeps them in SQLite: the position moves only
 * by compare-and-set inside the batch's transaction, so a batch another runner already applied
 * changes nothing.
 */
import type pg from 'pg';

/** A pool for a statement of its own, or a client inside a transaction. */
export type Queryable = pg.Pool | pg.ClientBase;
import type { Projection } from '../../projections/projection.ts';
import {
  failureFrom,
  failureText,
  type GenerationRow,
  type GenerationStatus,
  type ProjectionFailure,
} from './checkpoints.ts';

interface Row {
  projection: string;
  generation: number;
  version: number;
  status: GenerationStatus;
  position: string | null;
  failed_position: string | null;
  failure: string | null;
  updated_at: Date;
}

const COLUMNS = 'projection, generation, version, status, position, failed_position, failure, updated_at';

export async function allGenerations(client: Queryable): Promise<GenerationRow[]> {
  const { rows } = await client.query<Row>(
    `SELECT ${COLUMNS} FROM ledger_rm_checkpoints ORDER BY projection, generation`,
  );
  return rows.map(toGeneration);
}

export async function generationsOf(client: Queryable, projection: string): Promise<GenerationRow[]> {
  const { rows } = await client.query<Row>(
    `SELECT ${COLUMNS} FROM ledger_rm_checkpoints WHERE projection = $1 ORDER BY generation`,
    [projection],
  );
  return rows.map(toGeneration);
}

/** The fence: only the runner that saw `from` may move it, and only while the generation is live. */
export async function advance(
  client: Queryable,
  at: { projection: string; generation: number },
  from: bigint | undefined,
  to: bigint | undefined,
): Promise<boolean> {
  const { rowCount } = await client.query(
    `UPDATE ledger_rm_checkpoints SET position = $4::bigint, failed_position = NULL, failure = NULL, updated_at = now()
     WHERE projection = $1 AND generation = $2 AND position IS NOT DISTINCT FROM $3::bigint AND status <> 'retired'`,
    [at.projection, at.generation, from?.toString() ?? null, to?.toString() ?? null],
  );
  return rowCount === 1;
}

export async function fail(
  client: Queryable,
  projection: string,
  generation: number,
  failure: ProjectionFailure,
): Promise<void> {
  const text = failureText(failure);
  await client.query(
    `UPDATE ledger_rm_checkpoints SET failed_position = $3, failure = $4, updated_at = now()
     WHERE projection = $1 AND generation = $2`,
    [projection, generation, failure.position.toString(), text],
  );
}

/** A new, empty generation to build beside the served one; call inside the planning transaction. */
export async function createBuilding(client: Queryable, projection: Projection): Promise<number> {
  const { rows } = await client.query<{ generation: number }>(
    `INSERT INTO ledger_rm_checkpoints (projection, generation, version, status)
     SELECT $1, coalesce(max(generation), 0) + 1, $2, 'building' FROM ledger_rm_checkpoints WHERE projection = $1
     RETURNING generation`,
    [projection.name, projection.version],
  );
  return rows[0]!.generation;
}

export async function setStatus(
  client: Queryable,
  projection: string,
  generation: number,
  from: GenerationStatus,
  to: GenerationStatus,
): Promise<boolean> {
  const { rowCount } = await client.query(
    `UPDATE ledger_rm_checkpoints SET status = $4, updated_at = now()
     WHERE projection = $1 AND generation = $2 AND status = $3`,
    [projection, generation, from, to],
  );
  return rowCount === 1;
}

/** The swap: the old served generation retires and the built one is served, in the caller's transaction. */
export async function swap(client: Queryable, projection: string, generation: number): Promise<boolean> {
  const { rowCount } = await client.query(
    `SELECT 1 FROM ledger_rm_checkpoints WHERE projection = $1 AND generation = $2 AND status = 'building' FOR UPDATE`,
    [projection, generation],
  );
  if (rowCount !== 1) return false;
  await client.query(
    `UPDATE ledger_rm_checkpoints SET status = 'retired', updated_at = now() WHERE projection = $1 AND status = 'active'`,
    [projection],
  );
  return setStatus(client, projection, generation, 'building', 'active');
}

export async function remove(client: Queryable, projection: string, generation: number): Promise<void> {
  await client.query('DELETE FROM ledger_rm_checkpoints WHERE projection = $1 AND generation = $2', [
    projection,
    generation,
  ]);
}

function toGeneration(row: Row): GenerationRow {
  return {
    projection: row.projection,
    generation: row.generation,
    version: row.version,
    status: row.status,
    position: row.position === null ? undefined : BigInt(row.position),
    failure: failureFrom(row.failure, row.failed_position === null ? null : BigInt(row.failed_position)),
    updatedAt: row.updated_at.toISOString(),
  };
}
