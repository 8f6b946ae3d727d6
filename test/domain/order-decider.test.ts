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

const authorize = (paymentId: string, amount: number, currency = 'EUR'): OrderCommand => ({
  type: 'AuthorizePayment',
  orderId: 'o-1',
  paymentId,
  amount,
  currency,
});
const authorized = (paymentId: string, amount: number): OrderEvent => ({
  type: 'PaymentAuthorized',
  data: { orderId: 'o-1', paymentId, amount, currency: 'EUR' },
});
const captureAuth = (paymentId: string, amount?: number): OrderCommand => ({
  type: 'CaptureAuthorization',
  orderId: 'o-1',
  paymentId,
  ...(amount !== undefined && { amount }),
});
const capturedAuth = (paymentId: string, amount: number): OrderEvent => ({
  type: 'PaymentCaptured',
  data: { orderId: 'o-1', paymentId, amount, currency: 'EUR', authorizationId: paymentId },
});
const voidAuth = (paymentId: string): OrderCommand => ({ type: 'VoidAuthorization', orderId: 'o-1', paymentId });
const voided = (paymentId: string): OrderEvent => ({
  type: 'AuthorizationVoided',
  data: { orderId: 'o-1', paymentId },
});
const refund = (paymentId: string, refundId: string, amount: number): OrderCommand => ({
  type: 'RefundPayment',
  orderId: 'o-1',
  paymentId,
  refundId,
  amount,
});
const refunded = (paymentId: string, refundId: string, amount: number): OrderEvent => ({
  type: 'PaymentRefunded',
  data: { orderId: 'o-1', paymentId, refundId, amount, currency: 'EUR' },
});
const cancel = (reason = 'customer asked'): OrderCommand => ({ type: 'CancelOrder', orderId: 'o-1', reason });
const cancelled = (reason = 'customer asked'): OrderEvent => ({
  type: 'OrderCancelled',
  data: { orderId: 'o-1', reason },
});

const request = (
  paymentId: string,
  amount: number,
  paymentMethod = 'pm_card_visa',
  currency = 'EUR',
): OrderCommand => ({
  type: 'RequestPayment',
  orderId: 'o-1',
  paymentId,
  amount,
  currency,
  paymentMethod,
});
const requested = (paymentId: string, amount: number): OrderEvent => ({
  type: 'PaymentRequested',
  data: { orderId: 'o-1', paymentId, amount, currency: 'EUR', paymentMethod: 'pm_card_visa' },
});
const LEASE = 30_000;
const claim = (paymentId: string, processorId: string, at: string, keyWindowMs?: number): OrderCommand => ({
  type: 'StartPaymentProcessing',
  orderId: 'o-1',
  paymentId,
  processorId,
  at,
  leaseMs: LEASE,
  ...(keyWindowMs !== undefined && { keyWindowMs }),
});
const claimed = (
  paymentId: string,
  processorId: string,
  at: string,
  attempt = 1,
  keyWindowMs?: number,
): OrderEvent => ({
  type: 'PaymentProcessingStarted',
  data: {
    orderId: 'o-1',
    paymentId,
    processorId,
    attempt,
    at,
    leaseMs: LEASE,
    ...(keyWindowMs !== undefined && { keyWindowMs }),
  },
});
const recordCaptured = (
  paymentId: string,
  pspReference: string,
  source: 'processor' | 'webhook' = 'processor',
  charged?: { amount: number; currency: string },
) =>
  ({
    type: 'RecordPaymentOutcome',
    orderId: 'o-1',
    paymentId,
    outcome: { kind: 'captured', pspReference },
    source,
    ...(charged && { charged }),
  }) satisfies OrderCommand;
