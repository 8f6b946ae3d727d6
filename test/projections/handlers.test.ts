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
import { snapshot, type Snapshot } from './support.ts';

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
    metadata: {
      schemaVersion: 1,
      recordedAt,
      clientId: 'c',
      correlationId: 'x',
      requestHash: 'a'.repeat(64),
      prevHash: '',
      hash: 'b'.repeat(64),
    },
    createdAt: new Date(0),
  };
}

const created = (at: string, orderId: string, customerId: string, currency: string, total: number) =>
  event(at, {
    type: 'OrderCreated',
    data: { orderId, customerId, currency, lines: [{ sku: 'S', quantity: 1, unitPrice: total }], total },
  });
const captured = (at: string, orderId: string, paymentId: string, amount: number, currency: string) =>
  event(at, { type: 'PaymentCaptured', data: { orderId, paymentId, amount, currency } });

/** A payment entry of a direct capture (no hold first). */
const direct = (paymentId: string, amount: number, position: string, capturedAt: string) => ({
  ...{ authorization: 'none', authorized: 0, refunded: 0, refunds: [] },
  ...{ paymentId, amount, position, capturedAt },
});

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
  return { db, summary, docs: summary.failures.length === 0 ? await snapshot(db, chosen) : {} };
}

const docOf = (docs: Snapshot, projection: string, collection: string, key: string) =>
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
    authorized: 0,
    captured: 400,
    refunded: 0,
    net: 400,
    outstanding: 600,
    status: 'partially_paid',
    payments: [direct('pa1', 400, '3', '2024-05-02T08:00:00.000Z')],
    revision: '1',
    position: '3',
    createdAt: '2024-05-01T23:30:00.000Z',
    updatedAt: '2024-05-02T08:00:00.000Z',
  });
  assert.equal((docOf(docs, 'order-summary', orders.name, 'b') as { status: string }).status, 'pending');
  const all = await build(log, [orderSummary]);
  const a = docOf(all.docs, 'order-summary', orders.name, 'a') as {
    status: string;
    outstanding: number;
    revision: string;
    payments: unknown[];
  };
  assert.is(a.status, 'paid');
  assert.is(a.outstanding, 0);
  assert.is(a.revision, '2');
  assert.is(a.payments.length, 2);
  // Offsets and extra digits are normalised to UTC milliseconds, so documents sort and compare as text.
  assert.is(
    (docOf(all.docs, 'order-summary', orders.name, 'b') as { createdAt: string }).createdAt,
    '2024-05-01T22:30:00.000Z',
  );
  assert.is(
    (docOf(all.docs, 'order-summary', orders.name, 'z') as { status: string }).status,
    'paid',
    'a zero-total order owes nothing',
  );
});

test('customer-activity: orders counted, per-currency sums (decimal strings), captures via the order', async () => {
  const { docs } = await build(sampleLog(), [customerActivity]);
  const alice = {
    customerId: 'alice',
    orders: 2,
    cancelledOrders: 0,
    currencies: [
      { currency: 'EUR', ordered: '1000', captured: '1000', refunded: '0', net: '1000', cancelled: '0' },
      { currency: 'USD', ordered: '500', captured: '100', refunded: '0', net: '100', cancelled: '0' },
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
    refunds: 0,
    amountRefunded: '0',
    amountNet: paid,
    ordersCancelled: 0,
    amountCancelled: '0',
  });
  const expected = [
    row('2024-05-01', 'EUR', 1, '1000', 0, '0'),
    row('2024-05-01', 'USD', 1, '500', 0, '0'),
    row('2024-05-02', 'EUR', 1, '0', 2, '1000'),
    row('2024-05-03', 'USD', 0, '0', 1, '100'),
  ];
  const of = (collection: string) => docs['daily-totals']!.filter((d) => d.collection === collection);
  assert.equal(
    of(days.name).map((d) => d.doc),
    expected,
  );
  assert.equal(
    of(days.name).map((d) => d.key),
    ['2024-05-01|EUR', '2024-05-01|USD', '2024-05-02|EUR', '2024-05-03|USD'],
  );
  assert.equal(
    of(clientDays.name).map((d) => d.doc),
    expected,
    "client c's own totals: all of them",
  );
  assert.equal(
    of(clientDays.name).map((d) => d.key.split('|')[0]),
    ['c', 'c', 'c', 'c'],
  );
});

