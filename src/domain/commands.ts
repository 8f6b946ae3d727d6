import { z } from 'zod';
import { OrderCreatedData, PaymentCapturedData } from './events.ts';
import { multiplyMinorUnits, addMinorUnits } from './money.ts';

export const CreateOrder = z
  .strictObject({
    type: z.literal('CreateOrder'),
    orderId: OrderCreatedData.shape.orderId,
    customerId: OrderCreatedData.shape.customerId,
    currency: OrderCreatedData.shape.currency,
    lines: OrderCreatedData.shape.lines,
  })
  .superRefine((command, ctx) => {
    try {
      orderTotal(command.lines);
    } catch {
      ctx.addIssue({ code: 'custom', path: ['lines'], message: 'order total exceeds the exact integer range' });
    }
  });

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