const recordDeclined = (paymentId: string, code: string): OrderCommand => ({
  type: 'RecordPaymentOutcome',
  orderId: 'o-1',
  paymentId,
  outcome: { kind: 'declined', code, message: 'Your card was declined.' },
  source: 'processor',
});
const capturedByPsp = (paymentId: string, amount: number, pspReference: string): OrderEvent => ({
  type: 'PaymentCaptured',
  data: { orderId: 'o-1', paymentId, amount, currency: 'EUR', pspReference, source: 'processor' },
});
const declined = (paymentId: string, code: string): OrderEvent => ({
  type: 'PaymentDeclined',
  data: { orderId: 'o-1', paymentId, code, message: 'Your card was declined.', source: 'processor' },
});
const T0 = '2026-01-01T00:00:00.000Z';
const T10s = '2026-01-01T00:00:10.000Z';
const T31s = '2026-01-01T00:00:31.000Z';

const decider = suite('order decider');

decider('CreateOrder on a new order computes the total in minor units', () => {
  given().when(create).then(created);
});

decider('CreateOrder replayed with the same request decides nothing', () => {
  given(created).when(create).thenNothing();
  given(created, captured('p-1', 100)).when(create).thenNothing();
});

decider('CreateOrder with different details on an existing id is rejected', () => {
  given(created)
    .when({ ...create, customerId: 'c-2' })
    .thenRejected('order-already-exists');
  given(created)
    .when({ ...create, currency: 'USD' })
    .thenRejected('order-already-exists');
  given(created)
    .when({ ...create, lines: [{ sku: 'BOOK', quantity: 1, unitPrice: 1250 }] })
    .thenRejected('order-already-exists');
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
  given(created)
    .when(capture('p-1', 100, 'USD'))
    .thenRejected('currency-mismatch');
});

decider('a capture above the outstanding amount is rejected, at the boundary it is accepted', () => {
  given(created).when(capture('p-1', 3098)).thenRejected('capture-exceeds-outstanding');
  given(created).when(capture('p-1', 3097)).then(captured('p-1', 3097));
  given(created, captured('p-1', 3097)).when(capture('p-2', 1)).thenRejected('capture-exceeds-outstanding');
});

const authorizations = suite('authorize, capture and void');

authorizations('AuthorizePayment within the outstanding amount holds it, at the boundary too; past it, refused', () => {
  given(created).when(authorize('a-1', 1000)).then(authorized('a-1', 1000));
  given(created).when(authorize('a-1', 3097)).then(authorized('a-1', 3097));
  given(created).when(authorize('a-1', 3098)).thenRejected('authorization-exceeds-outstanding');
});

authorizations('open holds plus net captured may not exceed the total', () => {
  given(created, authorized('a-1', 2000))
    .when(authorize('a-2', 1098))
    .thenRejected('authorization-exceeds-outstanding');
  given(created, authorized('a-1', 2000)).when(authorize('a-2', 1097)).then(authorized('a-2', 1097));
  given(created, captured('p-1', 2000)).when(authorize('a-1', 1098)).thenRejected('authorization-exceeds-outstanding');
  // Refunded money is no longer captured net, so it may be held again.
  given(created, captured('p-1', 3097), refunded('p-1', 'r-1', 97))
    .when(authorize('a-1', 97))
    .then(authorized('a-1', 97));
  // A void or a partial capture releases its hold.
  given(created, authorized('a-1', 3097), voided('a-1')).when(authorize('a-2', 3097)).then(authorized('a-2', 3097));
  given(created, authorized('a-1', 3097), capturedAuth('a-1', 97))
    .when(authorize('a-2', 3000))
    .then(authorized('a-2', 3000));
  given(created, authorized('a-1', 3097), capturedAuth('a-1', 97))
    .when(authorize('a-2', 3001))
    .thenRejected('authorization-exceeds-outstanding');
});

authorizations('a direct capture counts open holds against the total', () => {
  given(created, authorized('a-1', 3000)).when(capture('p-1', 98)).thenRejected('capture-exceeds-outstanding');
  given(created, authorized('a-1', 3000)).when(capture('p-1', 97)).then(captured('p-1', 97));
});