const capturedHold = (at: string, orderId: string, paymentId: string, amount: number) =>
  event(at, {
    type: 'PaymentCaptured',
    data: { orderId, paymentId, amount, currency: 'EUR', authorizationId: paymentId },
  });
const authorized = (at: string, orderId: string, paymentId: string, amount: number) =>
  event(at, { type: 'PaymentAuthorized', data: { orderId, paymentId, amount, currency: 'EUR' } });
const voided = (at: string, orderId: string, paymentId: string) =>
  event(at, { type: 'AuthorizationVoided', data: { orderId, paymentId } });
const refunded = (at: string, orderId: string, paymentId: string, refundId: string, amount: number) =>
  event(at, { type: 'PaymentRefunded', data: { orderId, paymentId, refundId, amount, currency: 'EUR' } });
const cancelled = (at: string, orderId: string) =>
  event(at, { type: 'OrderCancelled', data: { orderId, reason: 'changed mind' } });

/** Order m: held, captured in part, refunded in part; order n: held, then cancelled (its hold released). */
function moneyLifeLog(): LedgerEvent[] {
  position = 0n;
  revisions.clear();
  return [
    created('2024-06-01T10:00:00.000Z', 'm', 'carol', 'EUR', 1_000), // 1
    authorized('2024-06-01T10:01:00.000Z', 'm', 'a1', 600), // 2
    authorized('2024-06-01T10:02:00.000Z', 'm', 'a2', 300), // 3
    capturedHold('2024-06-01T10:03:00.000Z', 'm', 'a1', 500), // 4: a partial capture releases the rest
    voided('2024-06-01T10:04:00.000Z', 'm', 'a2'), // 5
    captured('2024-06-02T09:00:00.000Z', 'm', 'd1', 100, 'EUR'), // 6: direct
    refunded('2024-06-02T10:00:00.000Z', 'm', 'a1', 'r1', 200), // 7
    created('2024-06-02T11:00:00.000Z', 'n', 'carol', 'EUR', 50), // 8
    authorized('2024-06-02T11:01:00.000Z', 'n', 'b1', 50), // 9
    cancelled('2024-06-02T12:00:00.000Z', 'n'), // 10
  ];
}

test('order-summary: holds, captures of them, voids, refunds and cancellation; status at each step', async () => {
  const log = moneyLifeLog();
  const statusAfter = async (events: number, orderId: string) => {
    const { docs } = await build(log.slice(0, events), [orderSummary]);
    return docOf(docs, 'order-summary', orders.name, orderId) as Record<string, unknown>;
  };
  const pick = (o: Record<string, unknown>) => [o.status, o.authorized, o.captured, o.refunded, o.net, o.outstanding];
  assert.equal(pick(await statusAfter(1, 'm')), ['pending', 0, 0, 0, 0, 1_000]);
  assert.equal(pick(await statusAfter(3, 'm')), ['authorized', 900, 0, 0, 0, 1_000]);
  assert.equal(pick(await statusAfter(4, 'm')), ['partially_paid', 300, 500, 0, 500, 500]);
  assert.equal(pick(await statusAfter(6, 'm')), ['partially_paid', 0, 600, 0, 600, 400]);
  const m = await statusAfter(10, 'm');
  assert.equal(pick(m), ['partially_refunded', 0, 600, 200, 400, 600]);
  assert.equal(m.payments, [
    {
      paymentId: 'a1',
      authorization: 'captured',
      authorized: 600,
      amount: 500,
      refunded: 200,
      refunds: [{ refundId: 'r1', amount: 200, position: '7', refundedAt: '2024-06-02T10:00:00.000Z' }],
      position: '2',
      authorizedAt: '2024-06-01T10:01:00.000Z',
      capturedAt: '2024-06-01T10:03:00.000Z',
    },
    {
      paymentId: 'a2',
      authorization: 'voided',
      authorized: 300,
      amount: 0,
      refunded: 0,
      refunds: [],
      position: '3',
      authorizedAt: '2024-06-01T10:02:00.000Z',
      voidedAt: '2024-06-01T10:04:00.000Z',
    },
    direct('d1', 100, '6', '2024-06-02T09:00:00.000Z'),
  ]);
  const n = await statusAfter(10, 'n');
  assert.equal(pick(n), ['cancelled', 0, 0, 0, 0, 0]);
  assert.equal([n.cancelReason, n.cancelledAt, n.revision], ['changed mind', '2024-06-02T12:00:00.000Z', '2']);
  assert.is(
    (n.payments as { authorization: string }[])[0]!.authorization,
    'voided',
    'a cancellation releases its holds',
  );
});

