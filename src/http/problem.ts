/**
 * RFC 9457 problem details. Every error the API returns is one of these slugs; the slug is
 * the stable contract (`type` ends in /problems/<slug>) and the server serves a short page for it.
 */
export const PROBLEM_TYPES = {
  'validation-failed': {
    status: 400,
    title: 'The request does not match its schema',
    description:
      'A parameter, header or body field is missing or malformed. `errors` lists each one with its JSON path. Fix the request; retrying it unchanged will fail the same way.',
  },
  'bad-request': {
    status: 400,
    title: 'The request is malformed',
    description:
      'The request line, a header or the framing of the body is not valid HTTP for this API (for example a badly percent-encoded path).',
  },
  'malformed-json': {
    status: 400,
    title: 'The body is not valid JSON',
    description: 'The request body could not be parsed as JSON.',
  },
  'idempotency-key-missing': {
    status: 400,
    title: 'An Idempotency-Key header is required',
    description:
      'This route creates something whose identity comes from your key. Send `Idempotency-Key` with a unique value per logical operation, and the same value on every retry of it.',
  },
  'idempotency-key-invalid': {
    status: 400,
    title: 'The Idempotency-Key header is malformed',
    description: 'Keys are 1–255 printable ASCII characters, sent bare or as a quoted structured-field string.',
  },
  unauthorized: {
    status: 401,
    title: 'Authentication is required',
    description: 'Send `Authorization: Bearer <secret>` with one of the API keys this ledger was configured with.',
  },
  forbidden: {
    status: 403,
    title: 'This API key may not do that',
    description: 'The key has the auditor role: it reads all orders, events and reports, and sends no commands.',
  },
  'order-not-found': {
    status: 404,
    title: 'The order does not exist',
    description: 'No order of yours has this id. Create it first with PUT /orders/{orderId} or POST /orders.',
  },
  'customer-not-found': {
    status: 404,
    title: 'The customer has no orders',
    description: 'Customers appear in the read model with their first order; none was found under this id.',
  },
  'not-found': { status: 404, title: 'No such resource', description: 'Nothing is served at this path.' },
  'order-already-exists': {
    status: 409,
    title: 'The order already exists with different details',
    description:
      'An order with this id was created by a different request. Use a new order id, or resend the original request to get the original result.',
  },
  'payment-already-captured': {
    status: 409,
    title: 'This payment id was already captured with a different amount or currency',
    description:
      'A paymentId names one capture. Resend the original request to get its result, or use a new paymentId for a new capture.',
  },
  'currency-mismatch': {
    status: 409,
    title: 'The payment currency differs from the order currency',
    description: 'Captures must be in the order’s currency.',
  },
  'capture-exceeds-outstanding': {
    status: 409,
    title: 'The capture exceeds what is outstanding on the order',
    description: 'The amount is larger than the order total less what was already captured.',
  },
  'payment-id-in-use': {
    status: 409,
    title: 'This payment id already names another payment',
    description:
      'A paymentId names one payment on an order: one direct capture, or one authorization with its amount ' +
      'and currency. Use a new paymentId, or resend the original request to get its result.',
  },
  'payment-not-found': {
    status: 404,
    title: 'The payment was not captured',
    description: 'No payment with this id was captured on the order, so there is nothing to refund.',
  },
  'authorization-not-found': {
    status: 404,
    title: 'The authorization does not exist',
    description:
      'No authorization with this id was made on the order. Authorize first with POST ' +
      '/orders/{orderId}/authorizations.',
  },
  'authorization-exceeds-outstanding': {
    status: 409,
    title: 'The authorization exceeds what is outstanding on the order',
    description: 'Open holds plus what is captured net of refunds may not exceed the order total.',
  },
  'authorization-already-captured': {
    status: 409,
    title: 'The authorization was already captured',
    description:
      'An authorization is captured at most once, and a captured one cannot be voided. Resend the original ' +
      'capture to get its result.',
  },
  'authorization-voided': {
    status: 409,
    title: 'The authorization was voided',
    description:
      'A voided authorization holds nothing and can never be captured. Authorize again with a new ' + 'paymentId.',
  },
  'capture-exceeds-authorization': {
    status: 409,
    title: 'The capture exceeds the authorized amount',
    description: 'An authorization is captured for at most its authorized amount (all of it when no amount is given).',
  },
  'refund-exceeds-captured': {
    status: 409,
    title: 'The refund exceeds what is left of the payment',
    description: 'The refunds of a payment sum to at most its captured amount.',
  },
  'refund-already-recorded': {
    status: 409,
    title: 'This refund id was already recorded with a different request',
    description:
      'A refundId names one refund of one payment. Resend the original request to get its result, or use a ' +
      'new refundId.',
  },
  'order-cancelled': {
    status: 409,
    title: 'The order is cancelled',
    description: 'A cancelled order takes no more authorizations, captures or refunds.',
  },
  'order-has-net-captured': {
    status: 409,
    title: 'The order has money captured',
    description: 'An order is cancelled only while nothing is captured net of refunds. Refund its payments first.',
  },
  'order-has-pending-payments': {
    status: 409,
    title: 'The order has payment requests still pending',
    description:
      'A payment requested with `Prefer: respond-async` may be charged at any moment, so the order is cancelled ' +
      'only once every request has its outcome. Poll the payments, refund what was captured, then cancel.',
  },
  'payment-request-not-found': {
    status: 404,
    title: 'The payment request does not exist',
    description: 'No payment with this id was requested from the payment service provider on the order.',
  },
  'payment-request-resolved': {
    status: 409,
    title: 'The payment request already has its outcome',
    description: 'The request was captured or declined; nothing is left to process.',
  },
  'payment-claimed': {
    status: 409,
    title: 'Another processor is working on the payment request',
    description: 'Its claim holds until its lease runs out; only then may another processor take the request over.',
  },
  'payment-key-window-expired': {
    status: 409,
    title: 'The payment request is older than the PSP keeps idempotency keys',
    description:
      'Calling again could charge a second time, since the PSP may have forgotten the key. An operator must ' +
      'look the charge up at the PSP and record its outcome.',
  },
  'payment-outcome-conflict': {
    status: 409,
    title: 'The payment request already has a different outcome',
    description: 'A payment request has one outcome; a conflicting report of it is logged, never recorded.',
  },
  'payment-outcome-amount-mismatch': {
    status: 409,
    title: 'The PSP reports a capture of other money than was requested',
    description:
      'A capture is recorded only for the amount and currency of its request. The report is logged and not ' +
      'recorded; the request stays pending for an operator to settle with the PSP.',
  },
  'psp-reference-in-use': {
    status: 409,
    title: 'This PSP reference already names another payment of the order',
    description: 'A charge of the payment service provider is recorded for one payment request only.',
  },
  'webhook-signature-invalid': {
    status: 400,
    title: 'The webhook signature does not verify',
    description:
      'The `Stripe-Signature` header is missing, malformed, older than the tolerance (5 minutes), or not made ' +
      "with this endpoint's signing secret over the raw body. Nothing was recorded.",
  },
  'psp-not-configured': {
    status: 501,
    title: 'No payment service provider is configured',
    description:
      'Asynchronous captures (`Prefer: respond-async`) need a PSP (`LEDGER_PSP`). Nothing was written; ' +
      'record a capture made elsewhere without the preference.',
  },
  'payment-buffer-full': {
    status: 503,
    retryAfter: true,
    title: 'Too many payment requests are pending',
    description:
      'The buffer of payment requests waiting for the PSP is full, or not counted yet just after start-up. ' +
      'Nothing was written. Retry after the delay ' +
      'in Retry-After with the same request and Idempotency-Key.',
  },
  'idempotency-key-reused': {
    status: 422,
    title: 'This Idempotency-Key was used with a different request',
    description:
      'A key is bound, for ever, to the first request that used it: method, route, path parameters and body. ' +
      'Resending that request returns its original answer; any other request with the key is refused ' +
      '(`differs` says whether the route, the resource or the body differs) and nothing is written. ' +
      'Use a fresh key for a new operation.',
  },
  'revision-mismatch': {
    status: 412,
    title: 'The order has changed since the revision in If-Match',
    description: 'Re-read the order, check your decision against its current state, and retry with the new ETag.',
  },
  'payload-too-large': {
    status: 413,
    title: 'The request body is too large',
    description: 'Bodies are limited to 64 KiB.',
  },
  'unsupported-media-type': {
    status: 415,
    title: 'The request body must be application/json',
    description: 'Send `Content-Type: application/json` (UTF-8: no other charset), without `Content-Encoding`.',
  },
  'method-not-allowed': {
    status: 405,
    title: 'Method not allowed',
    description: 'This path does not accept that method. `Allow` lists the ones it does.',
  },
  'request-timeout': {
    status: 408,
    title: 'The request was not received in time',
    description:
      'The headers and body must arrive whole within the request timeout (10 s by default). Nothing was done; send the request again at a normal pace.',
  },
  'headers-too-large': {
    status: 431,
    title: 'The request headers are too large',
    description: 'The request line and headers together are limited to 16 KiB.',
  },
  'rate-limited': {
    status: 429,
    retryAfter: true,
    title: 'Too many requests',
    description:
      'This client (its API key, else its address) sent more requests than the configured rate allows. Nothing ' +
      'was done. Retry after the delay in Retry-After.',
  },
  overloaded: {
    status: 503,
    retryAfter: true,
    title: 'The ledger is overloaded',
    description:
      'The server is shedding load (its event loop lags past the configured bound). Nothing was done. Retry after ' +
      'the delay in Retry-After.',
  },
  'concurrency-conflict': {
    status: 503,
    retryAfter: true,
    title: 'The order is too contended right now',
    description:
      'Other writers kept changing this order. Retry after the delay in Retry-After with the same Idempotency-Key.',
  },
  'store-unavailable': {
    status: 503,
    retryAfter: true,
    title: 'The event store is unavailable',
    description:
      'The store is down, full or busy. Nothing was written. Retry after the delay in Retry-After with the same request and Idempotency-Key.',
  },
  'not-ready': {
    status: 503,
    retryAfter: true,
    title: 'The ledger is not ready to serve',
    description:
      'A readiness check failed (the event store or a projection). `checks` lists each one. Retry after the delay in Retry-After.',
  },
  'projection-lagging': {
    status: 503,
    retryAfter: true,
    title: 'The read model has not reached the requested position yet',
    description: 'The projection is behind `minPosition`. Retry after the delay in Retry-After.',
  },
  'projection-failed': {
    status: 503,
    title: 'The read model this needs is stopped by a failing projection',
    description:
      'A projection handler failed on an event, so the projection stopped there and its data would be stale. ' +
      'It is a bug in the ledger, not in your request: other reads and every command still work. ' +
      'Operators: `GET /projections` and the logs name the event.',
  },
  'event-corrupt': {
    status: 500,
    title: 'A stored event cannot be trusted',
    description:
      'A stored record of this order cannot be decoded, fails its schema or breaks its hash chain, so the ledger ' +
      'refuses to decide on it; nothing was written. `streamId`, `revision` and `position` name the record. ' +
      'Operators: run `ledger replay` to see every such record.',
  },
  'internal-error': {
    status: 500,
    title: 'Internal error',
    description: 'Something failed inside the ledger. The request id in the logs identifies it.',
  },
} as const satisfies Record<string, ProblemType>;

