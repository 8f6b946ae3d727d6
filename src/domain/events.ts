import { z } from 'zod';
import { EntityId } from './ids.ts';
import { Currency, MinorUnits, PositiveMinorUnits } from './money.ts';

/** Bumped only with a new schema beside the old one: stored facts are never rewritten. */
export const EVENT_SCHEMA_VERSION = 1 as const;

export const OrderLine = z.strictObject({
  sku: z
    .string()
    .min(1)
    .max(64)
    .regex(/^[\x21-\x7e]+$/, 'must be printable ASCII without spaces'),
  quantity: z.number().int().min(1).max(1_000_000),
  unitPrice: MinorUnits,
});
export type OrderLine = z.infer<typeof OrderLine>;

export const OrderCreatedData = z.strictObject({
  orderId: EntityId,
  customerId: EntityId,
  currency: Currency,
  lines: z.array(OrderLine).min(1).max(100),
  total: MinorUnits,
});

export const PaymentCapturedData = z.strictObject({
  orderId: EntityId,
  paymentId: EntityId,
  amount: PositiveMinorUnits,
  currency: Currency,
  /**
   * Present only on the capture of an authorization, and then equal to its paymentId. Optional so
   * that direct captures, and every capture stored before authorizations existed, keep their bytes and hashes.
   */
  authorizationId: EntityId.optional(),
});

export const PaymentAuthorizedData = z.strictObject({
  orderId: EntityId,
  paymentId: EntityId,
  amount: PositiveMinorUnits,
  currency: Currency,
});

export const AuthorizationVoidedData = z.strictObject({
  orderId: EntityId,
  paymentId: EntityId,
});

export const PaymentRefundedData = z.strictObject({
  orderId: EntityId,
  paymentId: EntityId,
  refundId: EntityId,
  amount: PositiveMinorUnits,
  currency: Currency,
});

export const OrderCancelledData = z.strictObject({
  orderId: EntityId,
  reason: z.string().min(1).max(500),
});

export const OrderCreated = z.strictObject({ type: z.literal('OrderCreated'), data: OrderCreatedData });
export const PaymentCaptured = z.strictObject({ type: z.literal('PaymentCaptured'), data: PaymentCapturedData });
export const PaymentAuthorized = z.strictObject({ type: z.literal('PaymentAuthorized'), data: PaymentAuthorizedData });
export const AuthorizationVoided = z.strictObject({
  type: z.literal('AuthorizationVoided'),
  data: AuthorizationVoidedData,
});
export const PaymentRefunded = z.strictObject({ type: z.literal('PaymentRefunded'), data: PaymentRefundedData });
export const OrderCancelled = z.strictObject({ type: z.literal('OrderCancelled'), data: OrderCancelledData });

export const OrderEvent = z.discriminatedUnion('type', [
  OrderCreated,
  PaymentCaptured,
  PaymentAuthorized,
  AuthorizationVoided,
  PaymentRefunded,
  OrderCancelled,
]);
export type OrderCreated = z.infer<typeof OrderCreated>;
export type PaymentCaptured = z.infer<typeof PaymentCaptured>;
export type PaymentAuthorized = z.infer<typeof PaymentAuthorized>;
export type AuthorizationVoided = z.infer<typeof AuthorizationVoided>;
export type PaymentRefunded = z.infer<typeof PaymentRefunded>;
export type OrderCancelled = z.infer<typeof OrderCancelled>;
export type OrderEvent = z.infer<typeof OrderEvent>;
export type OrderEventType = OrderEvent['type'];

export const ORDER_EVENT_TYPES: readonly OrderEventType[] = [
  'OrderCreated',
  'PaymentCaptured',
  'PaymentAuthorized',
  'AuthorizationVoided',
  'PaymentRefunded',
  'OrderCancelled',
];
