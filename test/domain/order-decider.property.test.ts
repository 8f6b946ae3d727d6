/**
 * Random command sequences through the order decider: after every step the log it has written
 * keeps every money invariant, judged from the events alone (not from the decider's own state),
 * and every command accepted earlier, sent again, decides nothing.
 */
import fc from 'fast-check';
import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import type { OrderCommand } from '../../src/domain/commands.ts';
import type { OrderEvent } from '../../src/domain/events.ts';
import { orderDecider } from '../../src/domain/order.ts';
import { DomainRejection } from '../../src/domain/rejection.ts';

const ORDER = 'o-1';
const id = (prefix: string) => fc.integer({ min: 1, max: 6 }).map((n) => `${prefix}-${n}`);
const amount = fc.oneof(fc.integer({ min: 1, max: 1_500 }), fc.constant(Number.MAX_SAFE_INTEGER));
const currency = fc.constantFrom('EUR', 'EUR', 'EUR', 'USD');

const often = <T>(arbitrary: fc.Arbitrary<T>) => ({ arbitrary, weight: 4 });
// Cancelling is rarer, so that sequences also go on long enough to refund and capture again.
const command: fc.Arbitrary<OrderCommand> = fc.oneof(
  often(
    fc.record({
      type: fc.constant('CapturePayment' as const),
      orderId: fc.constant(ORDER),
      paymentId: id('p'),
      amount,
      currency,
    }),
  ),
  often(
    fc.record({
      type: fc.constant('AuthorizePayment' as const),
      orderId: fc.constant(ORDER),
      paymentId: id('p'),
      amount,
      currency,
    }),
  ),
  often(
    fc.record(
      { type: fc.constant('CaptureAuthorization' as const), orderId: fc.constant(ORDER), paymentId: id('p'), amount },
      { requiredKeys: ['type', 'orderId', 'paymentId'] },
    ),
  ),
  often(
    fc.record({ type: fc.constant('VoidAuthorization' as const), orderId: fc.constant(ORDER), paymentId: id('p') }),
  ),
  often(
    fc.record({
      type: fc.constant('RefundPayment' as const),
      orderId: fc.constant(ORDER),
      paymentId: id('p'),
      refundId: id('r'),
      amount: fc.integer({ min: 1, max: 400 }),
    }),
  ),
  often(
    fc.record({
      type: fc.constant('RequestPayment' as const),
      orderId: fc.constant(ORDER),
      paymentId: id('p'),
      amount,
      currency,
      paymentMethod: fc.constantFrom('pm_card_visa', 'pm_card_mastercard'),
    }),
  ),
  often(
    fc.record({
      type: fc.constant('StartPaymentProcessing' as const),
      orderId: fc.constant(ORDER),
      paymentId: id('p'),
      processorId: fc.constantFrom('proc-a', 'proc-b'),
      at: fc.constantFrom('2026-01-01T00:00:00.000Z', '2026-01-01T00:00:30.000Z', '2026-01-01T00:01:00.000Z'),
      leaseMs: fc.constant(20_000),
      keyWindowMs: fc.constant(45_000),
    }),
  ),
  often(
    fc.record({
      type: fc.constant('RecordPaymentOutcome' as const),
      orderId: fc.constant(ORDER),
      paymentId: id('p'),
      outcome: fc.oneof(
        fc.record({ kind: fc.constant('captured' as const), pspReference: fc.constantFrom('pi_1', 'pi_2', 'pi_3') }),
        fc.record({
          kind: fc.constant('declined' as const),
          code: fc.constantFrom('a', 'b'),
          message: fc.constant('m'),
        }),
      ),
      source: fc.constantFrom('processor' as const, 'webhook' as const),
    }),
  ),
  {
    arbitrary: fc.record({
      type: fc.constant('CancelOrder' as const),
      orderId: fc.constant(ORDER),
      reason: fc.constantFrom('a', 'b'),
    }),
    weight: 1,
  },
);

const created = (total: number): OrderEvent => ({
  type: 'OrderCreated',
  data: {
    orderId: ORDER,
    customerId: 'c-1',
    currency: 'EUR',
    lines: [{ sku: 'X', quantity: 1, unitPrice: total }],
    total,
  },
});

