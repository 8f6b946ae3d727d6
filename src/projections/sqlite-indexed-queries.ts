/**
 * Pages along a projection's declared index, in SQLite. One statement per generation and query
 * shape: projection, collection and generation are literals, not parameters, so SQLite can match
 * the generation's partial index, which the statement also names.
 */
import type Database from 'better-sqlite3';
import { docField, generationFilter, indexName } from './database.ts';
import type { ServedQuery } from './read-model-store.ts';

type IndexedQuery = Extract<ServedQuery, { kind: 'indexed' }>;

export class IndexedQueries {
  private readonly statements = new Map<string, Database.Statement>();

  constructor(private readonly db: Database.Database) {}

  page(projection: string, generation: number, query: IndexedQuery): string[] {
    const params: unknown[] = query.equals.map(([, value]) => value);
    if (query.after) params.push(query.after[0], query.after[0], query.after[1]);
    params.push(query.limit);
    return this.statement(projection, generation, query).all(...params) as string[];
  }

  private statement(projection: string, generation: number, query: IndexedQuery): Database.Statement {
    const index = indexName(projection, generation, query.index);
    const id = `${generation}:${index}:${query.equals.map(([field]) => field).join()}:${query.after !== undefined}`;
    let statement = this.statements.get(id);
    if (statement) return statement;
    // A swap leaves the old generation's statements useless: forget them rather than grow.
    if (!this.statements.keys().next().value?.startsWith(`${generation}:`)) this.statements.clear();
    const fields = query.index.fields;
    const ordered = docField(fields[fields.length - 1]!);
    const where = [generationFilter(projection, generation, query.collection)];
    for (const [field] of query.equals) where.push(`${docField(field)} = ?`);
    // Spelled out rather than a row value `(field, key) > (?, ?)`, which SQLite cannot seek an expression index with.
    if (query.after) where.push(`${ordered} >= ? AND (${ordered} > ? OR key > ?)`);
    // Named, not left to the planner: without statistics it would rather sort the whole generation.
    statement = this.db
      .prepare(
        `SELECT doc FROM rm_documents INDEXED BY ${index} WHERE ${where.join(' AND ')} ORDER BY ${ordered}, key LIMIT ?`,
      )
      .pluck();
    this.statements.set(id, statement);
    return statement;
  }
}