/** `retryAfter`: the answer always carries Retry-After (the condition passes; the same request may then succeed). */
interface ProblemType {
  readonly status: number;
  readonly title: string;
  readonly description: string;
  readonly retryAfter?: true;
}

export type ProblemSlug = keyof typeof PROBLEM_TYPES;

export const problemTypeUri = (slug: ProblemSlug): string => `/problems/${slug}`;

export interface FieldError {
  readonly path: string;
  readonly message: string;
}

/** Thrown anywhere in the HTTP layer; the one error handler renders it as application/problem+json. */
export class Problem extends Error {
  override readonly name = 'Problem';
  readonly status: number;
  constructor(
    readonly slug: ProblemSlug,
    readonly detail: string,
    readonly extras: {
      readonly errors?: readonly FieldError[];
      readonly retryAfterSeconds?: number;
      readonly [key: string]: unknown;
    } = {},
  ) {
    super(detail);
    this.status = PROBLEM_TYPES[slug].status;
  }

  toJSON(instance?: string): Record<string, unknown> {
    const { retryAfterSeconds: _header, ...members } = this.extras;
    return {
      type: problemTypeUri(this.slug),
      title: PROBLEM_TYPES[this.slug].title,
      status: this.status,
      detail: this.detail,
      ...(instance !== undefined && { instance }),
      ...members,
    };
  }
}