/** Every invariant of the log, recomputed from its events; returns the first one broken. */
function brokenInvariant(log: readonly OrderEvent[]): string | undefined {
  let total = 0;
  let cancelled = false;
  const authorized = new Map<string, { amount: number; state: 'open' | 'captured' | 'voided' }>();
  const captured = new Map<string, number>();
  const refunded = new Map<string, number>();
  const requests = new Map<string, { amount: number; resolved: boolean }>();
  const references = new Set<string>();
  const taken = (paymentId: string) => captured.has(paymentId) || authorized.has(paymentId) || requests.has(paymentId);
  /** A request's outcome: the first, naming a charge no other outcome named. */
  const resolve = (paymentId: string, pspReference: string | undefined): string | undefined => {
    const request = requests.get(paymentId);
    if (!request) return `outcome of unknown request ${paymentId}`;
    if (request.resolved) return `request ${paymentId} resolved twice`;
    if (pspReference !== undefined && references.has(pspReference)) return `PSP reference ${pspReference} twice`;
    if (pspReference !== undefined) references.add(pspReference);
    request.resolved = true;
    return undefined;
  };
  for (const event of log) {
    if (cancelled) return `${event.type} follows the cancellation`;
    switch (event.type) {
      case 'OrderCreated':
        total = event.data.total;
        break;
      case 'PaymentRequested': {
        const { paymentId, amount, currency } = event.data;
        if (currency !== 'EUR') return `request in ${currency}`;
        if (taken(paymentId)) return `payment id ${paymentId} requested again`;
        requests.set(paymentId, { amount, resolved: false });
        break;
      }
      case 'PaymentProcessingStarted': {
        const request = requests.get(event.data.paymentId);
        if (!request || request.resolved) return `claim of ${event.data.paymentId}, not a pending request`;
        break;
      }
      case 'PaymentDeclined': {
        const broken = resolve(event.data.paymentId, event.data.pspReference);
        if (broken) return broken;
        break;
      }
      case 'PaymentAuthorized':
        authorized.set(event.data.paymentId, { amount: event.data.amount, state: 'open' });
        break;
      case 'AuthorizationVoided': {
        const a = authorized.get(event.data.paymentId);
        if (!a) return `void of unknown authorization ${event.data.paymentId}`;
        if (a.state === 'captured') return `captured authorization ${event.data.paymentId} voided`;
        a.state = 'voided';
        break;
      }
      case 'PaymentCaptured': {
        const { paymentId, amount, authorizationId, currency } = event.data;
        if (currency !== 'EUR') return `capture in ${currency}`;
        if (captured.has(paymentId)) return `payment ${paymentId} captured twice`;
        if (event.data.pspReference !== undefined) {
          const broken = resolve(paymentId, event.data.pspReference);
          if (broken) return broken;
          if (requests.get(paymentId)!.amount !== amount) return `request ${paymentId} captured for another amount`;
        } else if (requests.has(paymentId)) return `direct capture of requested ${paymentId}`;
        if (authorizationId !== undefined) {
          const a = authorized.get(authorizationId);
          if (!a) return `capture of unknown authorization ${authorizationId}`;
          if (a.state === 'voided') return `voided authorization ${authorizationId} captured`;
          if (a.state === 'captured') return `authorization ${authorizationId} captured twice`;
          if (amount > a.amount) return `capture ${amount} above its authorization ${a.amount}`;
          a.state = 'captured';
        }
        captured.set(paymentId, amount);
        break;
      }
      case 'PaymentRefunded': {
        const { paymentId, amount } = event.data;
        const sum = (refunded.get(paymentId) ?? 0) + amount;
        if (sum > (captured.get(paymentId) ?? 0)) return `refunds of ${paymentId} exceed its capture`;
        refunded.set(paymentId, sum);
        break;
      }
      case 'OrderCancelled': {
        const net =
          [...captured.values()].reduce((s, n) => s + n, 0) - [...refunded.values()].reduce((s, n) => s + n, 0);
        if (net !== 0) return `cancelled with ${net} captured net`;
        if ([...authorized.values()].some((a) => a.state === 'open')) return 'cancelled with an open hold';
        if ([...requests.values()].some((r) => !r.resolved)) return 'cancelled with a pending request';
        cancelled = true;
        break;
      }
    }
    const pending = [...requests.values()].filter((r) => !r.resolved).reduce((s, r) => s + r.amount, 0);
    const held = pending + [...authorized.values()].filter((a) => a.state === 'open').reduce((s, a) => s + a.amount, 0);
    const net = [...captured.values()].reduce((s, n) => s + n, 0) - [...refunded.values()].reduce((s, n) => s + n, 0);
    if (held + net > total) return `holds ${held} + net ${net} exceed the total ${total} after ${event.type}`;
  }
  return undefined;
}