authorizations('AuthorizePayment: the same request again is a replay, whatever happened since', () => {
  given(created, authorized('a-1', 1000)).when(authorize('a-1', 1000)).thenNothing();
  given(created, authorized('a-1', 1000), capturedAuth('a-1', 1000)).when(authorize('a-1', 1000)).thenNothing();
  given(created, authorized('a-1', 1000), voided('a-1'), cancelled()).when(authorize('a-1', 1000)).thenNothing();
});

authorizations('a payment id names one payment: another authorization or a direct capture under it is refused', () => {
  given(created, authorized('a-1', 1000)).when(authorize('a-1', 999)).thenRejected('payment-id-in-use');
  given(created, captured('p-1', 1000)).when(authorize('p-1', 1000)).thenRejected('payment-id-in-use');
  given(created, authorized('a-1', 1000)).when(capture('a-1', 1000)).thenRejected('payment-id-in-use');
});

authorizations('AuthorizePayment on a missing order, in another currency, on a cancelled order', () => {
  given().when(authorize('a-1', 100)).thenRejected('order-not-found');
  given(created)
    .when(authorize('a-1', 100, 'USD'))
    .thenRejected('currency-mismatch');
  given(created, cancelled()).when(authorize('a-1', 100)).thenRejected('order-cancelled');
});

authorizations('CaptureAuthorization captures all of it by default, or a part, linked to its authorization', () => {
  given(created, authorized('a-1', 1000)).when(captureAuth('a-1')).then(capturedAuth('a-1', 1000));
  given(created, authorized('a-1', 1000)).when(captureAuth('a-1', 400)).then(capturedAuth('a-1', 400));
  given(created, authorized('a-1', 1000)).when(captureAuth('a-1', 1001)).thenRejected('capture-exceeds-authorization');
});

authorizations('CaptureAuthorization: the same request is a replay; a different one is already-captured', () => {
  const history = [created, authorized('a-1', 1000), capturedAuth('a-1', 400)];
  given(...history)
    .when(captureAuth('a-1', 400))
    .thenNothing();
  given(...history)
    .when(captureAuth('a-1', 500))
    .thenRejected('authorization-already-captured');
  given(...history)
    .when(captureAuth('a-1'))
    .thenRejected('authorization-already-captured');
  given(created, authorized('a-1', 1000), capturedAuth('a-1', 1000)).when(captureAuth('a-1')).thenNothing();
  given(created, authorized('a-1', 1000), capturedAuth('a-1', 1000)).when(captureAuth('a-1', 1000)).thenNothing();
});

authorizations("CaptureAuthorization of a voided, a missing or a cancelled order's authorization is refused", () => {
  given(created, authorized('a-1', 1000), voided('a-1')).when(captureAuth('a-1')).thenRejected('authorization-voided');
  given(created).when(captureAuth('a-1')).thenRejected('authorization-not-found');
  // A direct capture is not an authorization.
  given(created, captured('p-1', 100)).when(captureAuth('p-1')).thenRejected('authorization-not-found');
  given().when(captureAuth('a-1')).thenRejected('order-not-found');
  given(created, authorized('a-1', 1000), voided('a-1'), cancelled())
    .when(captureAuth('a-1'))
    .thenRejected('order-cancelled');
});

authorizations('VoidAuthorization voids an open hold; twice is a replay; a captured one is refused', () => {
  given(created, authorized('a-1', 1000)).when(voidAuth('a-1')).then(voided('a-1'));
  given(created, authorized('a-1', 1000), voided('a-1')).when(voidAuth('a-1')).thenNothing();
  given(created, authorized('a-1', 1000), capturedAuth('a-1', 10))
    .when(voidAuth('a-1'))
    .thenRejected('authorization-already-captured');
  given(created).when(voidAuth('a-1')).thenRejected('authorization-not-found');
  given().when(voidAuth('a-1')).thenRejected('order-not-found');
  // Cancelling voided it: voiding again is the same replay.
  given(created, authorized('a-1', 1000), voided('a-1'), cancelled()).when(voidAuth('a-1')).thenNothing();
});

