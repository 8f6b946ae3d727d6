import { z } from 'zod';
import {
  OrderCancelledData,
  OrderCreatedData,
  OrderLine,
  PaymentAuthorizedData,
  PaymentCapturedData,
  PaymentDeclinedData,
  PaymentProcessingStartedData,
  PaymentRefundedData,
  PaymentRequestedData,
  PspReference,
} from './events.ts';
import {
  MAX_AMOUNT,
  MinorUnits,
  multiplyMinorUnits,
  addMinorUnits,
  RequestedMinorUnits,
  RequestedPositiveMinorUnits,
} from './money.ts';

/** What an order asks for, apart from its id: the HTTP body and the command share it. */
export const OrderDetails = z.strictObject({
  customerId: OrderCreatedData.shape.customerId,
  currency: OrderCreatedData.shape.currency,
  lines: OrderCreatedData.shape.lines,
});

/** The total must stay exact, so an order too large is refused as a field error, never rounded. */
export function checkOrderTotal(
  order: { lines: readonly { quantity: number; unitPrice: number }[] },
  ctx: z.RefinementCtx,
): void {
  try {
    orderTotal(order.lines);
  } catch {
    ctx.addIssue({ code: 'custom', path: ['lines'], message: 'order total exceeds the exact integer range' });
  }
}

/**
 * A new order as a client may ask for it: the stored shape, with every money value within
 * MAX_AMOUNT (unit prices, each line's total, the order's total). Commands rebuilt from events an
 * earlier version stored (CreateOrder) keep the wider stored range, so old logs still replay.
 */
export const OrderRequest = OrderDetails.extend({
  lines: z
    .array(OrderLine.extend({ unitPrice: RequestedMinorUnits }))
    .min(1)
    .max(100),
}).superRefine(checkRequestedAmounts);

/** A capture's amount as a client may ask for it. */
export const RequestedAmount = RequestedPositiveMinorUnits;

function checkRequestedAmounts(
  order: { lines: readonly { quantity: number; unitPrice: number }[] },
  ctx: z.RefinementCtx,
): void {
  // Bigints: a line can be 10^6 × 10^15, far past where number products are exact.
  const cap = BigInt(MAX_AMOUNT);
  const overCap = (what: string) => `${what} must be at most ${MAX_AMOUNT} minor units`;
  let total = 0n;
  order.lines.forEach((line, index) => {
    const lineTotal = BigInt(line.unitPrice) * BigInt(line.quantity);
    if (lineTotal > cap) {
      ctx.addIssue({ code: 'custom', path: ['lines', index], message: overCap('line total') });
    }
    total += lineTotal;
  });
  if (total > cap) ctx.addIssue({ code: 'custom', path: ['lines'], message: overCap('order total') });
}

export const CreateOrder = OrderDetails.extend({
  type: z.literal('CreateOrder'),
  orderId: OrderCreatedData.shape.orderId,
}).superRefine(checkOrderTotal);

export const CapturePayment = z.strictObject({
  type: z.literal('CapturePayment'),
  orderId: PaymentCapturedData.shape.orderId,
  paymentId: PaymentCapturedData.shape.paymentId,
  amount: PaymentCapturedData.shape.amount,
  currency: PaymentCapturedData.shape.currency,
});

export const AuthorizePayment = PaymentAuthorizedData.extend({ type: z.literal('AuthorizePayment') });

/** Without an amount it captures all that was authorized. */
export const CaptureAuthorization = z.strictObject({
  type: z.literal('CaptureAuthorization'),
  orderId: PaymentCapturedData.shape.orderId,
  paymentId: PaymentCapturedData.shape.paymentId,
  amount: PaymentCapturedData.shape.amount.optional(),
});

export const VoidAuthorization = z.strictObject({
  type: z.literal('VoidAuthorization'),
  orderId: PaymentCapturedData.shape.orderId,
  paymentId: PaymentCapturedData.shape.paymentId,
});

/** A refund is in the currency of the payment it refunds. */
export const RefundPayment = PaymentRefundedData.omit({ currency: true }).extend({ type: z.literal('RefundPayment') });

export const CancelOrder = OrderCancelledData.extend({ type: z.literal('CancelOrder') });

