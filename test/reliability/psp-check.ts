/**
 * The payment buffer's books, checked three ways: what the clients were told (202s), what the
 * ledger recorded (requests, captures through the PSP, declines) and what the PSP really did (the
 * stand-in's charges). Exactly once means: each 202 has one request and one outcome; each real
 * charge is one recorded capture naming it, and the other way round; no order over its total.
 */
import type { EventStore } from '../../src/eventstore/port.ts';
import { KEY_BOUND_TYPE } from '../../src/events/binding-codec.ts';
import { decodeEvent } from '../../src/events/codec.ts';
import type { RealCharge } from '../support/stripe-stand-in.ts';
import type { AsyncClientRecord } from './async-payment-client.ts';

export interface PspRunSummary {
  accepted: number;
  refused: number;
  captured: number;
  declined: number;
  psp_charges: number;
  ledger_psp_captures: number;
  /** A payment charged more than once by the PSP, or captured more than once in the ledger. */
  double_charged: number;
  /** A 202 without its PaymentRequested in the log. */
  lost: number;
  /** A 202 whose payment has no outcome at the end. */
  unresolved: number;
  /** A real charge the ledger does not record as that payment's capture (or a capture naming no charge). */
  unmatched: number;
  /** Both a capture and a decline, or two declines, for one payment. */
  conflicting: number;
  over_captured: number;
  /** A duplicate that was not answered as its original (202). */
  duplicate_wrong: number;
  /** A client gave up without a definite answer. */
  gave_up: number;
  /** A definite answer other than 202 or the 409 of a request beyond what is outstanding. */
  unexpected: number;
  retried: number;
  kills: number;
  resets: number;
  webhooks: number;
  events: number;
}

type PaymentBooks = { requested: number; captures: string[]; declines: number };

export async function checkPsp(
  store: EventStore,
  records: readonly AsyncClientRecord[],
  charges: readonly RealCharge[],
  run: { kills: number; resets: number; webhooks: number },
): Promise<PspRunSummary> {
  const books = new Map<string, PaymentBooks>();
  const orders = new Map<string, { total: number; captured: number }>();
  const bookOf = (orderId: string, paymentId: string) => {
    const name = `${orderId}|${paymentId}`;
    let entry = books.get(name);
    if (!entry) books.set(name, (entry = { requested: 0, captures: [], declines: 0 }));
    return entry;
  };
  let events = 0;
  for await (const record of store.readAll()) {
    if (record.type === KEY_BOUND_TYPE) continue;
    const { event } = decodeEvent(record);
    events += 1;
    switch (event.type) {
      case 'OrderCreated':
        orders.set(event.data.orderId, { total: event.data.total, captured: 0 });
        break;
      case 'PaymentRequested':
        bookOf(event.data.orderId, event.data.paymentId).requested += 1;
        break;
      case 'PaymentCaptured': {
        const order = orders.get(event.data.orderId);
        if (order) order.captured += event.data.amount;
        if (event.data.pspReference !== undefined) {
          bookOf(event.data.orderId, event.data.paymentId).captures.push(event.data.pspReference);
        }
        break;
      }
      case 'PaymentDeclined':
        bookOf(event.data.orderId, event.data.paymentId).declines += 1;
        break;
      default:
        break;
    }
  }

  const chargesByPayment = new Map<string, RealCharge[]>();
  const chargesByKey = new Map<string, number>();
  for (const charge of charges) {
    const name = `${charge.metadata.orderId}|${charge.metadata.paymentId}`;
    chargesByPayment.set(name, [...(chargesByPayment.get(name) ?? []), charge]);
    chargesByKey.set(charge.idempotencyKey, (chargesByKey.get(charge.idempotencyKey) ?? 0) + 1);
  }

  const payments = records.flatMap((r) => r.payments);
  const accepted = payments.filter((p) => p.status === 202);
  const name = (p: { orderId: string; paymentId: string }) => `${p.orderId}|${p.paymentId}`;
  const ledgerCaptures = [...books.values()].reduce((n, b) => n + b.captures.length, 0);
  const doubleCharged = new Set<string>([
    ...[...chargesByPayment].filter(([, list]) => list.length > 1).map(([payment]) => payment),
    ...[...books].filter(([, b]) => b.captures.length > 1).map(([payment]) => payment),
  ]);
  const repeatedKeys = [...chargesByKey.values()].filter((n) => n > 1).length;
  // Every real charge is recorded as its payment's one capture, naming that charge; and every recorded capture
  // names a real charge of that payment.
  let unmatched = 0;
  for (const [payment, list] of chargesByPayment) {
    const recorded = books.get(payment)?.captures ?? [];
    if (!list.every((charge) => recorded.includes(charge.intentId))) unmatched += 1;
  }
  for (const [payment, book] of books) {
    const real = (chargesByPayment.get(payment) ?? []).map((c) => c.intentId);
    if (!book.captures.every((reference) => real.includes(reference))) unmatched += 1;
  }
  return {
    accepted: accepted.length,
    refused: payments.filter((p) => p.status !== undefined && p.status !== 202).length,
    captured: accepted.filter((p) => p.final?.status === 'captured').length,
    declined: accepted.filter((p) => p.final?.status === 'declined').length,
    psp_charges: charges.length,
    ledger_psp_captures: ledgerCaptures,
    double_charged: doubleCharged.size + repeatedKeys,
    lost: accepted.filter((p) => (books.get(name(p))?.requested ?? 0) !== 1).length,
    unresolved: accepted.filter((p) => {
      const book = books.get(name(p));
      return p.final === undefined || !book || book.captures.length + book.declines === 0;
    }).length,
    unmatched,
    conflicting: [...books.values()].filter((b) => b.captures.length + b.declines > 1).length,
    over_captured: [...orders.values()].filter((o) => o.captured > o.total).length,
    duplicate_wrong: accepted.filter((p) => p.duplicateStatus !== 202).length,
    gave_up: payments.filter((p) => p.status === undefined).length,
    unexpected: payments.filter((p) => p.status !== undefined && p.status !== 202 && p.status !== 409).length,
    retried: records.reduce((n, r) => n + r.retries, 0),
    ...run,
    events,
  };
}

/** The three headline fields first, then the rest. */
export function pspSummaryLine(scenario: string, summary: PspRunSummary): string {
  const { double_charged, lost, over_captured, ...rest } = summary;
  const fields = Object.entries({ double_charged, lost, over_captured, ...rest }).map(([k, v]) => `${k}=${v}`);
  return `reliability scenario=${scenario} ${fields.join(' ')}`;
}

/** The fields that must be 0 for the run to prove exactly-once charging. */
export const PSP_MUST_BE_ZERO = [
  'double_charged',
  'lost',
  'unresolved',
  'unmatched',
  'conflicting',
  'over_captured',
  'duplicate_wrong',
  'gave_up',
  'unexpected',
] as const satisfies readonly (keyof PspRunSummary)[];
