import type { OrderCommand } from './commands.ts';

/** Business rules an order command can break, by the command that can break them; each slug is an HTTP problem type. */
export const REJECTIONS = {
  CreateOrder: ['order-already-exists'],
  CapturePayment: [
    'order-not-found',
    'payment-already-captured',
    'currency-mismatch',
    'capture-exceeds-outstanding',
    'payment-id-in-use',
    'order-cancelled',
  ],
  AuthorizePayment: [
    'order-not-found',
    'authorization-exceeds-outstanding',
    'payment-id-in-use',
    'currency-mismatch',
    'order-cancelled',
  ],
  CaptureAuthorization: [
    'order-not-found',
    'authorization-not-found',
    'authorization-already-captured',
    'authorization-voided',
    'capture-exceeds-authorization',
    'order-cancelled',
  ],
  VoidAuthorization: ['order-not-found', 'authorization-not-found', 'authorization-already-captured'],
  RefundPayment: [
    'order-not-found',
    'payment-not-found',
    'refund-exceeds-captured',
    'refund-already-recorded',
    'order-cancelled',
  ],
  CancelOrder: ['order-not-found', 'order-has-net-captured', 'order-has-pending-payments'],
  RequestPayment: [
    'order-not-found',
    'payment-id-in-use',
    'currency-mismatch',
    'capture-exceeds-outstanding',
    'order-cancelled',
  ],
  StartPaymentProcessing: [
    'order-not-found',
    'payment-request-not-found',
    'payment-request-resolved',
    'payment-claimed',
    'payment-key-window-expired',
  ],
  RecordPaymentOutcome: [
    'order-not-found',
    'payment-request-not-found',
    'payment-outcome-conflict',
    'payment-outcome-amount-mismatch',
    'psp-reference-in-use',
  ],
} as const satisfies { readonly [T in OrderCommand['type']]: readonly string[] };

type ListedRule = (typeof REJECTIONS)[keyof typeof REJECTIONS][number];

/** Every rule an order command can break, each once: the order decider's rejection list. */
export const ORDER_REJECTIONS: readonly ListedRule[] = [...new Set(Object.values(REJECTIONS).flat())];

export type RejectionRule = ListedRule;

export class DomainRejection extends Error {
  override readonly name = 'DomainRejection';
  constructor(
    readonly rule: RejectionRule,
    message: string,
  ) {
    super(message);
  }
}
