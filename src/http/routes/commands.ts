/**
 * The command routes. Each builds a domain command, lets the dispatcher run it, and answers
 * 201 with the resource as the stream recorded it: a replay therefore returns the original
 * body byte for byte (times come from the stored event's metadata, not from the clock).
 */
import { randomUUID } from 'node:crypto';
import type { FastifyReply, FastifyRequest } from 'fastify';
import type { FastifyPluginAsyncZod } from 'fastify-type-provider-zod';
import { z } from 'zod';
import type { CommandOutcome } from '../../commands/handler.ts';
import { requestFingerprint } from '../../commands/idempotency-key.ts';
import type { CommandRequest, ResourceIds } from '../../commands/key-binding.ts';
import { type OrderCommand, OrderRequest, RequestedAmount } from '../../domain/commands.ts';
import {
  type OrderEvent,
  OrderCancelledData,
  OrderLine,
  PaymentCapturedData,
  PaymentMethod,
} from '../../domain/events.ts';
import { EntityId } from '../../domain/ids.ts';
import { REJECTIONS } from '../../domain/rejection.ts';
import type { CommandContext, EventMetadata } from '../../events/metadata.ts';
import { etagOf, optionalIdempotencyKey, parseIfMatch, requiredIdempotencyKey } from '../headers.ts';
import { prefersRespondAsync } from '../prefer.ts';
import { Problem } from '../problem.ts';
import { REQUIRED_PARAMETER } from '../openapi.ts';
import { answer, DecimalString, OrderIdParams, problemResponses } from '../schemas.ts';

const ORDER_ROUTE = '/orders/:orderId';
const ORDERS_ROUTE = '/orders';
const PAYMENTS_ROUTE = '/orders/:orderId/payments';
const AUTHORIZATIONS_ROUTE = '/orders/:orderId/authorizations';
const CAPTURE_ROUTE = '/orders/:orderId/authorizations/:paymentId/capture';
const VOID_ROUTE = '/orders/:orderId/authorizations/:paymentId/void';
const REFUNDS_ROUTE = '/orders/:orderId/payments/:paymentId/refunds';
const CANCEL_ROUTE = '/orders/:orderId/cancel';

const paymentParams = (paymentId: string) =>
  OrderIdParams.extend({
    paymentId: EntityId.describe('the payment (or authorization) id').meta({ examples: [paymentId] }),
  });

const KEY_RULES =
  '1-255 printable ASCII characters, bare or as a quoted structured-field string; scoped to your API key, ' +
  'bound for ever to the first request that used it (method, route, path parameters, body)';

const commandHeaders = (key: z.ZodType) =>
  z.looseObject({
    'idempotency-key': key,
    'if-match': z.string().optional().describe('"<revision>" (an ETag from this API): 412 if the order has moved on'),
    'x-correlation-id': z.string().optional().describe('echoed, and recorded in the event metadata'),
  });

const CommandHeaders = commandHeaders(z.string().optional().describe(KEY_RULES));

/** Where the body names no id, the key does: required (the route answers idempotency-key-missing without one). */
const KeyNamedHeaders = commandHeaders(
  z.string().optional().describe(`required when the body names no id (the key then names the resource); ${KEY_RULES}`),
);

const KeyRequiredHeaders = commandHeaders(
  z
    .string()
    .optional()
    .describe(`required: the order id the ledger chooses is kept with it; ${KEY_RULES}`)
    .meta({ examples: ['order-2026-0001'], [REQUIRED_PARAMETER]: true }),
);

const PaymentHeaders = KeyNamedHeaders.extend({
  prefer: z
    .string()
    .optional()
    .describe(
      'respond-async (RFC 7240): the ledger charges the payment method through its PSP later and answers 202 ' +
        'at once; poll the Location. Without it the capture is recorded as made elsewhere (201).',
    ),
});

