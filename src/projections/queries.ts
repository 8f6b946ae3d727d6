/**
 * The read side's queries. Each runs in one read transaction: find the served generation, then
 * read its documents, so a swap by another process can never show a mix of two generations.
 */
import type Database from 'better-sqlite3';
import { customerActivity, customers, type CustomerActivity } from '../../projections/customer-activity.ts';
import { dailyTotals, dayKey, days, type DailyTotals } from '../../projections/daily-totals.ts';
import { orderSummary, orders, type OrderStatus, type OrderSummary } from '../../projections/order-summary.ts';
import { Checkpoints } from './checkpoints.ts';
import type { DocumentIndex } from '../../projections/projection.ts';
import { docField, generationFilter, indexName } from './database.ts';

/** The projection has no served generation yet (its first build is still running). */
export class ProjectionNotServingError extends Error {
  override readonly name = 'ProjectionNotServingError';
  constructor(readonly projection: string) {
    super(`${projection} has not finished its first build yet`);
  }
}

export class InvalidCursorError extends Error {
  override readonly name = 'InvalidCursorError';
}

export interface OrderListQuery {
  readonly customerId?: string;
  readonly status?: OrderStatus;
  readonly limit: number;
  readonly cursor?: string;
}

export interface Page<T> {
  readonly items: T[];
  /** Opaque; absent on the last page. */
  readonly nextCursor?: string;
}

export class ReadModelQueries {
  private readonly checkpoints: Checkpoints;
  private readonly statements;
  private readonly listStatements = new Map<string, Database.Statement>();

  constructor(private readonly db: Database.Database) {
    this.checkpoints = new Checkpoints(db);
    this.statements = {
      doc: db.prepare('SELECT doc FROM rm_documents WHERE projection = ? AND generation = ? AND collection = ? AND key = ?').pluck(),
      range: db
        .prepare('SELECT doc FROM rm_documents WHERE projection = ? AND generation = ? AND collection = ? AND key >= ? AND key < ? ORDER BY key')
        .pluck(),
    };
  }

  order(orderId: string): OrderSummary | undefined {
    return this.read(orderSummary.name, (generation) => this.doc(orderSummary.name, generation, orders.name, orderId)) as OrderSummary | undefined;
  }

  customer(customerId: string): CustomerActivity | undefined {
    return this.read(customerActivity.name, (generation) => this.doc(customerActivity.name, generation, customers.name, customerId)) as
      | CustomerActivity
      | undefined;
  }

  /** Days from `from` to `to` inclusive (YYYY-MM-DD), in day then currency order; days without activity are absent. */
  daily(from: string, to: string, currency?: string): DailyTotals[] {
    const texts = this.read(dailyTotals.name, (generation) =>
      // '|~' sorts after every "|CUR" suffix, so the range ends after the last currency of `to`.
      this.statements.range.all(dailyTotals.name, generation, days.name, dayKey(from, ''), `${to}|~`),
    ) as string[];
    const rows = texts.map((text) => JSON.parse(text) as DailyTotals);
    return currency === undefined ? rows : rows.filter((row) => row.currency === currency);
  }

  /** Orders in (createdAt, orderId) order, keyset-paginated: a page never repeats or skips an order that existed before it. */
  orders(query: OrderListQuery): Page<OrderSummary> {
    const after = query.cursor === undefined ? undefined : decodeCursor(query.cursor);
    const texts = this.read(orderSummary.name, (generation) => {
      const params: unknown[] = [];
      if (query.customerId !== undefined) params.push(query.customerId);
      if (query.status !== undefined) params.push(query.status);
      if (after) params.push(after[0], after[0], after[1]);
      params.push(query.limit + 1);
      return this.listStatement(generation, query.customerId !== undefined, query.status !== undefined, after !== undefined).all(...params);
    }) as string[];
    const items = texts.slice(0, query.limit).map((text) => JSON.parse(text) as OrderSummary);
    const last = items[items.length - 1];
    return texts.length > query.limit && last ? { items, nextCursor: encodeCursor([last.createdAt, last.orderId]) } : { items };
  }

  private doc(projection: string, generation: number, collection: string, key: string): unknown {
    const text = this.statements.doc.get(projection, generation, collection, key) as string | undefined;
    return text === undefined ? undefined : JSON.parse(text);
  }

  private read<T>(projection: string, query: (generation: number) => T): T {
    return this.db.transaction(() => {
      const served = this.checkpoints.active(projection);
      if (!served) throw new ProjectionNotServingError(projection);
      return query(served.generation);
    })();
  }

  /**
   * One statement per generation and filter combination. Projection, collection and generation
   * are literals, not parameters, so SQLite can match the generation's partial indexes; the
   * filtered field leads the index.
   */
  private listStatement(generation: number, byCustomer: boolean, byStatus: boolean, afterCursor: boolean): Database.Statement {
    const id = `${generation}:${byCustomer}${byStatus}${afterCursor}`;
    let statement = this.listStatements.get(id);
    if (!statement) {
      // A swap leaves the old generation's statements useless: forget them rather than grow.
      if (!this.listStatements.keys().next().value?.startsWith(`${generation}:`)) this.listStatements.clear();
      const createdAt = docField('createdAt');
      const where = [generationFilter(orderSummary.name, generation, orders.name)];
      if (byCustomer) where.push(`${docField('customerId')} = ?`);
      if (byStatus) where.push(`${docField('status')} = ?`);
      // Spelled out rather than a row value `(createdAt, key) > (?, ?)`, which SQLite cannot seek an expression index with.
      if (afterCursor) where.push(`${createdAt} >= ? AND (${createdAt} > ? OR key > ?)`);
      // Named, not left to the planner: without statistics it would rather sort the whole generation.
      const index = indexName(orderSummary.name, generation, orderIndex(byCustomer ? 'customerId' : byStatus ? 'status' : undefined));
      statement = this.db
        .prepare(`SELECT doc FROM rm_documents INDEXED BY ${index} WHERE ${where.join(' AND ')} ORDER BY ${createdAt}, key LIMIT ?`)
        .pluck();
      this.listStatements.set(id, statement);
    }
    return statement;
  }
}

/** order-summary's index led by `field` (then createdAt), or its createdAt index. */
function orderIndex(field: string | undefined): DocumentIndex {
  const wanted = field === undefined ? ['createdAt'] : [field, 'createdAt'];
  const index = orderSummary.indexes.find((i) => i.collection === orders.name && i.fields.join() === wanted.join());
  if (!index) throw new Error(`order-summary declares no index on ${wanted.join(', ')}`);
  return index;
}

function encodeCursor(position: [string, string]): string {
  return Buffer.from(JSON.stringify(position)).toString('base64url');
}

function decodeCursor(cursor: string): [string, string] {
  try {
    const value: unknown = JSON.parse(Buffer.from(cursor, 'base64url').toString('utf8'));
    if (Array.isArray(value) && value.length === 2 && value.every((part) => typeof part === 'string')) return value as [string, string];
  } catch {
    // reported below
  }
  throw new InvalidCursorError('cursor is not one this API returned');
}
