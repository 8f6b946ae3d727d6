/**
 * The read-model database: checkpoints and documents of every projection, in the event file
 * itself for the SQLite store (one file to back up, one WAL) or in a file of their own.
 * Each projection's data is split into generations: the one being served ('active'), at most
 * one being built beside it ('building'), and old ones waiting to be deleted ('retired').
 */
import { mkdirSync } from 'node:fs';
import { dirname } from 'node:path';
import Database from 'better-sqlite3';
import type { DocumentIndex, Projection } from '../../projections/projection.ts';
import type { StoreLocation } from '../eventstore/store-url.ts';
import type { ReadModelLocation } from './read-model-store.ts';

export interface ReadModelDatabase {
  readonly db: Database.Database;
  /** Closes the connection if this module opened it; a connection it was handed stays open. */
  close(): void;
}

export interface ReadModelDatabaseOptions {
  /** How long a write waits for another process's write lock (the event store's or another runner's). */
  readonly busyTimeoutMs?: number;
  /**
   * SQLite's page cache for this connection (default: SQLite's 2 MB). A rebuild inserts documents
   * all over the table's B-tree; with too small a cache every batch re-reads the pages it writes.
   */
  readonly pageCacheMb?: number;
}

const SCHEMA = `
  CREATE TABLE IF NOT EXISTS rm_checkpoints (
    projection      TEXT    NOT NULL,
    generation      INTEGER NOT NULL,
    version         INTEGER NOT NULL,
    status          TEXT    NOT NULL CHECK (status IN ('building', 'active', 'retired')),
    position        INTEGER,            -- NULL: no event applied yet
    failed_position INTEGER,
    failure         TEXT,               -- JSON: stream, revision, message of the event that stopped it
    updated_at      TEXT    NOT NULL,
    PRIMARY KEY (projection, generation)
  );
  -- At most one generation served and one being built per projection, whichever process asks.
  CREATE UNIQUE INDEX IF NOT EXISTS rm_checkpoints_one_active ON rm_checkpoints (projection) WHERE status = 'active';
  CREATE UNIQUE INDEX IF NOT EXISTS rm_checkpoints_one_building ON rm_checkpoints (projection) WHERE status = 'building';

  CREATE TABLE IF NOT EXISTS rm_documents (
    projection TEXT    NOT NULL,
    generation INTEGER NOT NULL,
    collection TEXT    NOT NULL,
    key        TEXT    NOT NULL,
    doc        TEXT    NOT NULL,
    PRIMARY KEY (projection, generation, collection, key)
  );
`;

export function openReadModelDatabase(
  location: string | Database.Database,
  options: ReadModelDatabaseOptions = {},
): ReadModelDatabase {
  const owned = typeof location === 'string';
  if (owned && location !== ':memory:') mkdirSync(dirname(location), { recursive: true });
  const db = owned ? new Database(location, { timeout: options.busyTimeoutMs ?? 5_000 }) : location;
  if (owned) {
    db.pragma('journal_mode = WAL');
    // Read models are rebuildable from the log and their checkpoint commits with them, so a commit
    // lost to power failure is replayed, never half-applied: no fsync per batch needed.
    db.pragma('synchronous = NORMAL');
    if (options.pageCacheMb !== undefined) db.pragma(`cache_size = ${-Math.trunc(options.pageCacheMb * 1024)}`);
  }
  db.exec(SCHEMA);
  return {
    db,
    close: () => {
      if (owned && db.open) db.close();
    },
  };
}

/** The SQL expression for a document field; queries must use the very same text to hit the index. */
export const docField = (field: string): string => `json_extract(doc, '$.${field}')`;

/**
 * Partial indexes per (projection, generation, collection). A generation being built has none,
 * so a rebuild writes only the documents; its indexes are built in bulk, sorted, just before it
 * is swapped in — far cheaper than maintaining them one random insert at a time. Queries name
 * projection, collection and generation as literals so SQLite can match the partial index.
 * Names are checked by defineProjection, so quoting them as literals is safe.
 */
export function createIndexes(db: Database.Database, projection: Projection, generation: number): void {
  for (const index of projection.indexes) {
    const name = indexName(projection.name, generation, index);
    const columns = [...index.fields.map(docField), 'key'].join(', ');
    db.exec(
      `CREATE INDEX IF NOT EXISTS ${name} ON rm_documents (${columns}) WHERE ${generationFilter(projection.name, generation, index.collection)}`,
    );
  }
}

/** Drops whatever indexes a generation has (it may have been built by another version, with other indexes). */
export function dropIndexes(db: Database.Database, projection: string, generation: number): void {
  const prefix = generationIndexPrefix(projection, generation);
  const names = db
    .prepare(
      `SELECT name FROM sqlite_master WHERE type = 'index' AND tbl_name = 'rm_documents' AND substr(name, 1, ?) = ?`,
    )
    .pluck()
    .all(prefix.length, prefix) as string[];
  for (const name of names) db.exec(`DROP INDEX IF EXISTS ${name}`);
}

/** The WHERE terms of a generation's partial indexes, literally; a query must contain them to use one. */
export function generationFilter(projection: string, generation: number, collection: string): string {
  return `projection = '${projection}' AND collection = '${collection}' AND generation = ${generation}`;
}

export function indexName(projection: string, generation: number, index: DocumentIndex): string {
  return `${indexPrefix(projection, generation)}${index.collection}_${index.fields.join('_')}`.replace(/-/g, '_');
}

const indexPrefix = (projection: string, generation: number): string => `rmx_${projection}_g${Math.trunc(generation)}_`;

/** What every index name of a generation starts with. */
export const generationIndexPrefix = (projection: string, generation: number): string =>
  indexPrefix(projection, generation).replace(/-/g, '_');

/**
 * Where the read models live for a store: a SQLite log shares its file with them (one file to
 * back up, one WAL); a PostgreSQL log, its database (every server reads the same ones, and a
 * batch commits with its checkpoint); a memory log keeps them in memory; EventStoreDB, `readModelsPath`.
 */
export function readModelLocation(store: StoreLocation, readModelsPath: string): ReadModelLocation {
  if (store.kind === 'sqlite') return store.path;
  if (store.kind === 'postgres') return { postgres: store.connectionString };
  // A memory log starts empty on every run: read models kept in a file would be ahead of it.
  if (store.kind === 'memory') return ':memory:';
  return readModelsPath;
}
