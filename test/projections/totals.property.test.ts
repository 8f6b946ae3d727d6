/**
 * Property: on a random log of 10,000 events written through the real command handler, the read
 * models' totals equal the totals computed directly from the log — per currency, per customer,
 * per day, per order — whatever the mix of customers, currencies, partial and full captures,
 * and whatever batch size the runner uses.
 */
import fc from 'fast-check';
import { suite } from 'uvu';
import { prng } from '../../bench/seed-log.ts';
import * as assert from 'uvu/assert';
import type { CustomerActivity } from '../../projections/customer-activity.ts';
import type { DailyTotals } from '../../projections/daily-totals.ts';
import type { OrderSummary } from '../../projections/order-summary.ts';
import { statusOf } from '../../projections/order-summary.ts';
import { createCommandHandler } from '../../src/commands/handler.ts';
import { openMemoryStore } from '../../src/eventstore/memory-store.ts';
import type { EventStore } from '../../src/eventstore/port.ts';
import { startProjections } from '../../src/projections/service.ts';
import { context } from '../support/commands.ts';
import { caughtUp, decodedLog, snapshot } from './support.ts';

const test = suite('projections: totals equal the log (property)');
const EVENTS = 10_000;

interface Knobs {
  readonly seed: number;
  readonly customers: number;
  readonly currencies: readonly string[];
  /** Chance that the next command creates an order rather than capturing on an open one. */
  readonly createRate: number;
  /** Chance that a capture settles everything outstanding rather than a part. */
  readonly settleRate: number;
  readonly hoursPerCommand: number;
  readonly batchSize: number;
}

const knobs: fc.Arbitrary<Knobs> = fc.record({
  seed: fc.integer(),
  customers: fc.integer({ min: 1, max: 400 }),
  currencies: fc.subarray(['EUR', 'USD', 'JPY', 'GBP', 'CHF'], { minLength: 1 }),
  createRate: fc.double({ min: 0.2, max: 0.8, noNaN: true }),
  settleRate: fc.double({ min: 0, max: 1, noNaN: true }),
  hoursPerCommand: fc.double({ min: 0, max: 0.5, noNaN: true }),
  batchSize: fc.integer({ min: 1, max: 3_000 }),
});

/** Writes EVENTS events through the command handler, choosing each command from a seeded PRNG. */
async function writeRandomLog(store: EventStore, k: Knobs): Promise<void> {
  const random = prng(k.seed);
  const pick = <T>(items: readonly T[]): T => items[Math.floor(random() * items.length)]!;
  let clock = Date.parse('2024-01-01T00:00:00.000Z');
  const handle = createCommandHandler(store, {
    now: () => new Date((clock += random() * k.hoursPerCommand * 3_600_000)),
  });
  const open: Array<{ orderId: string; currency: string; outstanding: number; payments: number }> = [];
  for (let written = 0, orders = 0; written < EVENTS; written++) {
    if (open.length === 0 || random() < k.createRate) {
      const orderId = `o${++orders}`;
      const currency = pick(k.currencies);
      const lines = Array.from({ length: 1 + Math.floor(random() * 3) }, () => ({
        sku: `S${Math.floor(random() * 50)}`,
        quantity: 1 + Math.floor(random() * 4),
        // Zero-priced lines too: a zero-total order is paid from the start.
        unitPrice: Math.floor(random() * 5) === 0 ? 0 : 1 + Math.floor(random() * 10_000),
      }));
      const outcome = await handle(
        { type: 'CreateOrder', orderId, customerId: `c${Math.floor(random() * k.customers)}`, currency, lines },
        context(),
      );
      const total = (outcome.events[0]!.event.data as { total: number }).total;
      if (total > 0) open.push({ orderId, currency, outstanding: total, payments: 0 });
      continue;
    }
    const index = Math.floor(random() * open.length);
    const order = open[index]!;
    const amount = random() < k.settleRate ? order.outstanding : 1 + Math.floor(random() * order.outstanding);
    await handle(
      {
        type: 'CapturePayment',
        orderId: order.orderId,
        paymentId: `p${++order.payments}`,
        amount,
        currency: order.currency,
      },
      context(),
    );
    order.outstanding -= amount;
    if (order.outstanding === 0) open.splice(index, 1);
  }
}