const refunds = suite('refunds');

refunds('RefundPayment refunds a captured payment, directly or through an authorization, in its currency', () => {
  given(created, captured('p-1', 1000))
    .when(refund('p-1', 'r-1', 300))
    .then(refunded('p-1', 'r-1', 300));
  given(created, authorized('a-1', 1000), capturedAuth('a-1', 600))
    .when(refund('a-1', 'r-1', 600))
    .then(refunded('a-1', 'r-1', 600));
});

refunds('the refunds of a payment sum to at most its captured amount', () => {
  given(created, captured('p-1', 1000))
    .when(refund('p-1', 'r-1', 1001))
    .thenRejected('refund-exceeds-captured');
  const partly = [created, captured('p-1', 1000), refunded('p-1', 'r-1', 700)];
  given(...partly)
    .when(refund('p-1', 'r-2', 300))
    .then(refunded('p-1', 'r-2', 300));
  given(...partly)
    .when(refund('p-1', 'r-2', 301))
    .thenRejected('refund-exceeds-captured');
  // Per payment: another payment's room does not count.
  given(...partly, captured('p-2', 1000))
    .when(refund('p-1', 'r-2', 301))
    .thenRejected('refund-exceeds-captured');
  // A partial capture of an authorization refunds only what was captured.
  given(created, authorized('a-1', 1000), capturedAuth('a-1', 400))
    .when(refund('a-1', 'r-1', 401))
    .thenRejected('refund-exceeds-captured');
});

refunds('the same refundId: the same request is a replay, a different one is refund-already-recorded', () => {
  const full = [created, captured('p-1', 1000), refunded('p-1', 'r-1', 1000)];
  given(...full)
    .when(refund('p-1', 'r-1', 1000))
    .thenNothing();
  given(...full)
    .when(refund('p-1', 'r-1', 999))
    .thenRejected('refund-already-recorded');
  given(...full, captured('p-2', 1000))
    .when(refund('p-2', 'r-1', 1000))
    .thenRejected('refund-already-recorded');
});

refunds('a refund of a payment never captured, or on a missing order, is refused', () => {
  given(created)
    .when(refund('p-1', 'r-1', 1))
    .thenRejected('payment-not-found');
  given(created, authorized('a-1', 1000))
    .when(refund('a-1', 'r-1', 1))
    .thenRejected('payment-not-found');
  given()
    .when(refund('p-1', 'r-1', 1))
    .thenRejected('order-not-found');
});

const cancellation = suite('cancellation');

cancellation('CancelOrder cancels an order with nothing captured, voiding its open holds in the same decision', () => {
  given(created).when(cancel()).then(cancelled());
  given(created, authorized('a-1', 100), authorized('a-2', 200), voided('a-1'))
    .when(cancel())
    .then(voided('a-2'), cancelled());
});

cancellation('CancelOrder is allowed only while nothing is captured net', () => {
  given(created, captured('p-1', 100)).when(cancel()).thenRejected('order-has-net-captured');
  given(created, authorized('a-1', 100), capturedAuth('a-1', 100))
    .when(cancel())
    .thenRejected('order-has-net-captured');
  given(created, captured('p-1', 100), refunded('p-1', 'r-1', 60))
    .when(cancel())
    .thenRejected('order-has-net-captured');
  given(created, captured('p-1', 100), refunded('p-1', 'r-1', 100))
    .when(cancel())
    .then(cancelled());
  given().when(cancel()).thenRejected('order-not-found');
});

cancellation('cancelling twice is a replay, whatever the reason', () => {
  given(created, cancelled()).when(cancel()).thenNothing();
  given(created, cancelled()).when(cancel('another reason')).thenNothing();
});

