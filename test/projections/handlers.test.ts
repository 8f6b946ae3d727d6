/**
 * The projections' pure handlers: what each read model says about a handful of events, that the
 * handlers never change the documents they are given, and that the same events always give
 * the same documents (times come from the events, not the clock).
 */
import Database from 'better-sqlite3';
import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import { clientCustomers, customerActivity, customers } from '../../projections/customer-activity.ts';
import { clientDays, dailyTotals, days } from '../../projections/daily-totals.ts';
import { projections } from '../../projections/index.ts';
import { orderSummary, orders } from '../../projections/order-summary.ts';
import { ownerKey, type DocumentReader, type Projection } from '../../projections/projection.ts';
import type { OrderEvent } from '../../src/domain/events.ts';
import type { LedgerEvent } from '../../src/events/codec.ts';
import { rebuildInto } from '../../src/projections/rebuild.ts';
import { snapshot } from './support.ts';

const test = suite('projections: handlers');

let position = 0n;
const revisions = new Map<string, bigint>();

function event(recordedAt: string, body: OrderEvent): LedgerEvent {
  const streamId = `order-${body.data.orderId}`;
  const revision = (revisions.get(streamId) ?? -1n) + 1n;
  revisions.set(streamId, revision);
  position += 1n;
  return {
    id: `id-${position}`,
    streamId,
    revision,
    position,
    event: body,
    metadata: { schemaVersion: 1, recordedAt, clientId: 'c', correlationId: 'x', requestHash: 'a'.repeat(64), prevHash: '', hash: 'b'.repeat(64) },
    createdAt: new Date(0),
  };
}

const created = (at: string, orderId: string, customerId: string, currency: string, total: number) =>
  event(at, { type: 'OrderCreated', data: { orderId, customerId, currency, lines: [{ sku: 'S', quantity: 1, unitPrice: total }], total } });
const captured = (at: string, orderId: string, paymentId: string, amount: number, currency: string) =>
  event(at, { type: 'PaymentCaptured', data: { orderId, paymentId, amount, currency } });

function sampleLog(): LedgerEvent[] {
  position = 0n;
  revisions.clear();
  return [
    created('2024-05-01T23:30:00.000Z', 'a', 'alice', 'EUR', 1_000),
    created('2024-05-02T00:30:00.000+02:00', 'b', 'alice', 'USD', 500), // 2024-05-01T22:30Z: still May 1st in UTC
    captured('2024-05-02T08:00:00.000Z', 'a', 'pa1', 400, 'EUR'),
    created('2024-05-02T09:00:00.000Z', 'z', 'bob', 'EUR', 0),
    captured('2024-05-02T10:00:00.000Z', 'a', 'pa2', 600, 'EUR'),
    captured('2024-05-03T10:00:00.123456Z', 'b', 'pb1', 100, 'USD'),
  ];
}

async function build(events: readonly LedgerEvent[], chosen: readonly Projection[] = projections) {
  const db = new Database(':memory:');
  const summary = await rebuildInto(db, events, { projections: chosen, batchSize: 2 });
  // A rebuild whose handler failed is never swapped in: there is nothing served to list.
  return { db, summary, docs: summary.failures.length === 0 ? snapshot(db, chosen) : {} };
}

const docOf = (docs: ReturnType<typeof snapshot>, projection: string, collection: string, key: string) =>
  docs[projection]!.find((d) => d.collection === collection && d.key === key)?.doc;

test('order-summary: totals, status pending → partially_paid → paid, payments with position and time, revision', async () => {
  const log = sampleLog();
  const { docs } = await build(log.slice(0, 3), [orderSummary]);
  assert.equal(docOf(docs, 'order-summary', orders.name, 'a'), {
    orderId: 'a',
    clientId: 'c',
    customerId: 'alice',
    currency: 'EUR',
    total: 1_000,
    captured: 400,
    outstanding: 600,
    status: 'partially_paid',
    payments: [{ paymentId: 'pa1', amount: 400, position: '3', capturedAt: '2024-05-02T08:00:00.000Z' }],
    revision: '1',
    position: '3',
    createdAt: '2024-05-01T23:30:00.000Z',
    updatedAt: '2024-05-02T08:00:00.000Z',
  });
  assert.equal((docOf(docs, 'order-summary', orders.name, 'b') as { status: string }).status, 'pending');
  const all = await build(log, [orderSummary]);
  const a = docOf(all.docs, 'order-summary', orders.name, 'a') as { status: string; outstanding: number; revision: string; payments: unknown[] };
  assert.is(a.status, 'paid');
  assert.is(a.outstanding, 0);
  assert.is(a.revision, '2');
  assert.is(a.payments.length, 2);
  // Offsets and extra digits are normalised to UTC milliseconds, so documents sort and compare as text.
  assert.is((docOf(all.docs, 'order-summary', orders.name, 'b') as { createdAt: string }).createdAt, '2024-05-01T22:30:00.000Z');
  assert.is((docOf(all.docs, 'order-summary', orders.name, 'z') as { status: string }).status, 'paid', 'a zero-total order owes nothing');
});

