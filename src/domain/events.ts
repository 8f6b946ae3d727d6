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

/** What a payment service provider calls a charge (Stripe: a PaymentIntent id). */
export const PspReference = z
  .string()
  .min(1)
  .max(255)
  .regex(/^[\x21-\x7e]+$/, 'must be printable ASCII without spaces');

/** The PSP's name for how the customer pays (Stripe: a PaymentMethod id such as `pm_card_visa`). */
export const PaymentMethod = z
  .string()
  .min(1)
  .max(255)
  .regex(/^[\x21-\x7e]+$/, 'must be printable ASCII without spaces');

export const OutcomeSource = z.enum(['processor', 'webhook']);
export const PspEventId = z.string().min(1).max(255);

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
  /**
   * Present only on a capture the ledger made through its payment service provider, which names
   * the charge so. Optional for the same reason: every other capture keeps its bytes and hashes.
   */
  pspReference: PspReference.optional(),
  /** With pspReference: who reported the outcome (the processor's call or the PSP's webhook). */
  source: OutcomeSource.optional(),
  /** With a webhook's report: the PSP's id of the event that reported it. */
  pspEventId: PspEventId.optional(),
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

/** A capture the ledger is to make through its PSP; pending until a PaymentCaptured or PaymentDeclined names it. */
export const PaymentRequestedData = z.strictObject({
  orderId: EntityId,
  paymentId: EntityId,
  amount: PositiveMinorUnits,
  currency: Currency,
  paymentMethod: PaymentMethod,
});

/**
 * A processor's claim on a payment request, appended at the revision it read: of two racing
 * processors one loses the append. `attempt` counts the claims of the request, from 1.
 */
export const PaymentProcessingStartedData = z.strictObject({
  orderId: EntityId,
  paymentId: EntityId,
  processorId: EntityId,
  attempt: z.number().int().min(1).max(Number.MAX_SAFE_INTEGER),
  at: z.iso.datetime(),
  /** The claim holds until `at` + leaseMs: only then may another processor take the request over. */
  leaseMs: z.number().int().min(0).max(Number.MAX_SAFE_INTEGER),
  /** No claim is made once this long has passed since the first: the PSP may have forgotten the key. */
  keyWindowMs: z.number().int().min(0).max(Number.MAX_SAFE_INTEGER).optional(),
});

/** The PSP refused the charge: nothing was captured, and the request is resolved. */
export const PaymentDeclinedData = z.strictObject({
  orderId: EntityId,
  paymentId: EntityId,
  code: z.string().min(1).max(255),
  message: z.string().max(1_000),
  pspReference: PspReference.optional(),
  source: OutcomeSource,
  pspEventId: PspEventId.optional(),
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
export const PaymentRequested = z.strictObject({ type: z.literal('PaymentRequested'), data: PaymentRequestedData });
export const PaymentProcessingStarted = z.strictObject({
  type: z.literal('PaymentProcessingStarted'),
  data: PaymentProcessingStartedData,
});
export const PaymentDeclined = z.strictObject({ type: z.literal('PaymentDeclined'), data: PaymentDeclinedData });
export const OrderCancelled = z.strictObject({ type: z.literal('OrderCancelled'), data: OrderCancelledData });

export const OrderEvent = z.discriminatedUnion('type', [
  OrderCreated,
  PaymentCaptured,
  PaymentAuthorized,
  AuthorizationVoided,
  PaymentRefunded,
  OrderCancelled,
  PaymentRequested,
  PaymentProcessingStarted,
  PaymentDeclined,
]);
export type OrderCreated = z.infer<typeof OrderCreated>;
export type PaymentCaptured = z.infer<typeof PaymentCaptured>;
export type PaymentAuthorized = z.infer<typeof PaymentAuthorized>;
export type AuthorizationVoided = z.infer<typeof AuthorizationVoided>;
export type PaymentRefunded = z.infer<typeof PaymentRefunded>;
export type OrderCancelled = z.infer<typeof OrderCancelled>;
export type PaymentRequested = z.infer<typeof PaymentRequested>;
export type PaymentProcessingStarted = z.infer<typeof PaymentProcessingStarted>;
export type PaymentDeclined = z.infer<typeof PaymentDeclined>;
export type OrderEvent = z.infer<typeof OrderEvent>;
export type OrderEventType = OrderEvent['type'];

export const ORDER_EVENT_TYPES: readonly OrderEventType[] = [
  'OrderCreated',
  'PaymentCaptured',
  'PaymentAuthorized',
  'AuthorizationVoided',
  'PaymentRefunded',
  'OrderCancelled',
  'PaymentRequested',
  'PaymentProcessingStarted',
  'PaymentDeclined',
];
