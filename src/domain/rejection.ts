/** Business rules an order command can break; each slug is also the HTTP problem type. */
export const ORDER_REJECTIONS = [
  'order-already-exists',
  'order-not-found',
  'payment-already-captured',
  'currency-mismatch',
  'capture-exceeds-outstanding',
  'payment-id-in-use',
  'payment-not-found',
  'authorization-not-found',
  'authorization-exceeds-outstanding',
  'authorization-already-captured',
  'authorization-voided',
  'capture-exceeds-authorization',
  'refund-exceeds-captured',
  'refund-already-recorded',
  'order-cancelled',
  'order-has-net-captured',
] as const;

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
