/**
 * The port through which the payment processor drives a payment service provider (PSP).
 * A charge is named by its idempotency key, derived from the ledger's payment identity, so asking
 * again with the same key is how an unknown outcome (sent, no answer) is resolved: the PSP answers
 * with the charge it already made instead of making another.
 */

export interface ChargeRequest {
  /** Derived from (orderId, paymentId) only: every attempt by every processor sends the same key. */
  readonly idempotencyKey: string;
  readonly orderId: string;
  readonly paymentId: string;
  /** Integer minor units. */
  readonly amount: number;
  /** ISO 4217, upper case as the ledger stores it; adapters convert to the PSP's spelling. */
  readonly currency: string;
  /** The PSP's payment method reference, e.g. Stripe's `pm_card_visa`. */
  readonly paymentMethod: string;
}

export type ChargeOutcome =
  | { readonly kind: 'captured'; readonly pspReference: string }
  | { readonly kind: 'declined'; readonly code: string; readonly message: string; readonly pspReference?: string };

/**
 * Retrying with the same key may succeed: a timeout, a 5xx, a reset connection, a 409 for a
 * concurrent request with the same key, a rate limit. The outcome of the call is unknown.
 */
export class TransientGatewayError extends Error {
  override readonly name = 'TransientGatewayError';
  constructor(
    message: string,
    readonly retryAfterMs?: number,
  ) {
    super(message);
  }
}

/**
 * Retrying cannot help and nothing was charged: bad credentials, a request the PSP refuses as
 * malformed, the same key sent with other parameters. The payment stays pending for an operator.
 */
export class PermanentGatewayError extends Error {
  override readonly name = 'PermanentGatewayError';
  constructor(
    message: string,
    readonly code: string,
  ) {
    super(message);
  }
}

export interface PaymentGateway {
  /** For logs and metrics ("stripe"). */
  readonly name: string;
  /**
   * Charges once per idempotency key. Resolves with the outcome (a decline is an outcome, not an
   * error); throws TransientGatewayError or PermanentGatewayError. Never retries by itself.
   */
  charge(request: ChargeRequest, signal?: AbortSignal): Promise<ChargeOutcome>;
  close?(): Promise<void>;
}
