/**
 * Per order: what was ordered, held, captured and refunded, what is still owed, and the payments
 * that did it, each with its authorization's state and its refunds.
 */
import { addMinorUnits } from '../src/domain/money.ts';
import { statusOf, type OrderStatus } from './order-status.ts';
import { collection, defineProjection, recordedAtUtc, type EventOf } from './projection.ts';
import type { LedgerEvent } from '../src/events/codec.ts';

export { statusOf, type OrderStatus } from './order-status.ts';

/** `none`: captured directly, without a hold first. */
export type AuthorizationState = 'none' | 'open' | 'captured' | 'voided';

export interface OrderRefund {
  readonly refundId: string;
  readonly amount: number;
  readonly position: string;
  readonly refundedAt: string;
}

export interface OrderPayment {
  readonly paymentId: string;
  readonly authorization: AuthorizationState;
  /** The amount held by the authorization (0 for a direct capture). */
  readonly authorized: number;
  /** Captured amount (0 while the authorization is open or after a void). */
  readonly amount: number;
  readonly refunded: number;
  readonly refunds: OrderRefund[];
  /** Global position of the payment's first event (its authorization or its capture), as a decimal string. */
  readonly position: string;
  readonly authorizedAt?: string;
  readonly capturedAt?: string;
  readonly voidedAt?: string;
  /** Only on a payment requested through the PSP: where the request stands, and what it asked for. */
  readonly request?: 'pending' | 'captured' | 'declined';
  readonly requested?: number;
  readonly requestedAt?: string;
  readonly pspReference?: string;
  readonly declineCode?: string;
}

export interface OrderSummary {
  readonly orderId: string;
  /** The client (API key) whose command created the order: its owner, who alone may read it. */
  readonly clientId: string;
  readonly customerId: string;
  readonly currency: string;
  readonly total: number;
  /** Open holds: authorized, neither captured nor voided. */
  readonly authorized: number;
  readonly captured: number;
  readonly refunded: number;
  /** captured − refunded. */
  readonly net: number;
  /** total − net; 0 once cancelled. */
  readonly outstanding: number;
  readonly status: OrderStatus;
  /** Only on an order with payments requested through the PSP: the sum of those still pending. */
  readonly pending?: number;
  readonly payments: OrderPayment[];
  readonly cancelledAt?: string;
  readonly cancelReason?: string;
  /** Stream revision of the last event applied: the ETag a command's If-Match compares with. */
  readonly revision: string;
  /** Global position of the last event applied. */
  readonly position: string;
  readonly createdAt: string;
  readonly updatedAt: string;
}

export const orders = collection<OrderSummary>('orders');

/** Sums, status and bookkeeping recomputed from the payments, so no handler can let them drift apart. */
function settle(
  order: OrderSummary,
  payments: OrderPayment[],
  e: LedgerEvent,
  cancelled = order.status === 'cancelled',
) {
  const sum = (pick: (p: OrderPayment) => number) => payments.reduce((s, p) => addMinorUnits(s, pick(p)), 0);
  const authorized = sum((p) => (p.authorization === 'open' ? p.authorized : 0));
  const captured = sum((p) => p.amount);
  const refunded = sum((p) => p.refunded);
  const net = captured - refunded;
  const requested = payments.some((p) => p.request !== undefined);
  const pending = sum((p) => (p.request === 'pending' ? (p.requested ?? 0) : 0));
  return {
    ...order,
    ...(requested && { pending }),
    authorized,
    captured,
    refunded,
    net,
    outstanding: cancelled ? 0 : order.total - net,
    status: statusOf({ total: order.total, authorized, captured, refunded, cancelled }),
    payments,
    revision: e.revision.toString(),
    position: e.position.toString(),
    updatedAt: recordedAtUtc(e),
  };
}

/** A change to one order; the decider never acts on a missing order, so a log that does stops loudly. */
function onOrder(
  e: LedgerEvent & { event: { data: { orderId: string } } },
  next: (order: OrderSummary) => OrderSummary,
) {
  const { orderId } = e.event.data;
  return [
    orders.change(orderId, (order) => {
      if (!order) throw new Error(`${e.event.type} for order ${orderId}, which was never created`);
      return next(order);
    }),
  ];
}

function onPayment(
  e: LedgerEvent & { event: { data: { orderId: string; paymentId: string } } },
  next: (payment: OrderPayment) => OrderPayment,
) {
  return onOrder(e, (order) => {
    const { paymentId } = e.event.data;
    const at = order.payments.findIndex((p) => p.paymentId === paymentId);
    if (at < 0) {
      throw new Error(`${e.event.type} for payment ${paymentId} of order ${order.orderId}, which it does not hold`);
    }
    return settle(
      order,
      order.payments.map((p, i) => (i === at ? next(p) : p)),
      e,
    );
  });
}

