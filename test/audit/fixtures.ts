/**
 * Logs for audit tests, written by the real command handler on a SQLite file, with what the
 * audit should report computed independently: from the commands the test issued, by plain
 * arithmetic, never by reading the log back. Plus the tampering an attacker (or a bad
 * migration) could do to the file, done with SQL on the closed file.
 */
import { copyFileSync } from 'node:fs';
import { join } from 'node:path';
import Database from 'better-sqlite3';
import { prng } from '../../bench/seed-log.ts';
import { noOrderCounts, type OrderStatus } from '../../projections/order-status.ts';
import type { CurrencyTotals } from '../../src/audit/totals.ts';
import { createCommandHandler } from '../../src/commands/handler.ts';
import type { CapturePayment, CreateOrder } from '../../src/domain/commands.ts';
import type { OrderEvent } from '../../src/domain/events.ts';
import { openSqliteStore, type SqliteEventStore } from '../../src/eventstore/sqlite-store.ts';
import { sqliteLocation, type StoreLocation } from '../../src/eventstore/store-url.ts';
import type { JsonObject } from '../../src/eventstore/port.ts';
import { encodeEvent } from '../../src/events/codec.ts';
import { eventHash } from '../../src/events/hash-chain.ts';
import { sha256Hex } from '../../src/events/canonical.ts';
import { tempDir } from '../support/temp.ts';

export interface Issued {
  readonly command: CreateOrder | CapturePayment;
  /** Epoch ms the handler's clock showed: the event's metadata.recordedAt. */
  readonly at: number;
}

export interface Expected {
  readonly events: number;
  readonly streams: number;
  readonly orders: Record<OrderStatus, number>;
  readonly currencies: Record<string, CurrencyTotals>;
}

export interface Ledger {
  readonly path: string;
  readonly url: string;
  readonly issued: readonly Issued[];
  /** A fresh copy of the file, to tamper with without touching the original. */
  copy(label: string): string;
}

export const START = Date.parse('2024-03-01T00:00:00.000Z');
const STEP_MS = 61_000;
const CURRENCIES = ['EUR', 'USD', 'JPY'];

/** The commands of a plausible ledger: orders created, then paid in parts or in full, interleaved. */
export function planCommands(events: number, seed = 7): Issued[] {
  const random = prng(seed);
  const int = (min: number, max: number) => min + Math.floor(random() * (max - min + 1));
  const open: { orderId: string; currency: string; total: number; captured: number; payments: number }[] = [];
  const issued: Issued[] = [];
  let orders = 0;
  while (issued.length < events) {
    const at = START + issued.length * STEP_MS;
    if (open.length === 0 || random() < 0.4) {
      const orderId = `ord-${++orders}`;
      const lines = Array.from({ length: int(1, 3) }, (_, i) => ({
        sku: `SKU-${i}-${int(1, 99)}`,
        quantity: int(1, 4),
        unitPrice: int(0, 5_000),
      }));
      const currency = CURRENCIES[int(0, CURRENCIES.length - 1)]!;
      const total = lines.reduce((sum, line) => sum + line.quantity * line.unitPrice, 0);
      issued.push({
        command: { type: 'CreateOrder', orderId, customerId: `cust-${int(1, 300)}`, currency, lines },
        at,
      });
      if (total > 0) open.push({ orderId, currency, total, captured: 0, payments: 0 });
      continue;
    }
    const slot = int(0, open.length - 1);
    const order = open[slot]!;
    const outstanding = order.total - order.captured;
    const amount = random() < 0.4 ? outstanding : int(1, outstanding);
    order.captured += amount;
    issued.push({
      command: {
        type: 'CapturePayment',
        orderId: order.orderId,
        paymentId: `pay-${++order.payments}`,
        amount,
        currency: order.currency,
      },
      at,
    });
    if (order.captured === order.total) open.splice(slot, 1);
  }
  return issued;
}

