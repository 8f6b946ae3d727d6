/**
 * The read models' tables in the log's PostgreSQL database, beside the events: checkpoints and
 * documents of every projection generation (the same layout as the SQLite file's, database.ts),
 * and the payment processor's checkpoint. Keys and collections sort in the "C" collation, byte
 * order, as SQLite's BINARY does, so both stores list documents in one order.
 */
import type pg from 'pg';
import { createUnderLock } from '../eventstore/pg-ddl.ts';
import type { DocumentIndex, Projection } from '../../projections/projection.ts';
import { generationFilter, generationIndexPrefix, indexName } from './database.ts';

/** Serialises schema creation and generation planning between servers starting together. */
export const READ_MODEL_LOCK = 7_310_554_211_015_102_002n;
/** Every batch commit notifies it, so reads waiting for a position elsewhere wake at once. */
export const READ_MODEL_CHANNEL = 'ledger_read_models';

const SCHEMA = `
  CREATE TABLE IF NOT EXISTS ledger_rm_checkpoints (
    projection      text        NOT NULL,
    generation      integer     NOT NULL,
    version         integer     NOT NULL,
    status          text        NOT NULL CHECK (status IN ('building', 'active', 'retired')),
    position        bigint,                -- NULL: no event applied yet
    failed_position bigint,
    failure         text,                  -- JSON: stream, revision, message of the event that stopped it
    updated_at      timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (projection, generation)
  );
  -- At most one generation served and one being built per projection, whichever server asks.
  CREATE UNIQUE INDEX IF NOT EXISTS ledger_rm_checkpoints_one_active
    ON ledger_rm_checkpoints (projection) WHERE status = 'active';
  CREATE UNIQUE INDEX IF NOT EXISTS ledger_rm_checkpoints_one_building
    ON ledger_rm_checkpoints (projection) WHERE status = 'building';

  -- json, not jsonb: the document's text is kept as written, so every read answers it byte for byte.
  CREATE TABLE IF NOT EXISTS ledger_rm_documents (
    projection text    NOT NULL,
    generation integer NOT NULL,
    collection text    COLLATE "C" NOT NULL,
    key        text    COLLATE "C" NOT NULL,
    doc        json    NOT NULL,
    PRIMARY KEY (projection, generation, collection, key)
  );

  CREATE TABLE IF NOT EXISTS ledger_payment_checkpoints (
    name       text        PRIMARY KEY,
    position   bigint      NOT NULL,
    updated_at timestamptz NOT NULL DEFAULT now()
  );
`;

export function ensureReadModelSchema(pool: pg.Pool): Promise<void> {
  return createUnderLock(pool, READ_MODEL_LOCK, SCHEMA, 'ledger_rm_documents');
}

/** The SQL expression for a document field; queries must use the very same text to hit the index. */
export const pgDocField = (field: string): string => `((doc ->> '${field}') COLLATE "C")`;

/** Partial indexes of one generation, as database.ts makes them in SQLite (names checked by defineProjection). */
/**
 * Creates what is missing only: CREATE INDEX IF NOT EXISTS takes a lock on the documents' table even
 * when the index is there, and planning runs at every start and replan of every server.
 */
export async function createPgIndexes(
  client: pg.ClientBase,
  projection: Projection,
  generation: number,
): Promise<void> {
  const existing = new Set(await indexesOf(client, projection.name, generation));
  for (const index of projection.indexes) {
    if (existing.has(indexName(projection.name, generation, index).toLowerCase())) continue;
    await client.query(createIndexSql(projection.name, generation, index));
  }
}

async function indexesOf(client: pg.ClientBase, projection: string, generation: number): Promise<string[]> {
  const prefix = generationIndexPrefix(projection, generation).toLowerCase();
  const { rows } = await client.query<{ name: string }>(
    `SELECT indexname AS name FROM pg_indexes WHERE tablename = 'ledger_rm_documents' AND starts_with(indexname, $1)`,
    [prefix],
  );
  return rows.map((row) => row.name);
}

function createIndexSql(projection: string, generation: number, index: DocumentIndex): string {
  const columns = [...index.fields.map(pgDocField), 'key'].join(', ');
  const name = indexName(projection, generation, index).toLowerCase();
  return `CREATE INDEX IF NOT EXISTS ${name} ON ledger_rm_documents (${columns}) WHERE ${generationFilter(projection, generation, index.collection)}`;
}

export async function dropPgIndexes(client: pg.ClientBase, projection: string, generation: number): Promise<void> {
  for (const name of await indexesOf(client, projection, generation))
    await client.query(`DROP INDEX IF EXISTS ${name}`);
}
