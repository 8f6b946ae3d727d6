/**
 * Every header the API sets on its answers, documented once: the OpenAPI document draws each
 * response's headers from this table, so a header is described the same way wherever it appears.
 */
export interface HeaderDoc {
  readonly description: string;
  readonly required: boolean;
  readonly schema: Record<string, unknown>;
}

const token = (pattern: string, example: string) => ({ type: 'string', pattern, examples: [example] });

export const RESPONSE_HEADERS = {
  'x-request-id': {
    description:
      'The id of this request in the logs: your X-Request-Id when it is 1-128 printable characters without spaces, ' +
      'else one the ledger chose',
    required: true,
    schema: token('^[\\x21-\\x7e]{1,128}$', '0b0c7a3e-5d1f-4c1e-9a57-2f8e0c3d4b6a'),
  },
  'x-correlation-id': {
    description:
      'Your X-Correlation-Id when usable (1-128 printable characters without spaces), else the request id; ' +
      'recorded in the metadata of the events this request writes, and in every log line of the request',
    required: true,
    schema: token('^[\\x21-\\x7e]{1,128}$', 'checkout-7f3a'),
  },
  'idempotency-key': {
    description: 'Your Idempotency-Key, echoed when it can be echoed verbatim',
    required: false,
    schema: { type: 'string', examples: ['order-2026-0001'] },
  },
  etag: {
    description: 'The revision of the order stream as a strong ETag; send it back in If-Match or If-None-Match',
    required: true,
    schema: token('^"\\d+"$', '"1"'),
  },
  location: {
    description: 'Where the resource this command created or changed is read',
    required: true,
    schema: { type: 'string', examples: ['/orders/ord-1001'] },
  },
  'idempotent-replayed': {
    description:
      'Present (`true`) when this is the recorded answer to an earlier identical request: nothing new was written',
    required: false,
    schema: { type: 'string', enum: ['true'] },
  },
  'retry-after': {
    description: 'Seconds to wait before retrying the same request (with the same Idempotency-Key)',
    required: true,
    schema: token('^\\d+$', '1'),
  },
  'www-authenticate': {
    description: 'The scheme to authenticate with: Bearer',
    required: true,
    schema: { type: 'string', examples: ['Bearer realm="order-ledger"'] },
  },
  'preference-applied': {
    description: 'The Prefer preference this answer honoured (RFC 7240)',
    required: true,
    schema: { type: 'string', examples: ['respond-async'] },
  },
} as const satisfies Record<string, HeaderDoc>;

export type ResponseHeader = keyof typeof RESPONSE_HEADERS;