cancellation('after a cancellation every money command is order-cancelled; earlier ones still replay', () => {
  const refundedInFull = [created, captured('p-1', 100), refunded('p-1', 'r-1', 100)];
  const history = [...refundedInFull, authorized('a-1', 50), voided('a-1'), cancelled()];
  given(...history)
    .when(capture('p-2', 100))
    .thenRejected('order-cancelled');
  given(...history)
    .when(authorize('a-2', 100))
    .thenRejected('order-cancelled');
  given(...history)
    .when(refund('p-1', 'r-2', 1))
    .thenRejected('order-cancelled');
  given(...history)
    .when(captureAuth('a-1'))
    .thenRejected('order-cancelled');
  given(...history)
    .when(capture('p-1', 100))
    .thenNothing();
  given(...history)
    .when(refund('p-1', 'r-1', 100))
    .thenNothing();
  given(...history)
    .when(create)
    .thenNothing();
});

decider('every rule the decider lists is one its decide refuses under, and it lists each rule it refuses under', () => {
  const refusals: Record<(typeof orderDecider.rejections)[number], () => void> = {
    'order-already-exists': () =>
      given(created)
        .when({ ...create, customerId: 'c-2' })
        .thenRejected('order-already-exists'),
    'order-not-found': () => given().when(capture('p-1', 100)).thenRejected('order-not-found'),
    'payment-already-captured': () =>
      given(created, captured('p-1', 1000)).when(capture('p-1', 999)).thenRejected('payment-already-captured'),
    'currency-mismatch': () =>
      given(created)
        .when(capture('p-1', 100, 'USD'))
        .thenRejected('currency-mismatch'),
    'capture-exceeds-outstanding': () =>
      given(created).when(capture('p-1', 3098)).thenRejected('capture-exceeds-outstanding'),
    'payment-id-in-use': () =>
      given(created, authorized('a-1', 10)).when(authorize('a-1', 11)).thenRejected('payment-id-in-use'),
    'payment-not-found': () =>
      given(created)
        .when(refund('p-1', 'r-1', 1))
        .thenRejected('payment-not-found'),
    'authorization-not-found': () => given(created).when(voidAuth('a-1')).thenRejected('authorization-not-found'),
    'authorization-exceeds-outstanding': () =>
      given(created).when(authorize('a-1', 3098)).thenRejected('authorization-exceeds-outstanding'),
    'authorization-already-captured': () =>
      given(created, authorized('a-1', 10), capturedAuth('a-1', 10))
        .when(voidAuth('a-1'))
        .thenRejected('authorization-already-captured'),
    'authorization-voided': () =>
      given(created, authorized('a-1', 10), voided('a-1'))
        .when(captureAuth('a-1'))
        .thenRejected('authorization-voided'),
    'capture-exceeds-authorization': () =>
      given(created, authorized('a-1', 10)).when(captureAuth('a-1', 11)).thenRejected('capture-exceeds-authorization'),
    'refund-exceeds-captured': () =>
      given(created, captured('p-1', 10))
        .when(refund('p-1', 'r-1', 11))
        .thenRejected('refund-exceeds-captured'),
    'refund-already-recorded': () =>
      given(created, captured('p-1', 10), refunded('p-1', 'r-1', 5))
        .when(refund('p-1', 'r-1', 4))
        .thenRejected('refund-already-recorded'),
    'order-cancelled': () => given(created, cancelled()).when(capture('p-1', 1)).thenRejected('order-cancelled'),
    'order-has-net-captured': () =>
      given(created, captured('p-1', 1)).when(cancel()).thenRejected('order-has-net-captured'),
    'order-has-pending-payments': () =>
      given(created, requested('q-1', 1)).when(cancel()).thenRejected('order-has-pending-payments'),
    'payment-request-not-found': () =>
      given(created)
        .when(claim('q-1', 'proc-a', T0))
        .thenRejected('payment-request-not-found'),
    'payment-request-resolved': () =>
      given(created, requested('q-1', 10), declined('q-1', 'card_declined'))
        .when(claim('q-1', 'proc-a', T0))
        .thenRejected('payment-request-resolved'),
    'payment-claimed': () =>
      given(created, requested('q-1', 10), claimed('q-1', 'proc-a', T0))
        .when(claim('q-1', 'proc-b', T10s))
        .thenRejected('payment-claimed'),
    'payment-key-window-expired': () =>
      given(created, requested('q-1', 10), claimed('q-1', 'proc-a', T0))
        .when(claim('q-1', 'proc-b', T31s, 20_000))
        .thenRejected('payment-key-window-expired'),
    'payment-outcome-conflict': () =>
      given(created, requested('q-1', 10), capturedByPsp('q-1', 10, 'pi_1'))
        .when(recordDeclined('q-1', 'card_declined'))
        .thenRejected('payment-outcome-conflict'),
    'payment-outcome-amount-mismatch': () =>
      given(created, requested('q-1', 10))
        .when(recordCaptured('q-1', 'pi_1', 'webhook', { amount: 11, currency: 'EUR' }))
        .thenRejected('payment-outcome-amount-mismatch'),
    'psp-reference-in-use': () =>
      given(created, requested('q-1', 10), requested('q-2', 10), capturedByPsp('q-1', 10, 'pi_1'))
        .when(recordCaptured('q-2', 'pi_1'))
        .thenRejected('psp-reference-in-use'),
  };
  assert.equal(Object.keys(refusals).sort(), [...orderDecider.rejections].sort());
  for (const refuse of Object.values(refusals)) refuse();
});