function captured(e: EventOf<'PaymentCaptured'>) {
  const { paymentId, amount, authorizationId } = e.event.data;
  const at = recordedAtUtc(e);
  return onOrder(e, (order) => {
    const { pspReference } = e.event.data;
    const request = order.payments.findIndex((p) => p.paymentId === paymentId && p.request === 'pending');
    if (pspReference !== undefined && request >= 0) {
      const capture = (p: OrderPayment): OrderPayment => ({
        ...p,
        amount,
        capturedAt: at,
        request: 'captured',
        pspReference,
      });
      return settle(
        order,
        order.payments.map((p, i) => (i === request ? capture(p) : p)),
        e,
      );
    }
    // A capture of an authorization names it; a direct capture (and every one stored before holds) does not.
    const held = order.payments.findIndex((p) => p.paymentId === authorizationId && p.authorization === 'open');
    if (held >= 0) {
      const capture = (p: OrderPayment): OrderPayment => ({ ...p, authorization: 'captured', amount, capturedAt: at });
      return settle(
        order,
        order.payments.map((p, i) => (i === held ? capture(p) : p)),
        e,
      );
    }
    const direct: OrderPayment = {
      paymentId,
      authorization: 'none',
      authorized: 0,
      amount,
      refunded: 0,
      refunds: [],
      position: e.position.toString(),
      capturedAt: at,
    };
    return settle(order, [...order.payments, direct], e);
  });
}

export const orderSummary = defineProjection({
  name: 'order-summary',
  // 3: holds, refunds, net and cancellation; payments carry their authorization state and refunds.
  // 4: payments requested through the PSP, pending until their outcome; claims advance the revision.
  version: 4,
  // Keyset pagination: (createdAt, key) within a customer, a status, or all orders; of one owner or of all.
  indexes: [
    { collection: orders.name, fields: ['createdAt'] },
    { collection: orders.name, fields: ['customerId', 'createdAt'] },
    { collection: orders.name, fields: ['status', 'createdAt'] },
    { collection: orders.name, fields: ['clientId', 'createdAt'] },
    { collection: orders.name, fields: ['clientId', 'customerId', 'createdAt'] },
    { collection: orders.name, fields: ['clientId', 'status', 'createdAt'] },
  ],
  on: {
    OrderCreated: (e) => {
      const { orderId, customerId, currency, total } = e.event.data;
      const at = recordedAtUtc(e);
      const sums = { authorized: 0, captured: 0, refunded: 0, net: 0 };
      return [
        orders.put(orderId, {
          orderId,
          clientId: e.metadata.clientId,
          customerId,
          currency,
          total,
          ...sums,
          outstanding: total,
          status: statusOf({ ...sums, total, cancelled: false }),
          payments: [],
          revision: e.revision.toString(),
          position: e.position.toString(),
          createdAt: at,
          updatedAt: at,
        }),
      ];
    },
    PaymentAuthorized: (e) => {
      const { paymentId, amount } = e.event.data;
      const hold: OrderPayment = {
        paymentId,
        authorization: 'open',
        authorized: amount,
        amount: 0,
        refunded: 0,
        refunds: [],
        position: e.position.toString(),
        authorizedAt: recordedAtUtc(e),
      };
      return onOrder(e, (order) => settle(order, [...order.payments, hold], e));
    },
    PaymentCaptured: captured,
    PaymentRequested: (e) => {
      const { paymentId, amount } = e.event.data;
      const request: OrderPayment = {
        paymentId,
        authorization: 'none',
        authorized: 0,
        amount: 0,
        refunded: 0,
        refunds: [],
        position: e.position.toString(),
        request: 'pending',
        requested: amount,
        requestedAt: recordedAtUtc(e),
      };
      return onOrder(e, (order) => settle(order, [...order.payments, request], e));
    },
    // A claim changes nothing shown but the revision, which is the ETag an If-Match must name.
    PaymentProcessingStarted: (e) => onOrder(e, (order) => settle(order, order.payments, e)),
    PaymentDeclined: (e) => onPayment(e, (p) => ({ ...p, request: 'declined', declineCode: e.event.data.code })),
    AuthorizationVoided: (e) => onPayment(e, (p) => ({ ...p, authorization: 'voided', voidedAt: recordedAtUtc(e) })),
    PaymentRefunded: (e) => {
      const { refundId, amount } = e.event.data;
      const refund = { refundId, amount, position: e.position.toString(), refundedAt: recordedAtUtc(e) };
      return onPayment(e, (p) => ({
        ...p,
        refunded: addMinorUnits(p.refunded, amount),
        refunds: [...p.refunds, refund],
      }));
    },
    OrderCancelled: (e) => {
      const at = recordedAtUtc(e);
      // Holds still open when the order is cancelled are released with it.
      const release = (p: OrderPayment): OrderPayment =>
        p.authorization === 'open' ? { ...p, authorization: 'voided', voidedAt: at } : p;
      return onOrder(e, (order) => ({
        ...settle(order, order.payments.map(release), e, true),
        cancelledAt: at,
        cancelReason: e.event.data.reason,
      }));
    },
  },
});