/** What an audit of the log these commands wrote must say, up to `asOf` (epoch ms) if given. */
export function expectedOf(issued: readonly Issued[], asOf = Infinity): Expected {
  const orders = new Map<string, { total: number; captured: number }>();
  const currencies: Record<string, { ordered: bigint; captured: bigint; orders: number; payments: number }> = {};
  let events = 0;
  for (const { command, at } of issued) {
    if (at > asOf) continue;
    events += 1;
    const sums = (currencies[command.currency] ??= { ordered: 0n, captured: 0n, orders: 0, payments: 0 });
    if (command.type === 'CreateOrder') {
      const total = command.lines.reduce((sum, line) => sum + line.quantity * line.unitPrice, 0);
      orders.set(command.orderId, { total, captured: 0 });
      sums.ordered += BigInt(total);
      sums.orders += 1;
    } else if (command.type === 'CapturePayment') {
      orders.get(command.orderId)!.captured += command.amount;
      sums.captured += BigInt(command.amount);
      sums.payments += 1;
    }
  }
  const status = noOrderCounts();
  for (const { total, captured } of orders.values()) {
    if (captured >= total) status.paid += 1;
    else if (captured > 0) status.partially_paid += 1;
    else status.pending += 1;
  }
  return {
    events,
    streams: orders.size,
    orders: status,
    currencies: Object.fromEntries(
      Object.entries(currencies)
        .sort(([a], [b]) => a.localeCompare(b))
        .map(([code, s]) => {
          const captured = s.captured.toString();
          const totals = {
            ordered: s.ordered.toString(),
            captured,
            refunded: '0',
            net: captured,
            orders: s.orders,
            payments: s.payments,
            refunds: 0,
          };
          return [code, totals];
        }),
    ),
  };
}

/**
 * Runs the plan, many commands at a time but never two for one order at once, so each
 * stream's events come in the plan's order.
 */
export async function runPlan(
  issued: readonly Issued[],
  execute: (issued: Issued) => Promise<unknown>,
  window = 64,
): Promise<void> {
  let inFlight: Promise<unknown>[] = [];
  const busy = new Set<string>();
  for (const item of issued) {
    if (busy.has(item.command.orderId) || inFlight.length >= window) {
      await Promise.all(inFlight);
      inFlight = [];
      busy.clear();
    }
    busy.add(item.command.orderId);
    inFlight.push(execute(item));
  }
  await Promise.all(inFlight);
}

/** Through the real handler, each command with the plan's time on the handler's clock. */
export async function writeLedger(issued: readonly Issued[], path: string): Promise<void> {
  const store = openSqliteStore(path, { synchronous: 'OFF' });
  try {
    await runPlan(issued, ({ command, at }) =>
      createCommandHandler(store, { now: () => new Date(at) })(command, {
        clientId: 'audit-test',
        correlationId: `corr-${at}`,
        idempotencyKey: `key-${at}`,
      }),
    );
  } finally {
    await store.close();
  }
}

export async function buildLedger(events: number, label: string, seed?: number): Promise<Ledger> {
  const dir = tempDir(label);
  const path = join(dir, 'ledger.db');
  const issued = planCommands(events, seed);
  await writeLedger(issued, path);
  let copies = 0;
  return {
    path,
    url: `sqlite:${path}`,
    issued,
    copy(name) {
      const target = join(dir, `${name}-${++copies}.db`);
      copyFileSync(path, target);
      return target;
    },
  };
}

/** Runs `work` on the SQLite store at `path` (its location alongside), closing it afterwards. */
export async function onStore<T>(
  path: string,
  work: (store: SqliteEventStore, location: StoreLocation) => Promise<T>,
): Promise<T> {
  const store = openSqliteStore(path);
  try {
    return await work(store, sqliteLocation(path));
  } finally {
    await store.close();
  }
}

// ---- tampering, on a closed file ------------------------------------------------------------

export interface Row {
  position: number;
  id: string;
  stream: string;
  revision: number;
  type: string;
  data: JsonObject;
  metadata: JsonObject;
}

export function withFile<T>(path: string, work: (db: Database.Database) => T): T {
  const db = new Database(path);
  try {
    return work(db);
  } finally {
    db.close();
  }
}

