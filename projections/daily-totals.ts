/**
 * Per UTC day (of metadata.recordedAt) and currency: orders created and cancelled, payments
 * captured and refunded, counted and summed, and the day's net (captured − refunded); once over
 * every client's orders, and once per owner.
 */
import { addToSum, subtractSums, type MinorUnitSum } from '../src/domain/money.ts';
import { collection, defineProjection, ownerKey, recordedAtUtc, type EventOf } from './projection.ts';

export interface DailyTotals {
  readonly day: string;
  readonly currency: string;
  readonly ordersCreated: number;
  /** Sums across orders: decimal strings, exact at any size. */
  readonly amountOrdered: MinorUnitSum;
  readonly paymentsCaptured: number;
  readonly amountCaptured: MinorUnitSum;
  readonly refunds: number;
  readonly amountRefunded: MinorUnitSum;
  /** amountCaptured − amountRefunded: negative on a day that refunded more than it captured. */
  readonly amountNet: MinorUnitSum;
  readonly ordersCancelled: number;
  /** The totals of the orders cancelled that day. */
  readonly amountCancelled: MinorUnitSum;
}

/** Every client's activity, keyed by dayKey. */
export const days = collection<DailyTotals>('days');
/** One owner's activity, keyed by clientDayKey. */
export const clientDays = collection<DailyTotals>('client-days');
/** Cancellations name neither currency nor total; this private lookup does, per order. */
const orderTotals = collection<{ readonly currency: string; readonly total: number }>('order-totals');

/** "YYYY-MM-DD|CUR": key order is day then currency, so a date range is a key range. */
export const dayKey = (day: string, currency: string): string => `${day}|${currency}`;
/** "<owner>|YYYY-MM-DD|CUR": one owner's date range is a key range too (ownerKey never holds '|'). */
export const clientDayKey = (clientId: string, day: string, currency: string): string =>
  `${ownerKey(clientId)}|${dayKey(day, currency)}`;

type Counted = 'ordersCreated' | 'paymentsCaptured' | 'refunds' | 'ordersCancelled';
type Summed = 'amountOrdered' | 'amountCaptured' | 'amountRefunded' | 'amountCancelled';
type Delta = { readonly [K in Counted | Summed]?: number };

type DayEvent = EventOf<'OrderCreated' | 'PaymentCaptured' | 'PaymentRefunded' | 'OrderCancelled'>;

function add(e: DayEvent, currency: string, delta: Delta) {
  const day = recordedAtUtc(e).slice(0, 10);
  const count = (current: DailyTotals | undefined, k: Counted) => (current?.[k] ?? 0) + (delta[k] ?? 0);
  const sum = (current: DailyTotals | undefined, k: Summed) => addToSum(current?.[k], delta[k] ?? 0);
  const update = (current: DailyTotals | undefined): DailyTotals => {
    const amountCaptured = sum(current, 'amountCaptured');
    const amountRefunded = sum(current, 'amountRefunded');
    return {
      day,
      currency,
      ordersCreated: count(current, 'ordersCreated'),
      amountOrdered: sum(current, 'amountOrdered'),
      paymentsCaptured: count(current, 'paymentsCaptured'),
      amountCaptured,
      refunds: count(current, 'refunds'),
      amountRefunded,
      amountNet: subtractSums(amountCaptured, amountRefunded),
      ordersCancelled: count(current, 'ordersCancelled'),
      amountCancelled: sum(current, 'amountCancelled'),
    };
  };
  return [
    days.change(dayKey(day, currency), update),
    clientDays.change(clientDayKey(e.metadata.clientId, day, currency), update),
  ];
}

function orderOf(e: DayEvent, docs: Parameters<typeof orderTotals.get>[0]) {
  const order = orderTotals.get(docs, e.event.data.orderId);
  if (!order) throw new Error(`${e.event.type} for order ${e.event.data.orderId}, which was never created`);
  return order;
}

export const dailyTotals = defineProjection({
  name: 'daily-totals',
  // 2: sums are decimal strings; totals are also kept per owner (client-days).
  // 3: refunds, net and cancellations.
  version: 3,
  on: {
    OrderCreated: (e) => {
      const { orderId, currency, total } = e.event.data;
      return [
        orderTotals.put(orderId, { currency, total }),
        ...add(e, currency, { ordersCreated: 1, amountOrdered: total }),
      ];
    },
    PaymentCaptured: (e) => add(e, e.event.data.currency, { paymentsCaptured: 1, amountCaptured: e.event.data.amount }),
    PaymentRefunded: (e, docs) =>
      add(e, orderOf(e, docs).currency, { refunds: 1, amountRefunded: e.event.data.amount }),
    OrderCancelled: (e, docs) => {
      const order = orderOf(e, docs);
      return add(e, order.currency, { ordersCancelled: 1, amountCancelled: order.total });
    },
  },
});