/** Exported for the benchmark's no-op ceiling, which must validate exactly the same bodies. */
export const OrderBody = OrderRequest.meta({
  examples: [{ customerId: 'cust-42', currency: 'EUR', lines: [{ sku: 'BOOK-1', quantity: 2, unitPrice: 1999 }] }],
});

// The examples run in a row on one order (3998 EUR): authorize 1500 and capture 1000 of it, capture 1998
// directly, refund 500 of that. Void and cancel need an order with nothing captured: a second one.

export const PaymentBody = z
  .strictObject({
    paymentId: PaymentCapturedData.shape.paymentId
      .optional()
      .describe('omit it to let the ledger choose a random id, kept with your Idempotency-Key'),
    amount: RequestedAmount,
    currency: PaymentCapturedData.shape.currency,
  })
  .meta({ examples: [{ paymentId: 'pay-1', amount: 1998, currency: 'EUR' }] });

/** A capture, or with Prefer: respond-async a request to charge `paymentMethod` through the PSP. */
export const CaptureOrRequestBody = PaymentBody.extend({
  paymentMethod: PaymentMethod.optional().describe(
    "with Prefer: respond-async only (required then): the PSP's payment method, e.g. pm_card_visa",
  ),
}).meta({
  examples: [
    { paymentId: 'pay-1', amount: 1998, currency: 'EUR' },
    { paymentId: 'pay-2', amount: 1000, currency: 'EUR', paymentMethod: 'pm_card_visa' },
  ],
});

export const AuthorizationBody = PaymentBody.meta({
  examples: [{ paymentId: 'auth-1', amount: 1500, currency: 'EUR' }],
});

export const CaptureAuthorizationBody = z
  .strictObject({ amount: RequestedAmount.optional().describe('at most the authorized amount; omit it for all of it') })
  .meta({ examples: [{ amount: 1000 }] });

export const VoidBody = z.strictObject({}).meta({ examples: [{}] });

export const RefundBody = z
  .strictObject({
    refundId: PaymentCapturedData.shape.paymentId
      .optional()
      .describe('omit it to let the ledger choose a random id, kept with your Idempotency-Key'),
    amount: RequestedAmount,
  })
  .meta({ examples: [{ refundId: 'refund-1', amount: 500 }] });

export const CancelBody = z.strictObject({ reason: OrderCancelledData.shape.reason }).meta({
  examples: [{ reason: 'customer changed their mind' }],
});

const OrderResponse = z.object({
  orderId: z.string(),
  customerId: z.string(),
  currency: z.string(),
  lines: z.array(OrderLine),
  total: z.number().int(),
  revision: DecimalString,
  position: DecimalString,
  createdAt: z.string().describe('when the ledger recorded the order'),
});

const PaymentResponse = z.object({
  orderId: z.string(),
  paymentId: z.string(),
  amount: z.number().int(),
  currency: z.string(),
  capturedAt: z.string().describe('when the ledger recorded the capture'),
  revision: DecimalString,
  position: DecimalString,
});

const PaymentRequestResponse = z.object({
  orderId: z.string(),
  paymentId: z.string(),
  amount: z.number().int(),
  currency: z.string(),
  paymentMethod: z.string(),
  status: z.literal('pending').describe('as recorded; GET the Location for the outcome'),
  requestedAt: z.string().describe('when the ledger recorded the request'),
  revision: DecimalString,
  position: DecimalString,
});

const AuthorizationResponse = z.object({
  orderId: z.string(),
  paymentId: z.string(),
  amount: z.number().int(),
  currency: z.string(),
  authorizedAt: z.string().describe('when the ledger recorded the authorization'),
  revision: DecimalString,
  position: DecimalString,
});

const VoidResponse = z.object({
  orderId: z.string(),
  paymentId: z.string(),
  voidedAt: z.string().describe('when the ledger recorded the void'),
  revision: DecimalString,
  position: DecimalString,
});

const RefundResponse = z.object({
  orderId: z.string(),
  paymentId: z.string(),
  refundId: z.string(),
  amount: z.number().int(),
  currency: z.string(),
  refundedAt: z.string().describe('when the ledger recorded the refund'),
  revision: DecimalString,
  position: DecimalString,
});