test('order-summary: refunded in full is refunded; paid in full is paid', async () => {
  position = 0n;
  revisions.clear();
  const log = [
    created('2024-06-01T10:00:00.000Z', 'f', 'dan', 'EUR', 100),
    captured('2024-06-01T10:01:00.000Z', 'f', 'p1', 100, 'EUR'),
    refunded('2024-06-01T10:02:00.000Z', 'f', 'p1', 'r1', 40),
    refunded('2024-06-01T10:03:00.000Z', 'f', 'p1', 'r2', 60),
  ];
  const statusAfter = async (events: number) =>
    (
      (await build(log.slice(0, events), [orderSummary])).docs['order-summary']!.find((d) => d.key === 'f')!.doc as {
        status: string;
      }
    ).status;
  assert.equal(
    [await statusAfter(2), await statusAfter(3), await statusAfter(4)],
    ['paid', 'partially_refunded', 'refunded'],
  );
});

test('customer-activity and daily-totals: refunds, net and cancellations, per owner as well', async () => {
  const { docs } = await build(moneyLifeLog(), [customerActivity, dailyTotals]);
  const carol = {
    customerId: 'carol',
    orders: 2,
    cancelledOrders: 1,
    currencies: [{ currency: 'EUR', ordered: '1050', captured: '600', refunded: '200', net: '400', cancelled: '50' }],
    firstOrderAt: '2024-06-01T10:00:00.000Z',
    lastActivityAt: '2024-06-02T12:00:00.000Z',
    position: '10',
  };
  assert.equal(docOf(docs, 'customer-activity', customers.name, 'carol'), carol);
  assert.equal(docOf(docs, 'customer-activity', clientCustomers.name, 'c|carol'), carol);
  const day = (key: string) => docOf(docs, 'daily-totals', days.name, key);
  assert.equal(day('2024-06-01|EUR'), {
    day: '2024-06-01',
    currency: 'EUR',
    ordersCreated: 1,
    amountOrdered: '1000',
    paymentsCaptured: 1,
    amountCaptured: '500',
    refunds: 0,
    amountRefunded: '0',
    amountNet: '500',
    ordersCancelled: 0,
    amountCancelled: '0',
  });
  const second = {
    day: '2024-06-02',
    currency: 'EUR',
    ordersCreated: 1,
    amountOrdered: '50',
    paymentsCaptured: 1,
    amountCaptured: '100',
    refunds: 1,
    amountRefunded: '200',
    amountNet: '-100', // refunded more than it captured that day
    ordersCancelled: 1,
    amountCancelled: '50',
  };
  assert.equal(day('2024-06-02|EUR'), second);
  assert.equal(docOf(docs, 'daily-totals', clientDays.name, 'c|2024-06-02|EUR'), second);
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
  assert.equal(whale.currencies, [
    { currency: 'EUR', ordered: sum, captured: sum, refunded: '0', net: sum, cancelled: '0' },
  ]);
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
  assert.equal(await snapshot(db), one.docs);
});

test('a capture for an order the log never created stops the projection at that event', async () => {
  position = 0n;
  revisions.clear();
  const orphan = captured('2024-05-02T08:00:00.000Z', 'ghost', 'p1', 1, 'EUR');
  const { summary, db } = await build([orphan], [orderSummary]);
  assert.is(summary.failures.length, 1);
  assert.is(summary.failures[0]!.streamId, 'order-ghost');
  assert.match(summary.failures[0]!.message, /never created/);
  assert.is(
    db.prepare(`SELECT status FROM rm_checkpoints WHERE projection = 'order-summary'`).pluck().get(),
    'building',
    'not swapped in',
  );
});

function deepFreeze<T>(value: T): T {
  if (value !== null && typeof value === 'object') {
    for (const inner of Object.values(value)) deepFreeze(inner);
    Object.freeze(value);
  }
  return value;
}

test.run();