const buffer = suite('payment requests through the PSP');

buffer('a request records PaymentRequested; the same request again decides nothing', () => {
  given(created).when(request('q-1', 100)).then(requested('q-1', 100));
  given(created, requested('q-1', 100)).when(request('q-1', 100)).thenNothing();
  given(created, requested('q-1', 100))
    .when(request('q-1', 100, 'pm_card_other'))
    .thenRejected('payment-id-in-use');
  given(created, requested('q-1', 100)).when(request('q-1', 101)).thenRejected('payment-id-in-use');
});

buffer('the rules apply at request time: currency, cancellation, ids taken by other payments', () => {
  given(created)
    .when(request('q-1', 1, 'pm_card_visa', 'USD'))
    .thenRejected('currency-mismatch');
  given(created, cancelled()).when(request('q-1', 1)).thenRejected('order-cancelled');
  given(created, captured('p-1', 1)).when(request('p-1', 1)).thenRejected('payment-id-in-use');
  given(created, authorized('a-1', 1)).when(request('a-1', 1)).thenRejected('payment-id-in-use');
  given(created, requested('q-1', 1)).when(capture('q-1', 1)).thenRejected('payment-id-in-use');
  given(created, requested('q-1', 1)).when(authorize('q-1', 1)).thenRejected('payment-id-in-use');
});

buffer('pending requests count against what is outstanding, and stop counting once declined', () => {
  // The order's total is 3097.
  given(created, requested('q-1', 3000)).when(request('q-2', 98)).thenRejected('capture-exceeds-outstanding');
  given(created, requested('q-1', 3000)).when(capture('p-1', 98)).thenRejected('capture-exceeds-outstanding');
  given(created, requested('q-1', 3000)).when(authorize('a-1', 98)).thenRejected('authorization-exceeds-outstanding');
  given(created, requested('q-1', 3000)).when(request('q-2', 97)).then(requested('q-2', 97));
  given(created, requested('q-1', 3000), declined('q-1', 'card_declined'))
    .when(request('q-2', 3097))
    .then(requested('q-2', 3097));
  given(created, requested('q-1', 3000), capturedByPsp('q-1', 3000, 'pi_1'))
    .when(request('q-2', 98))
    .thenRejected('capture-exceeds-outstanding');
});