const CancelResponse = z.object({
  orderId: z.string(),
  reason: z.string(),
  cancelledAt: z.string().describe('when the ledger recorded the cancellation'),
  revision: DecimalString,
  position: DecimalString,
});

const COMMON_PROBLEMS = [
  'validation-failed',
  'idempotency-key-invalid',
  'unauthorized',
  'bad-request',
  'forbidden',
  'revision-mismatch',
  'payload-too-large',
  'unsupported-media-type',
  'idempotency-key-reused',
  'malformed-json',
  'store-unavailable',
  'concurrency-conflict',
  // A stored record of the order cannot be trusted (decoding, schema or hash chain): nothing is decided.
  'event-corrupt',
] as const;

const CREATED_HEADERS = ['location', 'etag', 'idempotent-replayed'] as const;
const created201 = <T extends z.ZodType>(schema: T, what: string) =>
  answer(schema, `${what}; the same answer to a retry, with Idempotent-Replayed: true`, [...CREATED_HEADERS]);
const OrderCreatedAnswer = created201(OrderResponse, 'The order as recorded');

export const commandRoutes: FastifyPluginAsyncZod = async (app) => {
  app.put(
    ORDER_ROUTE,
    {
      schema: {
        summary: 'Create an order with a client-chosen id (naturally idempotent)',
        description:
          'Creates the order under the id in the path. Sending the same body again answers the recorded order; ' +
          'another body under a taken id is refused (409 order-already-exists). An Idempotency-Key is optional.',
        tags: ['orders'],
        operationId: 'putOrder',
        params: OrderIdParams,
        headers: CommandHeaders,
        body: OrderBody,
        response: { 201: OrderCreatedAnswer, ...problemResponses(...COMMON_PROBLEMS, ...REJECTIONS.CreateOrder) },
      },
    },
    async (request, reply) => {
      const key = optionalIdempotencyKey(request);
      const { orderId } = request.params;
      const outcome = await execute(request, ORDER_ROUTE, key, { orderId }, (ids) => createOrder(ids, request.body));
      return created(reply, outcome, `/orders/${orderId}`, orderBody(outcome));
    },
  );

  app.post(
    ORDERS_ROUTE,
    {
      schema: {
        summary: 'Create an order; the ledger chooses its id, kept with your Idempotency-Key',
        description:
          'Creates an order under a new id and binds it to your Idempotency-Key (required): a retry with the key ' +
          'answers the same order. Location names it.',
        tags: ['orders'],
        operationId: 'createOrder',
        headers: KeyRequiredHeaders,
        body: OrderBody,
        response: {
          201: OrderCreatedAnswer,
          ...problemResponses(...COMMON_PROBLEMS, ...REJECTIONS.CreateOrder, 'idempotency-key-missing'),
        },
      },
    },
    async (request, reply) => {
      const why = 'POST /orders keeps the order id it chooses with it (or use PUT /orders/{orderId})';
      const key = requiredIdempotencyKey(request, why);
      const fresh = { orderId: randomUUID() };
      const outcome = await execute(request, ORDERS_ROUTE, key, fresh, (ids) => createOrder(ids, request.body));
      const body = orderBody(outcome);
      return created(reply, outcome, `/orders/${body.orderId}`, body);
    },
  );

  app.post(
    PAYMENTS_ROUTE,
    {
      schema: {
        summary:
          'Capture a payment on an order (paymentId from the body, else chosen and kept with your key); ' +
          'with Prefer: respond-async, request it from the PSP (202, charged later, exactly once)',
        description:
          "Records money received on the order, at most what is outstanding, in the order's currency. The " +
          'paymentId names the capture: a retry under it (or under your Idempotency-Key) answers the same capture. ' +
          'With `Prefer: respond-async` and a paymentMethod, the ledger charges it through its PSP later and ' +
          'answers 202 at once; GET the Location for the outcome.',
        tags: ['payments'],
        operationId: 'capturePayment',
        params: OrderIdParams,
        headers: PaymentHeaders,
        body: CaptureOrRequestBody,
        response: {
          201: created201(PaymentResponse, 'The capture as recorded'),
          202: answer(
            PaymentRequestResponse,
            'Prefer: respond-async honoured: the request as recorded, charged later; the same answer to a retry',
            ['location', 'etag', 'idempotent-replayed', 'preference-applied'],
          ),
          ...problemResponses(
            ...COMMON_PROBLEMS,
            'idempotency-key-missing',
            ...REJECTIONS.CapturePayment,
            ...REJECTIONS.RequestPayment,
            'psp-not-configured',
            'payment-buffer-full',
          ),
        },
      },
    },
    async (request, reply) => {
      const { orderId } = request.params;
      const { paymentId: chosen, amount, currency, paymentMethod } = request.body;
      const why = `the body has no paymentId to ${paymentMethod === undefined ? 'capture' : 'request'} under`;
      const keyOf = () => keyNaming(request, chosen, why);
      const ids = { orderId, paymentId: chosen ?? randomUUID() };
      if (prefersRespondAsync(request)) {
        const payments = request.server.ledger.payments;
        if (!payments) {
          throw new Problem('psp-not-configured', 'this ledger has no payment service provider (LEDGER_PSP)');
        }
        if (paymentMethod === undefined) throw missingPaymentMethod();
        const key = keyOf();
        // A retry of a request still pending is answered as a replay even when the buffer is full.
        const known = chosen !== undefined && payments.feed.requests.get(orderId, chosen) !== undefined;
        const refusal = known ? undefined : payments.refusal();
        if (refusal) throw new Problem('payment-buffer-full', refusal, { retryAfterSeconds: 1 });
        const requestPayment = (resource: ResourceIds): OrderCommand => ({
          type: 'RequestPayment',
          orderId,
          paymentId: resource.paymentId!,
          amount,
          currency,
          paymentMethod,
        });
        const outcome = await execute(request, PAYMENTS_ROUTE, key, ids, requestPayment);
        const effect = effectOf(outcome, 'PaymentRequested');
        if (!outcome.replayed) {
          const { revision, position, streamId } = outcome;
          payments.feed.requests.noteRequested({ ...effect, streamId, revision, position, createdAt: new Date() });
        }
        const body = paymentRequestBody(outcome);
        reply.header('preference-applied', 'respond-async');
        return accepted(reply, outcome, `/orders/${orderId}/payments/${body.paymentId}`, body);
      }
      if (paymentMethod !== undefined) {
        const message = 'is for a capture through the PSP: send it with Prefer: respond-async';
        throw new Problem('validation-failed', `body.paymentMethod: ${message}`, {
          errors: [{ path: 'body.paymentMethod', message }],
        });
      }
      const capture = (resource: ResourceIds): OrderCommand => ({
        type: 'CapturePayment',
        orderId,
        paymentId: resource.paymentId!,
        amount,
        currency,
      });
      const outcome = await execute(request, PAYMENTS_ROUTE, keyOf(), ids, capture);
      const body = paymentBody(outcome);
      return created(reply, outcome, `/orders/${orderId}/payments/${body.paymentId}`, body);
    },
  );
  app.post(
    AUTHORIZATIONS_ROUTE,
    {
      schema: {
        summary: 'Authorize (hold) a payment on an order, to capture or void later',
        description:
          'Places a hold of the amount on the order (open holds plus what is captured net may not exceed the ' +
          'total). Capture it later, all or part, or void it.',
        tags: ['payments'],
        operationId: 'authorizePayment',
        params: OrderIdParams,
        headers: KeyNamedHeaders,
        body: AuthorizationBody,
        response: {
          201: created201(AuthorizationResponse, 'The authorization as recorded'),
          ...problemResponses(...COMMON_PROBLEMS, 'idempotency-key-missing', ...REJECTIONS.AuthorizePayment),
        },
      },
    },
    async (request, reply) => {
      const { orderId } = request.params;
      const { paymentId: chosen, amount, currency } = request.body;
      const key = keyNaming(request, chosen, 'the body has no paymentId to authorize under');
      const authorize = (ids: ResourceIds): OrderCommand => ({
        type: 'AuthorizePayment',
        orderId,
        paymentId: ids.paymentId!,
        amount,
        currency,
      });
      const ids = { orderId, paymentId: chosen ?? randomUUID() };
      const outcome = await execute(request, AUTHORIZATIONS_ROUTE, key, ids, authorize);
      const body = authorizationBody(outcome);
      return created(reply, outcome, `/orders/${orderId}/authorizations/${body.paymentId}`, body);
    },
  );

  app.post(
    CAPTURE_ROUTE,
    {
      schema: {
        summary: 'Capture an authorization, all of it or a part (the rest of the hold is released)',
        description:
          'Turns an open authorization into a capture under the same paymentId. An authorization is captured at ' +
          'most once; a retry answers the same capture.',
        tags: ['payments'],
        operationId: 'captureAuthorization',
        params: paymentParams('auth-1'),
        headers: CommandHeaders,
        body: CaptureAuthorizationBody,
        response: {
          201: created201(PaymentResponse, 'The capture as recorded'),
          ...problemResponses(...COMMON_PROBLEMS, ...REJECTIONS.CaptureAuthorization),
        },
      },
    },
    async (request, reply) => {
      const { orderId, paymentId } = request.params;
      const { amount } = request.body;
      const capture = (): OrderCommand => ({
        type: 'CaptureAuthorization',
        orderId,
        paymentId,
        ...(amount !== undefined && { amount }),
      });
      const key = optionalIdempotencyKey(request);
      const outcome = await execute(request, CAPTURE_ROUTE, key, { orderId, paymentId }, capture);
      return created(reply, outcome, `/orders/${orderId}/payments/${paymentId}`, paymentBody(outcome));
    },
  );

  app.post(
    VOID_ROUTE,
    {
      schema: {
        summary: 'Void an open authorization, releasing its hold',
        description: 'Releases the hold of an open authorization; a voided authorization can never be captured.',
        tags: ['payments'],
        operationId: 'voidAuthorization',
        params: paymentParams('auth-1'),
        headers: CommandHeaders,
        body: VoidBody,
        response: {
          201: created201(VoidResponse, 'The void as recorded'),
          ...problemResponses(...COMMON_PROBLEMS, ...REJECTIONS.VoidAuthorization),
        },
      },
    },
    async (request, reply) => {
      const { orderId, paymentId } = request.params;
      const voidIt = (): OrderCommand => ({ type: 'VoidAuthorization', orderId, paymentId });
      const key = optionalIdempotencyKey(request);
      const outcome = await execute(request, VOID_ROUTE, key, { orderId, paymentId }, voidIt);
      return created(reply, outcome, `/orders/${orderId}/authorizations/${paymentId}`, voidBody(outcome));
    },
  );

  app.post(
    REFUNDS_ROUTE,
    {
      schema: {
        summary: 'Refund part or all of a captured payment (refundId from the body, else chosen, kept with your key)',
        description:
          'Records money given back on a captured payment; its refunds sum to at most what it captured. The ' +
          'refundId names the refund: a retry under it (or under your Idempotency-Key) answers the same refund.',
        tags: ['payments'],
        operationId: 'refundPayment',
        params: paymentParams('pay-1'),
        headers: KeyNamedHeaders,
        body: RefundBody,
        response: {
          201: created201(RefundResponse, 'The refund as recorded'),
          ...problemResponses(...COMMON_PROBLEMS, 'idempotency-key-missing', ...REJECTIONS.RefundPayment),
        },
      },
    },
    async (request, reply) => {
      const { orderId, paymentId } = request.params;
      const { refundId: chosen, amount } = request.body;
      const key = keyNaming(request, chosen, 'the body has no refundId to refund under');
      const refund = (ids: ResourceIds): OrderCommand => ({
        type: 'RefundPayment',
        orderId,
        paymentId,
        refundId: ids.refundId!,
        amount,
      });
      const ids = { orderId, paymentId, refundId: chosen ?? randomUUID() };
      const outcome = await execute(request, REFUNDS_ROUTE, key, ids, refund);
      const body = refundBody(outcome);
      return created(reply, outcome, `/orders/${orderId}/payments/${paymentId}/refunds/${body.refundId}`, body);
    },
  );

  app.post(
    CANCEL_ROUTE,
    {
      schema: {
        summary: 'Cancel an order with nothing captured net; its open authorizations are voided with it',
        description:
          'Cancels an order on which nothing is captured net of refunds; open authorizations are voided with it. ' +
          'A cancelled order takes no more payments.',
        tags: ['orders'],
        operationId: 'cancelOrder',
        params: OrderIdParams,
        headers: CommandHeaders,
        body: CancelBody,
        response: {
          201: created201(CancelResponse, 'The cancellation as recorded'),
          ...problemResponses(...COMMON_PROBLEMS, ...REJECTIONS.CancelOrder),
        },
      },
    },
    async (request, reply) => {
      const { orderId } = request.params;
      const cancel = (): OrderCommand => ({ type: 'CancelOrder', orderId, reason: request.body.reason });
      const outcome = await execute(request, CANCEL_ROUTE, optionalIdempotencyKey(request), { orderId }, cancel);
      return created(reply, outcome, `/orders/${orderId}`, cancelBody(outcome));
    },
  );
};