test('customer-activity: orders counted, per-currency sums (decimal strings), captures via the order', async () => {
  const { docs } = await build(sampleLog(), [customerActivity]);
  const alice = {
    customerId: 'alice',
    orders: 2,
    currencies: [
      { currency: 'EUR', ordered: '1000', captured: '1000' },
      { currency: 'USD', ordered: '500', captured: '100' },
    ],
    firstOrderAt: '2024-05-01T23:30:00.000Z',
    lastActivityAt: '2024-05-03T10:00:00.123Z',
    position: '6',
  };
  assert.equal(docOf(docs, 'customer-activity', customers.name, 'alice'), alice);
  // Every event here is client c's, so c's own view of the customer is the same document.
  assert.equal(docOf(docs, 'customer-activity', clientCustomers.name, 'c|alice'), alice);
  assert.equal((docOf(docs, 'customer-activity', customers.name, 'bob') as { orders: number }).orders, 1);
});

test('daily-totals: per UTC day and currency, counts and sums', async () => {
  const { docs } = await build(sampleLog(), [dailyTotals]);
  const row = (day: string, currency: string, created: number, ordered: string, payments: number, paid: string) => ({
    day,
    currency,
    ordersCreated: created,
    amountOrdered: ordered,
    paymentsCaptured: payments,
    amountCaptured: paid,
  });
  const expected = [
    row('2024-05-01', 'EUR', 1, '1000', 0, '0'),
    row('2024-05-01', 'USD', 1, '500', 0, '0'),
    row('2024-05-02', 'EUR', 1, '0', 2, '1000'),
    row('2024-05-03', 'USD', 0, '0', 1, '100'),
  ];
  const of = (collection: string) => docs['daily-totals']!.filter((d) => d.collection === collection);
  assert.equal(of(days.name).map((d) => d.doc), expected);
  assert.equal(
    of(days.name).map((d) => d.key),
    ['2024-05-01|EUR', '2024-05-01|USD', '2024-05-02|EUR', '2024-05-03|USD'],
  );
  assert.equal(of(clientDays.name).map((d) => d.doc), expected, "client c's own totals: all of them");
  assert.equal(of(clientDays.name).map((d) => d.key.split('|')[0]), ['c', 'c', 'c', 'c']);
});

test('amounts an earlier version stored (up to 2^53 − 1) still project; their sums are exact past 2^53', async () => {
  position = 0n;
  revisions.clear();
  const max = Number.MAX_SAFE_INTEGER;
  const log = [
    created('2024-05-01T10:00:00.000Z', 'h1', 'whale', 'EUR', max),
    created('2024-05-01T11:00:00.000Z', 'h2', 'whale', 'EUR', max),
    captured('2024-05-01T12:00:00.000Z', 'h1', 'p1', max, 'EUR'),
    captured('2024-05-01T13:00:00.000Z', 'h2', 'p2', max, 'EUR'),
  ];
  const { summary, docs } = await build(log);
  assert.equal(summary.failures, []);
  const sum = String(2n * BigInt(max));
  const whale = docOf(docs, 'customer-activity', customers.name, 'whale') as { currencies: unknown[] };
  assert.equal(whale.currencies, [{ currency: 'EUR', ordered: sum, captured: sum }]);
  const day = docOf(docs, 'daily-totals', days.name, '2024-05-01|EUR') as Record<string, unknown>;
  assert.equal([day.amountOrdered, day.amountCaptured], [sum, sum]);
  assert.is((docOf(docs, 'order-summary', orders.name, 'h1') as { outstanding: number }).outstanding, 0);
});

test('owner key segments: distinct clients never share one, and none holds the separator', () => {
  const clients = ['alice', 'a|b', 'a%7Cb', 'a%b', '\ud800', 'x|2024-05-01|EUR'];
  const keys = clients.map(ownerKey);
  assert.is(new Set(keys).size, clients.length);
  assert.ok(keys.every((key) => !key.includes('|')));
  assert.is(ownerKey('alice'), 'alice');
});

test('handlers are pure: they never modify the documents they read or update', async () => {
  const store = new Map<string, unknown>();
  const reader: DocumentReader = { get: (collection, key) => store.get(`${collection}/${key}`) };
  for (const e of sampleLog()) {
    for (const projection of projections) {
      for (const change of projection.apply(e, reader)) {
        const id = `${change.collection}/${change.key}`;
        const before = deepFreeze(structuredClone(store.get(id)));
        // A frozen input throws on any write in strict mode (ES modules are strict).
        store.set(id, change.update(before));
      }
    }
  }
  assert.ok(store.size > 0);
});

test('the same events give the same documents, whatever the batch size', async () => {
  const one = await build(sampleLog());
  const db = new Database(':memory:');
  await rebuildInto(db, sampleLog(), { batchSize: 10_000 });
  assert.equal(snapshot(db), one.docs);
});

test('a capture for an order the log never created stops the projection at that event', async () => {
  position = 0n;
  revisions.clear();
  const orphan = captured('2024-05-02T08:00:00.000Z', 'ghost', 'p1', 1, 'EUR');
  const { summary, db } = await build([orphan], [orderSummary]);
  assert.is(summary.failures.length, 1);
  assert.is(summary.failures[0]!.streamId, 'order-ghost');
  assert.match(summary.failures[0]!.message, /never created/);
  assert.is(db.prepare(`SELECT status FROM rm_checkpoints WHERE projection = 'order-summary'`).pluck().get(), 'building', 'not swapped in');
});

function deepFreeze<T>(value: T): T {
  if (value !== null && typeof value === 'object') {
    for (const inner of Object.values(value)) deepFreeze(inner);
    Object.freeze(value);
  }
  return value;
}

test.run();
