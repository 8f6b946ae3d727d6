import { z } from 'zod';
import { OrderCreatedData, PaymentCapturedData } from './events.ts';
import { multiplyMinorUnits, addMinorUnits } from './money.ts';

/** What an order asks for, apart from its id: the HTTP body and the command share it. */
export const OrderDetails = z.strictObject({
  customerId: OrderCreatedData.shape.customerId,
  currency: OrderCreatedData.shape.currency,
  lines: OrderCreatedData.shape.lines,
});

/** The total must stay exact, so an order too large is refused as a field error, never rounded. */
export function checkOrderTotal(order: { lines: readonly { quantity: number; unitPrice: number }[] }, ctx: z.RefinementCtx): void {
  try {
    orderTotal(order.lines);
  } catch {
    ctx.addIssue({ code: 'custom', path: ['lines'], message: 'order total exceeds the exact integer range' });
  }
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

export type CreateOrder = z.infer<typeof CreateOrder>;
export type CapturePayment = z.infer<typeof CapturePayment>;
export type OrderCommand = CreateOrder | CapturePayment;

export function orderTotal(lines: readonly { quantity: number; unitPrice: number }[]): number {
  return lines.reduce((sum, line) => addMinorUnits(sum, multiplyMinorUnits(line.unitPrice, line.quantity)), 0);
}

export const OrderCommand = z.union([CreateOrder, CapturePayment]);