/** Where the body names no id the key names the resource, so it is required; else it is optional. */
function keyNaming(request: FastifyRequest, chosenId: string | undefined, why: string): string | undefined {
  return chosenId === undefined ? requiredIdempotencyKey(request, why) : optionalIdempotencyKey(request);
}

const createOrder = (ids: ResourceIds, details: z.infer<typeof OrderBody>): OrderCommand => ({
  type: 'CreateOrder',
  orderId: ids.orderId,
  ...details,
});

/**
 * Builds the command request and runs it. `ids` are those of a first request; where the key names
 * the resource, a retry runs on the ids its binding holds instead.
 */
function execute(
  request: FastifyRequest,
  route: string,
  key: string | undefined,
  ids: ResourceIds,
  command: (ids: ResourceIds) => OrderCommand,
): Promise<CommandOutcome> {
  if (request.readOnly) throw new Problem('forbidden', 'this API key has the auditor role: it only reads');
  const ifMatch = parseIfMatch(request.headers['if-match']);
  const params = (request.params ?? {}) as Record<string, string>;
  const fingerprint = requestFingerprint({ method: request.method, route, params, body: request.body });
  const context: CommandContext = {
    clientId: request.clientId,
    correlationId: request.correlationId,
    requestHash: fingerprint.fingerprint,
    enforceOwnership: !request.readsAll,
    ...(key !== undefined && { idempotencyKey: key }),
  };
  const commandRequest: CommandRequest = {
    context,
    ids,
    command,
    ...(ifMatch !== undefined && { ifMatch }),
    ...(key !== undefined && {
      keyed: { clientId: request.clientId, idempotencyKey: key, ...fingerprint },
    }),
  };
  return request.server.ledger.dispatch(commandRequest);
}