export function rows(path: string, where = '1 = 1', ...params: unknown[]): Row[] {
  return withFile(path, (db) =>
    (
      db
        .prepare(
          `SELECT position, id, stream, revision, type, data, metadata FROM events WHERE ${where} ORDER BY position`,
        )
        .all(...params) as Record<string, unknown>[]
    ).map((r) => ({
      ...(r as unknown as Row),
      data: JSON.parse(r.data as string),
      metadata: JSON.parse(r.metadata as string),
    })),
  );
}

/** Rewrites one stored row's data and metadata as given (no re-hashing: what a careless edit does). */
export function rewrite(
  path: string,
  position: number,
  change: (row: Row) => { data?: JsonObject; metadata?: JsonObject },
): Row {
  const [row] = rows(path, 'position = ?', position);
  if (!row) throw new Error(`no event at position ${position}`);
  const next = { ...row, ...change(row) };
  withFile(path, (db) =>
    db
      .prepare('UPDATE events SET data = ?, metadata = ? WHERE position = ?')
      .run(JSON.stringify(next.data), JSON.stringify(next.metadata), position),
  );
  return next;
}

/** What a forger does after an edit: recomputes the event's own hash so that it verifies alone. */
export function rehash(path: string, position: number): void {
  rewrite(path, position, (row) => ({
    metadata: {
      ...row.metadata,
      hash: eventHash({
        streamId: row.stream,
        revision: BigInt(row.revision),
        type: row.type,
        data: row.data,
        metadata: row.metadata,
      }),
    },
  }));
}

/** Appends an event at the stream's next revision with a valid hash chain, straight into the table. */
export function insertEvent(path: string, stream: string, event: OrderEvent, id: string, recordedAt: string): Row {
  const last = rows(path, 'stream = ?', stream).at(-1);
  if (!last) throw new Error(`no stream ${stream}`);
  const revision = last.revision + 1;
  const record = encodeEvent({
    streamId: stream,
    revision: BigInt(revision),
    id,
    event,
    metadata: {
      schemaVersion: 1,
      recordedAt,
      clientId: 'intruder',
      correlationId: 'inserted',
      requestHash: sha256Hex(id),
      prevHash: last.metadata.hash as string,
    },
  });
  withFile(path, (db) =>
    db
      .prepare(
        'INSERT INTO events (id, stream, revision, type, data, metadata, created_at) VALUES (?, ?, ?, ?, ?, ?, ?)',
      )
      .run(
        record.id,
        stream,
        revision,
        record.type,
        JSON.stringify(record.data),
        JSON.stringify(record.metadata),
        recordedAt,
      ),
  );
  return rows(path, 'id = ?', id)[0]!;
}

export interface PartlyPaid {
  readonly stream: string;
  readonly orderId: string;
  readonly currency: string;
  readonly total: number;
  readonly captured: number;
  readonly lastPayment: Row;
}

/** An order with payments and room left for its last payment once more (so repeating it over-captures nothing). */
export function partlyPaidOrder(path: string): PartlyPaid {
  const orders = new Map<
    string,
    { orderId: string; currency: string; total: number; captured: number; lastPayment?: Row }
  >();
  for (const row of rows(path)) {
    if (row.type === 'OrderCreated') {
      orders.set(row.stream, {
        orderId: row.data.orderId as string,
        currency: row.data.currency as string,
        total: row.data.total as number,
        captured: 0,
      });
    } else if (row.type === 'PaymentCaptured') {
      const order = orders.get(row.stream)!;
      order.captured += row.data.amount as number;
      order.lastPayment = row;
    }
  }
  for (const [stream, order] of orders) {
    const { lastPayment } = order;
    if (lastPayment && order.captured + (lastPayment.data.amount as number) <= order.total)
      return { stream, ...order, lastPayment };
  }
  throw new Error('no partly paid order');
}

/** A PaymentCaptured on `order`, slipped into the file with a valid hash chain. */
export function insertCapture(
  path: string,
  order: PartlyPaid,
  payment: { paymentId: string; amount: number; currency?: string },
  id: string,
): Row {
  const data = { orderId: order.orderId, currency: order.currency, ...payment };
  return insertEvent(path, order.stream, { type: 'PaymentCaptured', data }, id, new Date().toISOString());
}

export function deleteEvent(path: string, position: number): void {
  withFile(path, (db) => db.prepare('DELETE FROM events WHERE position = ?').run(position));
}