/** A capture for the payment processor to make through the PSP; the HTTP answer is 202 and a later outcome. */
export const RequestPayment = PaymentRequestedData.extend({
  type: z.literal('RequestPayment'),
  amount: RequestedAmount,
});

/**
 * A processor claims a request before it calls the PSP. Time comes in the command so the decider
 * stays pure: a claim another processor holds is taken over only once its own lease has run out,
 * and none is made once `keyWindowMs` has passed since the first claim (the PSP may have forgotten
 * the idempotency key by then, and a call could charge again). Lease and window are recorded in
 * the claim, so it can be decided again from the log alone.
 */
export const StartPaymentProcessing = z.strictObject({
  type: z.literal('StartPaymentProcessing'),
  orderId: PaymentProcessingStartedData.shape.orderId,
  paymentId: PaymentProcessingStartedData.shape.paymentId,
  processorId: PaymentProcessingStartedData.shape.processorId,
  at: PaymentProcessingStartedData.shape.at,
  leaseMs: PaymentProcessingStartedData.shape.leaseMs,
  keyWindowMs: PaymentProcessingStartedData.shape.keyWindowMs,
});

export const PaymentOutcome = z.discriminatedUnion('kind', [
  z.strictObject({ kind: z.literal('captured'), pspReference: PspReference }),
  z.strictObject({
    kind: z.literal('declined'),
    code: PaymentDeclinedData.shape.code,
    message: PaymentDeclinedData.shape.message,
    pspReference: PspReference.optional(),
  }),
]);
export type PaymentOutcome = z.infer<typeof PaymentOutcome>;

/**
 * The money a PSP's report says its charge was for, as it spelled it (the currency upper-cased):
 * evidence from outside, so any amount and currency the report carries, for the decider to compare.
 */
export const ReportedCharge = z.strictObject({
  amount: MinorUnits,
  currency: z.string().min(1).max(16),
});
export type ReportedCharge = z.infer<typeof ReportedCharge>;

/** What the PSP said about a request, from the processor's call or from the PSP's webhook. */
export const RecordPaymentOutcome = z.strictObject({
  type: z.literal('RecordPaymentOutcome'),
  orderId: PaymentRequestedData.shape.orderId,
  paymentId: PaymentRequestedData.shape.paymentId,
  outcome: PaymentOutcome,
  source: PaymentDeclinedData.shape.source,
  pspEventId: PaymentDeclinedData.shape.pspEventId,
  /** What the charge was for, when the report says (a webhook's intent does; the processor checks its own). */
  charged: ReportedCharge.optional(),
});

export type CreateOrder = z.infer<typeof CreateOrder>;
export type CapturePayment = z.infer<typeof CapturePayment>;
export type AuthorizePayment = z.infer<typeof AuthorizePayment>;
export type CaptureAuthorization = z.infer<typeof CaptureAuthorization>;
export type VoidAuthorization = z.infer<typeof VoidAuthorization>;
export type RefundPayment = z.infer<typeof RefundPayment>;
export type CancelOrder = z.infer<typeof CancelOrder>;
export type RequestPayment = z.infer<typeof RequestPayment>;
export type StartPaymentProcessing = z.infer<typeof StartPaymentProcessing>;
export type RecordPaymentOutcome = z.infer<typeof RecordPaymentOutcome>;
export type OrderCommand =
  | CreateOrder
  | CapturePayment
  | AuthorizePayment
  | CaptureAuthorization
  | VoidAuthorization
  | RefundPayment
  | CancelOrder
  | RequestPayment
  | StartPaymentProcessing
  | RecordPaymentOutcome;

export function orderTotal(lines: readonly { quantity: number; unitPrice: number }[]): number {
  return lines.reduce((sum, line) => addMinorUnits(sum, multiplyMinorUnits(line.unitPrice, line.quantity)), 0);
}

export const OrderCommand = z.union([
  CreateOrder,
  CapturePayment,
  AuthorizePayment,
  CaptureAuthorization,
  VoidAuthorization,
  RefundPayment,
  CancelOrder,
  RequestPayment,
  StartPaymentProcessing,
  RecordPaymentOutcome,
]);