function created<T>(reply: FastifyReply, outcome: CommandOutcome, location: string, body: T): T {
  return answered(reply, 201, outcome, location, body);
}

/** 202: recorded, with its effect still to come (poll the Location). */
function accepted<T>(reply: FastifyReply, outcome: CommandOutcome, location: string, body: T): T {
  return answered(reply, 202, outcome, location, body);
}

function answered<T>(reply: FastifyReply, status: number, outcome: CommandOutcome, location: string, body: T): T {
  reply.code(status).header('location', location).header('etag', etagOf(outcome.revision));
  if (outcome.replayed) reply.header('idempotent-replayed', 'true');
  return body;
}

function missingPaymentMethod(): Problem {
  const message = 'is required with Prefer: respond-async: the PSP charges this payment method';
  return new Problem('validation-failed', `body.paymentMethod: ${message}`, {
    errors: [{ path: 'body.paymentMethod', message }],
  });
}

function paymentRequestBody(outcome: CommandOutcome): z.input<typeof PaymentRequestResponse> {
  const { event, metadata } = effectOf(outcome, 'PaymentRequested');
  const { orderId, paymentId, amount, currency, paymentMethod } = event.data;
  const status = 'pending' as const;
  return {
    orderId,
    paymentId,
    amount,
    currency,
    paymentMethod,
    status,
    requestedAt: metadata.recordedAt,
    ...recorded(outcome),
  };
}

