import type { OrderCommand } from './commands.ts';

/** Business rules a command can break, by the command that can break them; each slug is also the HTTP problem type. */
export const REJECTIONS = {
  CreateOrder: ['order-already-exists'],
  CapturePayment: ['order-not-found', 'payment-already-captured', 'currency-mismatch', 'capture-exceeds-outstanding'],
} as const satisfies { readonly [T in OrderCommand['type']]: readonly string[] };

export type RejectionRule = (typeof REJECTIONS)[OrderCommand['type']][number];

export class DomainRejection extends Error {
  override readonly name = 'DomainRejection';
  constructor(
    readonly rule: RejectionRule,
    message: string,
  ) {
    super(message);
  }
}
