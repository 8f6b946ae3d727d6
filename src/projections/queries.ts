/**
 * The read side's queries. Each runs in one read transaction: find the served generation, then
 * read its documents, so a swap by another process can never show a mix of two generations.
 * Every query is for one owner (a client id: only that client's orders count) or, with owner
 * undefined, for every client's.
 */
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
import { type GenerationRow, servedFrom, type ProjectionFailure } from './checkpoints.ts';
import type { ReadModelStore, ServedQuery } from './read-model-store.ts';

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
  constructor(private readonly store: ReadModelStore) {}

  /** Throws ProjectionFailedError when one of these projections is stopped by a failing handler. */
  async checkNotFailed(projections: readonly string[]): Promise<void> {
    const rows = await this.store.generations();
    for (const name of projections) {
      const { failure } = servedFrom(rows.filter((row) => row.projection === name));
      if (failure) throw new ProjectionFailedError(name, failure);
    }
  }

  /** Another owner's order is absent, exactly like one that does not exist. */
  async order(orderId: string, owner: Owner): Promise<OrderSummary | undefined> {
    const [order] = await this.read<OrderSummary>(orderSummary, owner, {
      kind: 'document',
      collection: orders.name,
      key: orderId,
    });
    return owner === undefined || order?.clientId === owner ? order : undefined;
  }

  async customer(customerId: string, owner: Owner): Promise<CustomerActivity | undefined> {
    const [customer] = await this.read<CustomerActivity>(
      customerActivity,
      owner,
      owner === undefined
        ? { kind: 'document', collection: customers.name, key: customerId }
        : { kind: 'document', collection: clientCustomers.name, key: customerOwnerKey(owner, customerId) },
    );
    return customer;
  }

  /** Days from `from` to `to` inclusive (YYYY-MM-DD), in day then currency order; days without activity are absent. */
  async daily(from: string, to: string, currency: string | undefined, owner: Owner): Promise<DailyTotals[]> {
    // '|~' sorts after every "|CUR" suffix, so a range ends after the last currency of `to`.
    const [collection, low, high] =
      owner === undefined
        ? [days.name, dayKey(from, ''), `${to}|~`]
        : [clientDays.name, clientDayKey(owner, from, ''), `${ownerKey(owner)}|${to}|~`];
    const rows = await this.read<DailyTotals>(dailyTotals, owner, { kind: 'range', collection, low, high });
    return currency === undefined ? rows : rows.filter((row) => row.currency === currency);
  }

  /** Orders in (createdAt, orderId) order, keyset-paginated: a page never repeats or skips an order that existed before it. */
  async orders(query: OrderListQuery): Promise<Page<OrderSummary>> {
    const after = query.cursor === undefined ? undefined : decodeCursor(query.cursor);
    const filter = {
      owner: query.owner !== undefined,
      customer: query.customerId !== undefined,
      status: query.status !== undefined,
    };
    const equals: Array<[string, string]> = [];
    if (query.owner !== undefined) equals.push(['clientId', query.owner]);
    if (query.customerId !== undefined) equals.push(['customerId', query.customerId]);
    if (query.status !== undefined) equals.push(['status', query.status]);
    const found = await this.read<OrderSummary>(orderSummary, query.owner, {
      kind: 'indexed',
      collection: orders.name,
      index: orderIndex(filter),
      equals,
      after,
      limit: query.limit + 1,
    });
    const items = found.slice(0, query.limit);
    const last = items[items.length - 1];
    return found.length > query.limit && last
      ? { items, nextCursor: encodeCursor([last.createdAt, last.orderId]) }
      : { items };
  }

  /** The served generation and the query on it come from one snapshot, so a swap never shows a mix of two. */
  private async read<T>(projection: Projection, owner: Owner, query: ServedQuery): Promise<T[]> {
    // Generations built by older code do not record owners: only a read of every client's data may use them.
    const usable = (active: GenerationRow) => owner === undefined || active.version >= projection.version;
    const { active, failure, documents } = await this.store.readServed(projection.name, query, usable);
    if (failure) throw new ProjectionFailedError(projection.name, failure);
    if (!active) throw new ProjectionNotServingError(projection.name);
    if (!usable(active)) {
      const why = `is being rebuilt (version ${active.version} to ${projection.version})`;
      throw new ProjectionNotServingError(projection.name, why);
    }
    return documents.map((text) => JSON.parse(text) as T);
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

function encodeCursor(position: readonly [string, string]): string {
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
