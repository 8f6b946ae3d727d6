import type { OrderCommand } from './commands.ts';

/** Business rules an order command can break, by the command that can break them; each slug is an HTTP problem type. */
export const REJECTIONS = {
  CreateOrder: ['order-already-exists'],
  CapturePayment: ['order-not-found', 'payment-already-captured', 'currency-mismatch', 'capture-exceeds-outstanding'],
} as const satisfies { readonly [T in OrderCommand['type']]: readonly string[] };

/** Every rule an order command can break: the order decider's rejection list. */
export const ORDER_REJECTIONS = [...REJECTIONS.CreateOrder, ...REJECTIONS.CapturePayment] as const;

export type RejectionRule = (typeof ORDER_REJECTIONS)[number];

export class DomainRejection extends Error {
  override readonly name = 'DomainRejection';
  constructor(
    readonly rule: RejectionRule,
    message: string,
  ) {
    super(message);
  }
}