function orderBody(outcome: CommandOutcome): z.input<typeof OrderResponse> {
  const { event, metadata } = effectOf(outcome, 'OrderCreated');
  const { orderId, customerId, currency, lines, total } = event.data;
  return {
    orderId,
    customerId,
    currency,
    lines: lines.map(({ sku, quantity, unitPrice }) => ({ sku, quantity, unitPrice })),
    total,
    ...recorded(outcome),
    createdAt: metadata.recordedAt,
  };
}

function paymentBody(outcome: CommandOutcome): z.input<typeof PaymentResponse> {
  const { event, metadata } = effectOf(outcome, 'PaymentCaptured');
  const { orderId, paymentId, amount, currency } = event.data;
  return {
    orderId,
    paymentId,
    amount,
    currency,
    capturedAt: metadata.recordedAt,
    ...recorded(outcome),
  };
}

/** Where and when the stream recorded an effect: every command's answer ends with these. */
function recorded(outcome: CommandOutcome) {
  return { revision: String(outcome.revision), position: String(outcome.position) };
}

function authorizationBody(outcome: CommandOutcome): z.input<typeof AuthorizationResponse> {
  const { event, metadata } = effectOf(outcome, 'PaymentAuthorized');
  const { orderId, paymentId, amount, currency } = event.data;
  return { orderId, paymentId, amount, currency, authorizedAt: metadata.recordedAt, ...recorded(outcome) };
}

