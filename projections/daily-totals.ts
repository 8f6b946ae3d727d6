/** Per UTC day (of metadata.recordedAt) and currency: orders created and payments captured, counted and summed. */
import { addMinorUnits } from '../src/domain/money.ts';
import { collection, defineProjection, recordedAtUtc } from './projection.ts';

export interface DailyTotals {
  readonly day: string;
  readonly currency: string;
  readonly ordersCreated: number;
  readonly amountOrdered: number;
  readonly paymentsCaptured: number;
  readonly amountCaptured: number;
}

export const days = collection<DailyTotals>('days');

/** "YYYY-MM-DD|CUR": key order is day then currency, so a date range is a key range. */
export const dayKey = (day: string, currency: string): string => `${day}|${currency}`;

function add(day: string, currency: string, delta: Omit<DailyTotals, 'day' | 'currency'>) {
  return days.change(dayKey(day, currency), (current) => ({
    day,
    currency,
    ordersCreated: (current?.ordersCreated ?? 0) + delta.ordersCreated,
    amountOrdered: addMinorUnits(current?.amountOrdered ?? 0, delta.amountOrdered),
    paymentsCaptured: (current?.paymentsCaptured ?? 0) + delta.paymentsCaptured,
    amountCaptured: addMinorUnits(current?.amountCaptured ?? 0, delta.amountCaptured),
  }));
}

export const dailyTotals = defineProjection({
  name: 'daily-totals',
  version: 1,
  on: {
    OrderCreated: (e) => [
      add(recordedAtUtc(e).slice(0, 10), e.event.data.currency, {
        ordersCreated: 1,
        amountOrdered: e.event.data.total,
        paymentsCaptured: 0,
        amountCaptured: 0,
      }),
    ],
    PaymentCaptured: (e) => [
      add(recordedAtUtc(e).slice(0, 10), e.event.data.currency, {
        ordersCreated: 0,
        amountOrdered: 0,
        paymentsCaptured: 1,
        amountCaptured: e.event.data.amount,
      }),
    ],
  },
});
