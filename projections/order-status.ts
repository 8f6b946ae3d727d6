/**
 * An order's status from its money: the one rule the order summary and the audit's counts share,
 * so GET /orders and `ledger replay` mean the same thing by each status.
 */
export const ORDER_STATUSES = [
  'pending',
  'authorized',
  'partially_paid',
  'paid',
  'partially_refunded',
  'refunded',
  'cancelled',
] as const;
export type OrderStatus = (typeof ORDER_STATUSES)[number];

export interface OrderMoney {
  readonly total: number;
  /** Open holds: authorized and neither captured nor voided. */
  readonly authorized: number;
  readonly captured: number;
  readonly refunded: number;
  readonly cancelled: boolean;
}

/** A zero-total order owes nothing, so it is paid from the start (unless cancelled). */
export function statusOf(money: OrderMoney): OrderStatus {
  if (money.cancelled) return 'cancelled';
  if (money.refunded > 0) return money.refunded >= money.captured ? 'refunded' : 'partially_refunded';
  if (money.captured >= money.total) return 'paid';
  if (money.captured > 0) return 'partially_paid';
  return money.authorized > 0 ? 'authorized' : 'pending';
}

export const noOrderCounts = (): Record<OrderStatus, number> =>
  Object.fromEntries(ORDER_STATUSES.map((s) => [s, 0])) as Record<OrderStatus, number>;
