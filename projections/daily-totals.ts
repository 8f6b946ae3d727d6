/**
 * Per UTC day (of metadata.recordedAt) and currency: orders created and payments captured,
 * counted and summed; once over every client's orders, and once per owner.
 */
import { addToSum, type MinorUnitSum } from '../src/domain/money.ts';
import { collection, defineProjection, ownerKey, recordedAtUtc, type EventOf } from './projection.ts';

export interface DailyTotals {
  readonly day: string;
  readonly currency: string;
  readonly ordersCreated: number;
  /** Sums across orders: decimal strings, exact at any size. */
  readonly amountOrdered: MinorUnitSum;
  readonly paymentsCaptured: number;
  readonly amountCaptured: MinorUnitSum;
}

/** Every client's activity, keyed by dayKey. */
export const days = collection<DailyTotals>('days');
/** One owner's activity, keyed by clientDayKey. */
export const clientDays = collection<DailyTotals>('client-days');

/** "YYYY-MM-DD|CUR": key order is day then currency, so a date range is a key range. */
export const dayKey = (day: string, currency: string): string => `${day}|${currency}`;
/** "<owner>|YYYY-MM-DD|CUR": one owner's date range is a key range too (ownerKey never holds '|'). */
export const clientDayKey = (clientId: string, day: string, currency: string): string =>
  `${ownerKey(clientId)}|${dayKey(day, currency)}`;

interface Delta {
  readonly ordersCreated: number;
  readonly amountOrdered: number;
  readonly paymentsCaptured: number;
  readonly amountCaptured: number;
}

function add(e: EventOf<'OrderCreated'> | EventOf<'PaymentCaptured'>, delta: Delta) {
  const day = recordedAtUtc(e).slice(0, 10);
  const { currency } = e.event.data;
  const update = (current: DailyTotals | undefined): DailyTotals => ({
    day,
    currency,
    ordersCreated: (current?.ordersCreated ?? 0) + delta.ordersCreated,
    amountOrdered: addToSum(current?.amountOrdered, delta.amountOrdered),
    paymentsCaptured: (current?.paymentsCaptured ?? 0) + delta.paymentsCaptured,
    amountCaptured: addToSum(current?.amountCaptured, delta.amountCaptured),
  });
  return [
    days.change(dayKey(day, currency), update),
    clientDays.change(clientDayKey(e.metadata.clientId, day, currency), update),
  ];
}

export const dailyTotals = defineProjection({
  name: 'daily-totals',
  // 2: sums are decimal strings; totals are also kept per owner (client-days).
  version: 2,
  on: {
    OrderCreated: (e) =>
      add(e, { ordersCreated: 1, amountOrdered: e.event.data.total, paymentsCaptured: 0, amountCaptured: 0 }),
    PaymentCaptured: (e) =>
      add(e, { ordersCreated: 0, amountOrdered: 0, paymentsCaptured: 1, amountCaptured: e.event.data.amount }),
  },
});
