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
import { type OrderEvent, OrderLine, PaymentCapturedData } from '../../domain/events.ts';
import { REJECTIONS } from '../../domain/rejection.ts';
import type { CommandContext, EventMetadata } from '../../events/metadata.ts';
import { etagOf, optionalIdempotencyKey, parseIfMatch, requiredIdempotencyKey } from '../headers.ts';
import { Problem } from '../problem.ts';
import { DecimalString, OrderIdParams, problemResponses } from '../schemas.ts';

const ORDER_ROUTE = '/orders/:orderId';
const ORDERS_ROUTE = '/orders';
const PAYMENTS_ROUTE = '/orders/:orderId/payments';

const CommandHeaders = z.looseObject({
  'idempotency-key': z
    .string()
    .optional()
    .describe(
      '1-255 printable ASCII characters, bare or as a quoted structured-field string; scoped to your API key, ' +
        'bound for ever to the first request that used it (method, route, path parameters, body)',
    ),
  'if-match': z.string().optional().describe('"<revision>" (an ETag from this API): 412 if the order has moved on'),
  'x-correlation-id': z.string().optional().describe('echoed, and recorded in the event metadata'),
});

/** Exported for the benchmark's no-op ceiling, which must validate exactly the same bodies. */
export const OrderBody = OrderRequest.meta({
  examples: [{ customerId: 'cust-42', currency: 'EUR', lines: [{ sku: 'BOOK-1', quantity: 2, unitPrice: 1999 }] }],
});

export const PaymentBody = z
  .strictObject({
    paymentId: PaymentCapturedData.shape.paymentId
      .optional()
      .describe('omit it to let the ledger choose a random id, kept with your Idempotency-Key'),
    amount: RequestedAmount,
    currency: PaymentCapturedData.shape.currency,
  })
  .meta({ examples: [{ paymentId: 'pay-1', amount: 3998, currency: 'EUR' }] });

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

const createResponses = { 201: OrderResponse, ...problemResponses(...COMMON_PROBLEMS, ...REJECTIONS.CreateOrder) };

export const commandRoutes: FastifyPluginAsyncZod = async (app) => {
  app.put(
    ORDER_ROUTE,
    {
      schema: {
        summary: 'Create an order with a client-chosen id (naturally idempotent)',
        params: OrderIdParams,
        headers: CommandHeaders,
        body: OrderBody,
        response: createResponses,
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
        headers: CommandHeaders,
        body: OrderBody,
        response: { ...createResponses, ...problemResponses('idempotency-key-missing') },
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
        summary: 'Capture a payment on an order (paymentId from the body, else chosen and kept with your key)',
        params: OrderIdParams,
        headers: CommandHeaders,
        body: PaymentBody,
        response: {
          201: PaymentResponse,
          ...problemResponses(...COMMON_PROBLEMS, 'idempotency-key-missing', ...REJECTIONS.CapturePayment),
        },
      },
    },
    async (request, reply) => {
      const { orderId } = request.params;
      const { paymentId: chosen, amount, currency } = request.body;
      const key =
        chosen === undefined
          ? requiredIdempotencyKey(request, 'the body has no paymentId to capture under')
          : optionalIdempotencyKey(request);
      const capture = (ids: ResourceIds): OrderCommand => ({
        type: 'CapturePayment',
        orderId,
        paymentId: ids.paymentId!,
        amount,
        currency,
      });
      const ids = { orderId, paymentId: chosen ?? randomUUID() };
      const outcome = await execute(request, PAYMENTS_ROUTE, key, ids, capture);
      const body = paymentBody(outcome);
      return created(reply, outcome, `/orders/${orderId}/payments/${body.paymentId}`, body);
    },
  );
};

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
  reply.code(201).header('location', location).header('etag', etagOf(outcome.revision));
  if (outcome.replayed) reply.header('idempotent-replayed', 'true');
  return body;
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
    revision: String(outcome.revision),
    position: String(outcome.position),
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
    revision: String(outcome.revision),
    position: String(outcome.position),
  };
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