const test = suite('order decider: random command sequences');

test('every invariant holds after each step, and every accepted command replays as nothing', () => {
  fc.assert(
    fc.property(
      fc.integer({ min: 1, max: 3_000 }),
      fc.array(command, { maxLength: 60, size: 'max' }),
      (total, commands) => {
        const log: OrderEvent[] = [created(total)];
        const accepted: OrderCommand[] = [];
        let state = orderDecider.evolve(orderDecider.initialState(), log[0]!);
        for (const next of commands) {
          let decided: OrderEvent[];
          try {
            decided = orderDecider.decide(next, state);
          } catch (error) {
            if (!(error instanceof DomainRejection)) throw error;
            assert.ok(orderDecider.rejections.includes(error.rule));
            continue;
          }
          log.push(...decided);
          state = decided.reduce(orderDecider.evolve, state);
          accepted.push(next);
          const broken = brokenInvariant(log);
          assert.is(broken, undefined, `${broken} after ${JSON.stringify(next)}`);
          for (const earlier of accepted)
            assert.equal(orderDecider.decide(earlier, state), [], JSON.stringify(earlier));
        }
      },
    ),
    { numRuns: 500 },
  );
});

test('the checker itself catches what it claims to (a sequence breaking each invariant)', () => {
  const log = (...events: OrderEvent[]) => brokenInvariant([created(1_000), ...events]);
  const auth = (paymentId: string, amount: number): OrderEvent => ({
    type: 'PaymentAuthorized',
    data: { orderId: ORDER, paymentId, amount, currency: 'EUR' },
  });
  const capture = (paymentId: string, amount: number, authorizationId?: string): OrderEvent => ({
    type: 'PaymentCaptured',
    data: { orderId: ORDER, paymentId, amount, currency: 'EUR', ...(authorizationId && { authorizationId }) },
  });
  const voided: OrderEvent = { type: 'AuthorizationVoided', data: { orderId: ORDER, paymentId: 'a' } };
  const cancelled: OrderEvent = { type: 'OrderCancelled', data: { orderId: ORDER, reason: 'x' } };
  const refund = (amount: number): OrderEvent => ({
    type: 'PaymentRefunded',
    data: { orderId: ORDER, paymentId: 'p', refundId: 'r', amount, currency: 'EUR' },
  });
  assert.match(String(log(auth('a', 600), auth('b', 401))), /exceed the total/);
  assert.match(String(log(auth('a', 600), capture('a', 601, 'a'))), /above its authorization/);
  assert.match(String(log(auth('a', 600), voided, capture('a', 1, 'a'))), /voided authorization/);
  assert.match(String(log(capture('p', 10), refund(11))), /exceed its capture/);
  assert.match(String(log(cancelled, auth('a', 1))), /follows the cancellation/);
  assert.match(String(log(capture('p', 10), cancelled)), /captured net/);
  const requested = (paymentId: string, amount: number): OrderEvent => ({
    type: 'PaymentRequested',
    data: { orderId: ORDER, paymentId, amount, currency: 'EUR', paymentMethod: 'pm' },
  });
  const byPsp = (paymentId: string, amount: number, pspReference: string): OrderEvent => ({
    type: 'PaymentCaptured',
    data: { orderId: ORDER, paymentId, amount, currency: 'EUR', pspReference, source: 'processor' },
  });
  assert.match(String(log(requested('q', 600), auth('a', 401))), /exceed the total/);
  assert.match(String(log(requested('q', 10), byPsp('q', 10, 'pi'), byPsp('q', 10, 'pi'))), /captured twice/);
  assert.match(
    String(log(requested('q', 10), requested('r', 10), byPsp('q', 10, 'pi'), byPsp('r', 10, 'pi'))),
    /twice/,
  );
  assert.match(String(log(requested('q', 10), cancelled)), /pending request/);
  // A partial capture releases the rest of its hold.
  assert.is(log(auth('a', 600), capture('a', 100, 'a'), auth('b', 900)), undefined);
});

test.run();