/** The expected read models, straight from the log with plain loops (no projection code). */
async function totalsFromLog(store: EventStore) {
  const byCurrency = new Map<string, { ordered: number; captured: number; orders: number; payments: number }>();
  const byCustomer = new Map<
    string,
    { orders: number; currencies: Map<string, { ordered: number; captured: number }> }
  >();
  const byDay = new Map<
    string,
    { ordersCreated: number; amountOrdered: number; paymentsCaptured: number; amountCaptured: number }
  >();
  const byOrder = new Map<string, { customerId: string; total: number; captured: number; payments: number }>();
  for await (const e of decodedLog(store)) {
    const day = new Date(e.metadata.recordedAt).toISOString().slice(0, 10);
    if (e.event.type === 'OrderCreated') {
      const { orderId, customerId, currency, total } = e.event.data;
      byOrder.set(orderId, { customerId, total, captured: 0, payments: 0 });
      const c = byCurrency.get(currency) ?? { ordered: 0, captured: 0, orders: 0, payments: 0 };
      byCurrency.set(currency, { ...c, ordered: c.ordered + total, orders: c.orders + 1 });
      const customer = byCustomer.get(customerId) ?? { orders: 0, currencies: new Map() };
      const t = customer.currencies.get(currency) ?? { ordered: 0, captured: 0 };
      customer.currencies.set(currency, { ...t, ordered: t.ordered + total });
      byCustomer.set(customerId, { ...customer, orders: customer.orders + 1 });
      const d = byDay.get(`${day}|${currency}`) ?? {
        ordersCreated: 0,
        amountOrdered: 0,
        paymentsCaptured: 0,
        amountCaptured: 0,
      };
      byDay.set(`${day}|${currency}`, {
        ...d,
        ordersCreated: d.ordersCreated + 1,
        amountOrdered: d.amountOrdered + total,
      });
    } else if (e.event.type === 'PaymentCaptured') {
      const { orderId, currency, amount } = e.event.data;
      const order = byOrder.get(orderId)!;
      byOrder.set(orderId, { ...order, captured: order.captured + amount, payments: order.payments + 1 });
      const c = byCurrency.get(currency)!;
      byCurrency.set(currency, { ...c, captured: c.captured + amount, payments: c.payments + 1 });
      const t = byCustomer.get(order.customerId)!.currencies.get(currency)!;
      byCustomer.get(order.customerId)!.currencies.set(currency, { ...t, captured: t.captured + amount });
      const d = byDay.get(`${day}|${currency}`) ?? {
        ordersCreated: 0,
        amountOrdered: 0,
        paymentsCaptured: 0,
        amountCaptured: 0,
      };
      byDay.set(`${day}|${currency}`, {
        ...d,
        paymentsCaptured: d.paymentsCaptured + 1,
        amountCaptured: d.amountCaptured + amount,
      });
    }
  }
  return { byCurrency, byCustomer, byDay, byOrder };
}

test('read-model totals equal the totals computed from a random 10,000-event log', async () => {
  await fc.assert(
    fc.asyncProperty(knobs, async (k) => {
      const store = openMemoryStore();
      const running = await startProjections({ store, readModels: ':memory:', batchSize: k.batchSize });
      try {
        await writeRandomLog(store, k);
        await caughtUp(running, store, 60_000);
        const expected = await totalsFromLog(store);
        const docs = await snapshot(running.readModels);
        const orders = docs['order-summary']!.filter((d) => d.collection === 'orders').map(
          (d) => d.doc as OrderSummary,
        );
        // Sums are decimal strings; these logs stay far below 2^53, so numbers compare them exactly.
        const customers = docs['customer-activity']!.filter((d) => d.collection === 'customers')
          .map((d) => d.doc as CustomerActivity)
          .map((c) => ({
            ...c,
            // Nothing in these logs is refunded or cancelled: net is what was captured.
            currencies: c.currencies.map(({ refunded, net, cancelled, ...t }) => {
              assert.equal([refunded, net, cancelled], ['0', t.captured, '0']);
              return { ...t, ordered: Number(t.ordered), captured: Number(t.captured) };
            }),
          }));
        const days = docs['daily-totals']!.filter((d) => d.collection === 'days')
          .map((d) => d.doc as DailyTotals)
          .map(({ refunds, amountRefunded, amountNet, ordersCancelled, amountCancelled, ...d }) => {
            assert.equal(
              [refunds, amountRefunded, amountNet, ordersCancelled, amountCancelled],
              [0, '0', d.amountCaptured, 0, '0'],
            );
            return { ...d, amountOrdered: Number(d.amountOrdered), amountCaptured: Number(d.amountCaptured) };
          });

        // Per order.
        assert.is(orders.length, expected.byOrder.size);
        for (const order of orders) {
          const want = expected.byOrder.get(order.orderId)!;
          assert.equal(
            [order.customerId, order.total, order.captured, order.outstanding, order.status, order.payments.length],
            [
              want.customerId,
              want.total,
              want.captured,
              want.total - want.captured,
              statusOf({ total: want.total, authorized: 0, captured: want.captured, refunded: 0, cancelled: false }),
              want.payments,
            ],
            `order ${order.orderId}`,
          );
        }
        // Per customer and currency.
        assert.is(customers.length, expected.byCustomer.size);
        for (const customer of customers) {
          const want = expected.byCustomer.get(customer.customerId)!;
          assert.is(customer.orders, want.orders);
          const wantCurrencies = [...want.currencies]
            .sort(([a], [b]) => (a < b ? -1 : 1))
            .map(([currency, t]) => ({ currency, ...t }));
          assert.equal(customer.currencies, wantCurrencies, `customer ${customer.customerId}`);
        }
        // Per day and currency.
        assert.equal(
          Object.fromEntries(days.map(({ day, currency, ...totals }) => [`${day}|${currency}`, totals])),
          Object.fromEntries(expected.byDay),
        );
        // And the grand totals per currency, from each read model independently.
        for (const [currency, want] of expected.byCurrency) {
          const inOrders = orders.filter((o) => o.currency === currency);
          assert.is(
            inOrders.reduce((s, o) => s + o.total, 0),
            want.ordered,
          );
          assert.is(
            inOrders.reduce((s, o) => s + o.captured, 0),
            want.captured,
          );
          const inDays = days.filter((d) => d.currency === currency);
          assert.is(
            inDays.reduce((s, d) => s + d.amountOrdered, 0),
            want.ordered,
          );
          assert.is(
            inDays.reduce((s, d) => s + d.amountCaptured, 0),
            want.captured,
          );
          assert.is(
            inDays.reduce((s, d) => s + d.paymentsCaptured, 0),
            want.payments,
          );
          const inCustomers = customers.flatMap((c) => c.currencies.filter((t) => t.currency === currency));
          assert.is(
            inCustomers.reduce((s, t) => s + t.captured, 0),
            want.captured,
          );
        }
        assert.is(Number(await store.headPosition()), EVENTS);
      } finally {
        await running.close();
        await store.close();
      }
    }),
    { numRuns: 4, endOnFailure: true },
  );
});

test.run();
