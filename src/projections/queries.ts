/**
 * The read side's queries. Each runs in one read transaction: find the served generation, then
 * read its documents, so a swap by another process can never show a mix of two generations.
 * Every query is for one owner (a client id: only that client's orders count) or, with owner
 * undefined, for every client's.
 */
import type Database from 'better-sqlite3';
import {
  clientCustomers,
  customerActivity,
  customerOwnerKey,
  customers,
  type CustomerActivity,
} from '../../projections/customer-activity.ts';
import {
  clientDayKey,
  clientDays,
  dailyTotals,
  dayKey,
  days,
  type DailyTotals,
} from '../../projections/daily-totals.ts';
import { orderSummary, orders, type OrderStatus, type OrderSummary } from '../../projections/order-summary.ts';
import { ownerKey, type DocumentIndex, type Projection } from '../../projections/projection.ts';
import { Checkpoints, type ProjectionFailure } from './checkpoints.ts';
import { docField, generationFilter, indexName } from './database.ts';

/** The projection has no generation this read can use yet (its first build, or a rebuild, is still running). */
export class ProjectionNotServingError extends Error {
  override readonly name = 'ProjectionNotServingError';
  constructor(
    readonly projection: string,
    why = 'has not finished its first build yet',
  ) {
    super(`${projection} ${why}`);
  }
}

/** A handler of the projection threw: it stopped at that event, and what it serves is stale until it is fixed. */
export class ProjectionFailedError extends Error {
  override readonly name = 'ProjectionFailedError';
  constructor(
    readonly projection: string,
    readonly failure: ProjectionFailure,
  ) {
    const where = `${failure.streamId}@${failure.revision} (position ${failure.position})`;
    super(`${projection} stopped at ${where}: ${failure.message}`);
  }
}

export class InvalidCursorError extends Error {
  override readonly name = 'InvalidCursorError';
}

/** Whose orders a read covers: a client id, or undefined for every client's. */
export type Owner = string | undefined;