buffer('a claim is fenced: the holder renews it, another processor waits for the lease', () => {
  const base = [created, requested('q-1', 10)] as const;
  given(...base)
    .when(claim('q-1', 'proc-a', T0))
    .then(claimed('q-1', 'proc-a', T0, 1));
  given(...base, claimed('q-1', 'proc-a', T0))
    .when(claim('q-1', 'proc-a', T0))
    .thenNothing();
  given(...base, claimed('q-1', 'proc-a', T0))
    .when(claim('q-1', 'proc-a', T10s))
    .then(claimed('q-1', 'proc-a', T10s, 2));
  given(...base, claimed('q-1', 'proc-a', T0))
    .when(claim('q-1', 'proc-b', T31s))
    .then(claimed('q-1', 'proc-b', T31s, 2));
  // The key window runs from the first claim, whoever made the later ones.
  given(...base, claimed('q-1', 'proc-a', T0), claimed('q-1', 'proc-b', T31s, 2))
    .when(claim('q-1', 'proc-b', '2026-01-01T00:01:00.000Z', 45_000))
    .thenRejected('payment-key-window-expired');
});

buffer('one outcome per request: the same again is a replay, another is refused', () => {
  const base = [created, requested('q-1', 10), claimed('q-1', 'proc-a', T0)] as const;
  given(...base)
    .when(recordCaptured('q-1', 'pi_1'))
    .then(capturedByPsp('q-1', 10, 'pi_1'));
  given(...base, capturedByPsp('q-1', 10, 'pi_1'))
    .when(recordCaptured('q-1', 'pi_1', 'webhook'))
    .thenNothing();
  given(...base, capturedByPsp('q-1', 10, 'pi_1'))
    .when(recordCaptured('q-1', 'pi_2'))
    .thenRejected('payment-outcome-conflict');
  given(...base)
    .when(recordDeclined('q-1', 'card_declined'))
    .then(declined('q-1', 'card_declined'));
  given(...base, declined('q-1', 'card_declined'))
    .when(recordDeclined('q-1', 'card_declined'))
    .thenNothing();
  given(...base, declined('q-1', 'card_declined'))
    .when(recordCaptured('q-1', 'pi_1'))
    .thenRejected('payment-outcome-conflict');
  // A captured request is a payment like any other: it can be refunded, and then the order cancelled.
  given(...base, capturedByPsp('q-1', 10, 'pi_1'))
    .when(refund('q-1', 'r-1', 10))
    .then(refunded('q-1', 'r-1', 10));
  given(...base, declined('q-1', 'card_declined'))
    .when(cancel())
    .then(cancelled());
});

buffer('a capture reported for other money than requested is refused, even after the outcome', () => {
  const base = [created, requested('q-1', 10), claimed('q-1', 'proc-a', T0)] as const;
  given(...base)
    .when(recordCaptured('q-1', 'pi_1', 'processor', { amount: 10, currency: 'EUR' }))
    .then(capturedByPsp('q-1', 10, 'pi_1'));
  for (const charged of [
    { amount: 9, currency: 'EUR' },
    { amount: 11, currency: 'EUR' },
    { amount: 10, currency: 'USD' },
  ]) {
    given(...base)
      .when(recordCaptured('q-1', 'pi_1', 'webhook', charged))
      .thenRejected('payment-outcome-amount-mismatch');
    // Not taken for a replay of the capture already recorded either: the reports disagree on the money.
    given(...base, capturedByPsp('q-1', 10, 'pi_1'))
      .when(recordCaptured('q-1', 'pi_1', 'webhook', charged))
      .thenRejected('payment-outcome-amount-mismatch');
  }
  // A decline moved no money: whatever the intent was for, it is recorded.
  given(...base)
    .when({ ...recordDeclined('q-1', 'card_declined'), charged: { amount: 99, currency: 'USD' } } as OrderCommand)
    .then(declined('q-1', 'card_declined'));
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
buffer.run();
validation.run();
authorizations.run();
refunds.run();
cancellation.run();
