/** Per order: what was ordered, what was captured, what is still owed, and the payments that did it. */
import { addMinorUnits } from '../src/domain/money.ts';
import { collection, defineProjection, recordedAtUtc } from './projection.ts';

export const ORDER_STATUSES = ['pending', 'partially_paid', 'paid'] as const;
export type OrderStatus = (typeof ORDER_STATUSES)[number];

export interface OrderPayment {
  readonly paymentId: string;
  readonly amount: number;
  /** Global position of the PaymentCaptured event, as a decimal string. */
  readonly position: string;
  readonly capturedAt: string;
}

export interface OrderSummary {
  readonly orderId: string;
  /** The client (API key) whose command created the order: its owner, who alone may read it. */
  readonly clientId: string;
  readonly customerId: string;
  readonly currency: string;
  readonly total: number;
  readonly captured: number;
  readonly outstanding: number;
  readonly status: OrderStatus;
  readonly payments: OrderPayment[];
  /** Stream revision of the last event applied: the ETag a command's If-Match compares with. */
  readonly revision: string;
  /** Global position of the last event applied. */
  readonly position: string;
  readonly createdAt: string;
  readonly updatedAt: string;
}

export const orders = collection<OrderSummary>('orders');

/** A zero-total order owes nothing, so it is paid from the start. */
export function statusOf(total: number, captured: number): OrderStatus {
  if (captured >= total) return 'paid';
  return captured === 0 ? 'pending' : 'partially_paid';
}

export const orderSummary = defineProjection({
  name: 'order-summary',
  // 2: documents name their owner (clientId), and lists are indexed per owner.
  version: 2,
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
      return [
        orders.put(orderId, {
          orderId,
          clientId: e.metadata.clientId,
          customerId,
          currency,
          total,
          captured: 0,
          outstanding: total,
          status: statusOf(total, 0),
          payments: [],
          revision: e.revision.toString(),
          position: e.position.toString(),
          createdAt: at,
          updatedAt: at,
        }),
      ];
    },
    PaymentCaptured: (e) => {
      const { orderId, paymentId, amount } = e.event.data;
      const at = recordedAtUtc(e);
      return [
        orders.change(orderId, (order) => {
          // The decider never captures on a missing order; if the log says otherwise, stop loudly.
          if (!order) throw new Error(`PaymentCaptured ${paymentId} for order ${orderId}, which was never created`);
          const captured = addMinorUnits(order.captured, amount);
          return {
            ...order,
            captured,
            outstanding: order.total - captured,
            status: statusOf(order.total, captured),
            payments: [...order.payments, { paymentId, amount, position: e.position.toString(), capturedAt: at }],
            revision: e.revision.toString(),
            position: e.position.toString(),
            updatedAt: at,
          };
        }),
      ];
    },
  },
});