function voidBody(outcome: CommandOutcome): z.input<typeof VoidResponse> {
  const { event, metadata } = effectOf(outcome, 'AuthorizationVoided');
  const { orderId, paymentId } = event.data;
  return { orderId, paymentId, voidedAt: metadata.recordedAt, ...recorded(outcome) };
}

function refundBody(outcome: CommandOutcome): z.input<typeof RefundResponse> {
  const { event, metadata } = effectOf(outcome, 'PaymentRefunded');
  const { orderId, paymentId, refundId, amount, currency } = event.data;
  return { orderId, paymentId, refundId, amount, currency, refundedAt: metadata.recordedAt, ...recorded(outcome) };
}

function cancelBody(outcome: CommandOutcome): z.input<typeof CancelResponse> {
  const { event, metadata } = effectOf(outcome, 'OrderCancelled');
  const { orderId, reason } = event.data;
  return { orderId, reason, cancelledAt: metadata.recordedAt, ...recorded(outcome) };
}

type EffectOf<T extends OrderEvent['type']> = {
  id: string;
  event: Extract<OrderEvent, { type: T }>;
  metadata: EventMetadata;
};

function effectOf<T extends OrderEvent['type']>(outcome: CommandOutcome, type: T): EffectOf<T> {
  const effect = outcome.events.find((e) => e.event.type === type);
  // The handler returns the command's own effect; anything else is a bug, not a client error.
  if (!effect) throw new Error(`command outcome on ${outcome.streamId} holds no ${type}`);
  return effect as EffectOf<T>;
}
