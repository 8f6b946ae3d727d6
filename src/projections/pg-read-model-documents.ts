/**
 * Documents in PostgreSQL: batch reads and writes by id (one statement each, the ids as arrays),
 * the reads the queries make of a served generation, and the listing a comparison merges.
 */
import type pg from 'pg';
import type { Queryable } from './pg-read-model-checkpoints.ts';
import type { StoredDocument } from './documents.ts';
import { pgDocField } from './pg-read-model-schema.ts';
import { generationFilter } from './database.ts';
import { type DocumentId, documentKey, type ServedQuery } from './read-model-store.ts';

interface At {
  readonly projection: string;
  readonly generation: number;
}

export async function readDocuments(
  client: Queryable,
  at: At,
  ids: readonly DocumentId[],
): Promise<Map<string, unknown>> {
  const { rows } = await client.query<{ collection: string; key: string; doc: string }>(
    `SELECT collection, key, doc::text AS doc FROM ledger_rm_documents
     WHERE projection = $1 AND generation = $2 AND (collection, key) IN (SELECT * FROM unnest($3::text[], $4::text[]))`,
    [at.projection, at.generation, ids.map((id) => id.collection), ids.map((id) => id.key)],
  );
  return new Map(rows.map((row) => [documentKey(row.collection, row.key), JSON.parse(row.doc)]));
}

/** Upserts; ids must be distinct (an upsert cannot touch a row twice). */
export async function putDocuments(
  client: Queryable,
  at: At,
  docs: ReadonlyArray<DocumentId & { readonly json: string }>,
): Promise<void> {
  if (docs.length === 0) return;
  await client.query(
    `INSERT INTO ledger_rm_documents (projection, generation, collection, key, doc)
     SELECT $1, $2, c, k, d::json FROM unnest($3::text[], $4::text[], $5::text[]) AS t(c, k, d)
     ON CONFLICT (projection, generation, collection, key) DO UPDATE SET doc = excluded.doc`,
    [at.projection, at.generation, docs.map((d) => d.collection), docs.map((d) => d.key), docs.map((d) => d.json)],
  );
}

export async function deleteDocuments(client: Queryable, at: At, ids: readonly DocumentId[]): Promise<void> {
  if (ids.length === 0) return;
  await client.query(
    `DELETE FROM ledger_rm_documents
     WHERE projection = $1 AND generation = $2 AND (collection, key) IN (SELECT * FROM unnest($3::text[], $4::text[]))`,
    [at.projection, at.generation, ids.map((id) => id.collection), ids.map((id) => id.key)],
  );
}

/** Deletes up to `limit` documents of a generation; returns how many went. */
export async function purgeDocuments(client: Queryable, at: At, limit: number): Promise<number> {
  const { rowCount } = await client.query(
    `DELETE FROM ledger_rm_documents WHERE ctid IN (
       SELECT ctid FROM ledger_rm_documents WHERE projection = $1 AND generation = $2 LIMIT $3)`,
    [at.projection, at.generation, limit],
  );
  return rowCount ?? 0;
}

/** The query's documents on a generation, as JSON text. */
export async function servedDocuments(client: Queryable, at: At, query: ServedQuery): Promise<string[]> {
  const texts = async (sql: string, values: unknown[]) =>
    (await client.query<{ doc: string }>(sql, values)).rows.map((row) => row.doc);
  switch (query.kind) {
    case 'document':
      return texts(
        `SELECT doc::text AS doc FROM ledger_rm_documents
         WHERE projection = $1 AND generation = $2 AND collection = $3 AND key = $4`,
        [at.projection, at.generation, query.collection, query.key],
      );
    case 'range':
      return texts(
        `SELECT doc::text AS doc FROM ledger_rm_documents
         WHERE projection = $1 AND generation = $2 AND collection = $3 AND key >= $4 AND key < $5 ORDER BY key`,
        [at.projection, at.generation, query.collection, query.low, query.high],
      );
    case 'indexed': {
      const values: unknown[] = [];
      const param = (value: unknown): string => {
        values.push(value);
        return `$${values.length}`;
      };
      const fields = query.index.fields;
      const ordered = pgDocField(fields[fields.length - 1]!);
      // Projection, collection and generation as literals (checked names, an integer), so the
      // planner can prove that the generation's partial index applies.
      const where = [generationFilter(at.projection, Math.trunc(at.generation), query.collection)];
      for (const [field, value] of query.equals) where.push(`${pgDocField(field)} = ${param(value)}`);
      if (query.after) where.push(`(${ordered}, key) > (${param(query.after[0])}, ${param(query.after[1])})`);
      return texts(
        `SELECT doc::text AS doc FROM ledger_rm_documents WHERE ${where.join(' AND ')}
         ORDER BY ${ordered}, key LIMIT ${param(query.limit)}`,
        values,
      );
    }
  }
}

const PAGE = 1_000;

/** Every document of a generation in (collection, key) order, a page at a time. */
export async function* listDocuments(pool: pg.Pool, at: At): AsyncGenerator<StoredDocument> {
  let after: [string, string] | undefined;
  for (;;) {
    const { rows } = await pool.query<{ collection: string; key: string; doc: string }>(
      `SELECT collection, key, doc::text AS doc FROM ledger_rm_documents
       WHERE projection = $1 AND generation = $2 AND ($3::text IS NULL OR (collection, key) > ($3, $4))
       ORDER BY collection, key LIMIT ${PAGE}`,
      [at.projection, at.generation, after?.[0] ?? null, after?.[1] ?? null],
    );
    for (const row of rows) yield { collection: row.collection, key: row.key, doc: JSON.parse(row.doc) };
    if (rows.length < PAGE) return;
    const last = rows[rows.length - 1]!;
    after = [last.collection, last.key];
  }
}