export interface OrderListQuery {
  readonly owner: Owner;
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
      doc: db
        .prepare('SELECT doc FROM rm_documents WHERE projection = ? AND generation = ? AND collection = ? AND key = ?')
        .pluck(),
      range: db
        .prepare(
          'SELECT doc FROM rm_documents WHERE projection = ? AND generation = ? AND collection = ? AND key >= ? AND key < ? ORDER BY key',
        )
        .pluck(),
    };
  }

  /** Throws ProjectionFailedError when one of these projections is stopped by a failing handler. */
  checkNotFailed(projections: readonly string[]): void {
    for (const name of projections) {
      const { failure } = this.checkpoints.served(name);
      if (failure) throw new ProjectionFailedError(name, failure);
    }
  }

  /** Another owner's order is absent, exactly like one that does not exist. */
  order(orderId: string, owner: Owner): OrderSummary | undefined {
    const order = this.read(orderSummary, owner, (generation) =>
      this.doc(orderSummary.name, generation, orders.name, orderId),
    ) as OrderSummary | undefined;
    return owner === undefined || order?.clientId === owner ? order : undefined;
  }

  customer(customerId: string, owner: Owner): CustomerActivity | undefined {
    return this.read(customerActivity, owner, (generation) =>
      owner === undefined
        ? this.doc(customerActivity.name, generation, customers.name, customerId)
        : this.doc(customerActivity.name, generation, clientCustomers.name, customerOwnerKey(owner, customerId)),
    ) as CustomerActivity | undefined;
  }

  /** Days from `from` to `to` inclusive (YYYY-MM-DD), in day then currency order; days without activity are absent. */
  daily(from: string, to: string, currency: string | undefined, owner: Owner): DailyTotals[] {
    // '|~' sorts after every "|CUR" suffix, so a range ends after the last currency of `to`.
    const [collection, low, high] =
      owner === undefined
        ? [days.name, dayKey(from, ''), `${to}|~`]
        : [clientDays.name, clientDayKey(owner, from, ''), `${ownerKey(owner)}|${to}|~`];
    const texts = this.read(dailyTotals, owner, (generation) =>
      this.statements.range.all(dailyTotals.name, generation, collection, low, high),
    ) as string[];
    const rows = texts.map((text) => JSON.parse(text) as DailyTotals);
    return currency === undefined ? rows : rows.filter((row) => row.currency === currency);
  }

  /** Orders in (createdAt, orderId) order, keyset-paginated: a page never repeats or skips an order that existed before it. */
  orders(query: OrderListQuery): Page<OrderSummary> {
    const after = query.cursor === undefined ? undefined : decodeCursor(query.cursor);
    const filter = {
      owner: query.owner !== undefined,
      customer: query.customerId !== undefined,
      status: query.status !== undefined,
    };
    const texts = this.read(orderSummary, query.owner, (generation) => {
      const params: unknown[] = [];
      if (query.owner !== undefined) params.push(query.owner);
      if (query.customerId !== undefined) params.push(query.customerId);
      if (query.status !== undefined) params.push(query.status);
      if (after) params.push(after[0], after[0], after[1]);
      params.push(query.limit + 1);
      return this.listStatement(generation, filter, after !== undefined).all(...params);
    }) as string[];
    const items = texts.slice(0, query.limit).map((text) => JSON.parse(text) as OrderSummary);
    const last = items[items.length - 1];
    return texts.length > query.limit && last
      ? { items, nextCursor: encodeCursor([last.createdAt, last.orderId]) }
      : { items };
  }

  private doc(projection: string, generation: number, collection: string, key: string): unknown {
    const text = this.statements.doc.get(projection, generation, collection, key) as string | undefined;
    return text === undefined ? undefined : JSON.parse(text);
  }

  private read<T>(projection: Projection, owner: Owner, query: (generation: number) => T): T {
    return this.db.transaction(() => {
      const { active, failure } = this.checkpoints.served(projection.name);
      if (failure) throw new ProjectionFailedError(projection.name, failure);
      if (!active) throw new ProjectionNotServingError(projection.name);
      // Generations built by older code do not record owners: only a read of every client's data may use them.
      if (owner !== undefined && active.version < projection.version) {
        const why = `is being rebuilt (version ${active.version} to ${projection.version})`;
        throw new ProjectionNotServingError(projection.name, why);
      }
      return query(active.generation);
    })();
  }

  /**
   * One statement per generation and filter combination. Projection, collection and generation
   * are literals, not parameters, so SQLite can match the generation's partial indexes; the
   * filtered field leads the index.
   */
  private listStatement(generation: number, by: ListFilter, afterCursor: boolean): Database.Statement {
    const id = `${generation}:${by.owner}${by.customer}${by.status}${afterCursor}`;
    let statement = this.listStatements.get(id);
    if (!statement) {
      // A swap leaves the old generation's statements useless: forget them rather than grow.
      if (!this.listStatements.keys().next().value?.startsWith(`${generation}:`)) this.listStatements.clear();
      const createdAt = docField('createdAt');
      const where = [generationFilter(orderSummary.name, generation, orders.name)];
      if (by.owner) where.push(`${docField('clientId')} = ?`);
      if (by.customer) where.push(`${docField('customerId')} = ?`);
      if (by.status) where.push(`${docField('status')} = ?`);
      // Spelled out rather than a row value `(createdAt, key) > (?, ?)`, which SQLite cannot seek an expression index with.
      if (afterCursor) where.push(`${createdAt} >= ? AND (${createdAt} > ? OR key > ?)`);
      // Named, not left to the planner: without statistics it would rather sort the whole generation.
      const index = indexName(orderSummary.name, generation, orderIndex(by));
      statement = this.db
        .prepare(
          `SELECT doc FROM rm_documents INDEXED BY ${index} WHERE ${where.join(' AND ')} ORDER BY ${createdAt}, key LIMIT ?`,
        )
        .pluck();
      this.listStatements.set(id, statement);
    }
    return statement;
  }
}

interface ListFilter {
  readonly owner: boolean;
  readonly customer: boolean;
  readonly status: boolean;
}

/** order-summary's index for a filter: the owner, then the customer or else the status, then createdAt. */
function orderIndex(by: ListFilter): DocumentIndex {
  const field = by.customer ? 'customerId' : by.status ? 'status' : undefined;
  const wanted = [...(by.owner ? ['clientId'] : []), ...(field === undefined ? [] : [field]), 'createdAt'];
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
    if (Array.isArray(value) && value.length === 2 && value.every((part) => typeof part === 'string'))
      return value as [string, string];
  } catch {
    // reported below
  }
  throw new InvalidCursorError('cursor is not one this API returned');
}
