/** Business rules a command can break; each slug is also the HTTP problem type. */
export type RejectionRule =
  | 'order-already-exists'
  | 'order-not-found'
  | 'payment-already-captured'
  | 'currency-mismatch'
  | 'capture-exceeds-outstanding';

export class DomainRejection extends Error {
  override readonly name = 'DomainRejection';
  constructor(
    readonly rule: RejectionRule,
    message: string,
  ) {
    super(message);
  }
}
