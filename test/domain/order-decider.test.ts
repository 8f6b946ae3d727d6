import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import { CapturePayment, CreateOrder, type OrderCommand } from '../../src/domain/commands.ts';
import type { OrderEvent } from '../../src/domain/events.ts';
import { orderDecider } from '../../src/domain/order.ts';
import { deciderSpec } from '../support/decider-spec.ts';

const given = deciderSpec(orderDecider);

const create: OrderCommand = {
  type: 'CreateOrder',
  orderId: 'o-1',
  customerId: 'c-1',
  currency: 'EUR',
  lines: [
    { sku: 'BOOK', quantity: 2, unitPrice: 1250 },
    { sku: 'PEN', quantity: 3, unitPrice: 199 },
  ],
};
const created: OrderEvent = {
  type: 'OrderCreated',
  data: { orderId: 'o-1', customerId: 'c-1', currency: 'EUR', lines: create.lines, total: 2 * 1250 + 3 * 199 },
};
const capture = (paymentId: string, amount: number, currency = 'EUR'): OrderCommand => ({
  type: 'CapturePayment',
  orderId: 'o-1',
  paymentId,
  amount,
  currency,
});
const captured = (paymentId: string, amount: number): OrderEvent => ({
  type: 'PaymentCaptured',
  data: { orderId: 'o-1', paymentId, amount, currency: 'EUR' },
});

const decider = suite('order decider');

decider('CreateOrder on a new order computes the total in minor units', () => {
  given().when(create).then(created);
});

decider('CreateOrder replayed with the same request decides nothing', () => {
  given(created).when(create).thenNothing();
  given(created, captured('p-1', 100)).when(create).thenNothing();
});

decider('CreateOrder with different details on an existing id is rejected', () => {
  given(created).when({ ...create, customerId: 'c-2' }).thenRejected('order-already-exists');
  given(created).when({ ...create, currency: 'USD' }).thenRejected('order-already-exists');
  given(created).when({ ...create, lines: [{ sku: 'BOOK', quantity: 1, unitPrice: 1250 }] }).thenRejected('order-already-exists');
});

decider('CapturePayment on a missing order is order-not-found', () => {
  given().when(capture('p-1', 100)).thenRejected('order-not-found');
});

decider('CapturePayment within the outstanding amount captures', () => {
  given(created).when(capture('p-1', 1000)).then(captured('p-1', 1000));
  given(created, captured('p-1', 1000)).when(capture('p-2', 2097)).then(captured('p-2', 2097));
});

decider('the same payment id with the same request is a replay', () => {
  given(created, captured('p-1', 1000)).when(capture('p-1', 1000)).thenNothing();
  // Even once the order is fully paid, the replay still succeeds rather than failing on the outstanding amount.
  given(created, captured('p-1', 1000), captured('p-2', 2097)).when(capture('p-1', 1000)).thenNothing();
});

decider('the same payment id with a different request is rejected', () => {
  given(created, captured('p-1', 1000)).when(capture('p-1', 999)).thenRejected('payment-already-captured');
});

decider('a capture in another currency is currency-mismatch', () => {
  given(created).when(capture('p-1', 100, 'USD')).thenRejected('currency-mismatch');
});

decider('a capture above the outstanding amount is rejected, at the boundary it is accepted', () => {
  given(created).when(capture('p-1', 3098)).thenRejected('capture-exceeds-outstanding');
  given(created).when(capture('p-1', 3097)).then(captured('p-1', 3097));
  given(created, captured('p-1', 3097)).when(capture('p-2', 1)).thenRejected('capture-exceeds-outstanding');
});

decider('every rule the decider lists is one its decide refuses under, and it lists each rule it refuses under', () => {
  const refusals: Record<(typeof orderDecider.rejections)[number], () => void> = {
    'order-already-exists': () =>
      given(created).when({ ...create, customerId: 'c-2' }).thenRejected('order-already-exists'),
    'order-not-found': () => given().when(capture('p-1', 100)).thenRejected('order-not-found'),
    'payment-already-captured': () =>
      given(created, captured('p-1', 1000)).when(capture('p-1', 999)).thenRejected('payment-already-captured'),
    'currency-mismatch': () => given(created).when(capture('p-1', 100, 'USD')).thenRejected('currency-mismatch'),
    'capture-exceeds-outstanding': () =>
      given(created).when(capture('p-1', 3098)).thenRejected('capture-exceeds-outstanding'),
  };
  assert.equal(Object.keys(refusals).sort(), [...orderDecider.rejections].sort());
  for (const refuse of Object.values(refusals)) refuse();
});

const validation = suite('command validation');

validation('amounts must be positive integers in minor units', () => {
  for (const amount of [0, -1, 1.5, Number.NaN, Number.MAX_SAFE_INTEGER + 2]) {
    assert.not.ok(CapturePayment.safeParse({ ...capture('p-1', 1), amount }).success, `amount ${amount}`);
  }
  assert.ok(CapturePayment.safeParse(capture('p-1', 1)).success);
});

validation('currencies must be ISO 4217 codes', () => {
  assert.not.ok(CapturePayment.safeParse(capture('p-1', 1, 'eur')).success);
  assert.not.ok(CapturePayment.safeParse(capture('p-1', 1, 'ABC')).success);
  assert.ok(CapturePayment.safeParse(capture('p-1', 1, 'JPY')).success);
});

validation('ids are 1-64 characters of [A-Za-z0-9_-]', () => {
  assert.not.ok(CreateOrder.safeParse({ ...create, orderId: '' }).success);
  assert.not.ok(CreateOrder.safeParse({ ...create, orderId: 'a'.repeat(65) }).success);
  assert.not.ok(CreateOrder.safeParse({ ...create, orderId: 'a/b' }).success);
  assert.ok(CreateOrder.safeParse({ ...create, orderId: 'A_b-9'.padEnd(64, 'x') }).success);
});

validation('an order total beyond the exact integer range is refused, not rounded', () => {
  const huge = { ...create, lines: [{ sku: 'X', quantity: 1_000_000, unitPrice: Number.MAX_SAFE_INTEGER }] };
  const result = CreateOrder.safeParse(huge);
  assert.not.ok(result.success);
});

validation('unknown fields are refused (no silent drops)', () => {
  assert.not.ok(CreateOrder.safeParse({ ...create, discount: 5 }).success);
});

decider.run();
validation.run();
