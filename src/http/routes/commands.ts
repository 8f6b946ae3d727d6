/**
 * The command routes. Each builds a domain command, lets the dispatcher run it, and answers
 * 201 with the resource as the stream recorded it: a replay therefore returns the original
 * body byte for byte (times come from the stored event's metadata, not from the clock).
 */
import type { FastifyReply, FastifyRequest } from 'fastify';
import type { FastifyPluginAsyncZod } from 'fastify-type-provider-zod';
import { z } from 'zod';
import { derivedOrderId, derivedPaymentId } from '../../commands/derived-ids.ts';
import type { CommandOutcome } from '../../commands/handler.ts';
import { requestFingerprint } from '../../commands/idempotency-key.ts';
import { checkOrderTotal, type OrderCommand, OrderDetails } from '../../domain/commands.ts';
import { type OrderEvent, OrderLine, PaymentCapturedData } from '../../domain/events.ts';
import type { CommandContext, EventMetadata } from '../../events/metadata.ts';
import { etagOf, optionalIdempotencyKey, parseIfMatch, requiredIdempotencyKey } from '../headers.ts';
import { DecimalString, OrderIdParams, problemResponses } from '../schemas.ts';

const ORDER_ROUTE = '/orders/:orderId';
const ORDERS_ROUTE = '/orders';
const PAYMENTS_ROUTE = '/orders/:orderId/payments';

const CommandHeaders = z.looseObject({
  'idempotency-key': z
    .string()
    .optional()
    .describe('1-255 printable ASCII characters, bare or as a quoted structured-field string; scoped to your API key and this route'),
  'if-match': z.string().optional().describe('"<revision>" (an ETag from this API): 412 if the order has moved on'),
  'x-correlation-id': z.string().optional().describe('echoed, and recorded in the event metadata'),
});

/** Exported for the benchmark's no-op ceiling, which must validate exactly the same bodies. */
export const OrderBody = OrderDetails.superRefine(checkOrderTotal);

export const PaymentBody = z.strictObject({
  paymentId: PaymentCapturedData.shape.paymentId.optional().describe('omit it to derive the id from Idempotency-Key'),
  amount: PaymentCapturedData.shape.amount,
  currency: PaymentCapturedData.shape.currency,
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

const COMMON_PROBLEMS = [
  'validation-failed',
  'idempotency-key-invalid',
  'unauthorized',
  'revision-mismatch',
  'payload-too-large',
  'unsupported-media-type',
  'idempotency-key-reused',
  'store-unavailable',
  // A stored record of the order cannot be trusted (decoding, schema or hash chain): nothing is decided.
  'event-corrupt',
] as const;

const createResponses = { 201: OrderResponse, ...problemResponses(...COMMON_PROBLEMS, 'order-already-exists') };

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
      const command = { type: 'CreateOrder' as const, orderId: request.params.orderId, ...request.body };
      const outcome = await execute(request, ORDER_ROUTE, command, key, false);
      return created(reply, outcome, `/orders/${command.orderId}`, orderBody(outcome));
    },
  );

  app.post(
    ORDERS_ROUTE,
    {
      schema: {
        summary: 'Create an order whose id is derived from your Idempotency-Key',
        headers: CommandHeaders,
        body: OrderBody,
        response: { ...createResponses, ...problemResponses('idempotency-key-missing') },
      },
    },
    async (request, reply) => {
      const key = requiredIdempotencyKey(request, 'POST /orders derives the order id from it (or use PUT /orders/{orderId})');
      const command = { type: 'CreateOrder' as const, orderId: derivedOrderId(request.clientId, key), ...request.body };
      const outcome = await execute(request, ORDERS_ROUTE, command, key, true);
      return created(reply, outcome, `/orders/${command.orderId}`, orderBody(outcome));
    },
  );

  app.post(
    PAYMENTS_ROUTE,
    {
      schema: {
        summary: 'Capture a payment on an order (paymentId from the body, else derived from Idempotency-Key)',
        params: OrderIdParams,
        headers: CommandHeaders,
        body: PaymentBody,
        response: {
          201: PaymentResponse,
          ...problemResponses(...COMMON_PROBLEMS, 'idempotency-key-missing', 'order-not-found', 'capture-exceeds-outstanding'),
        },
      },
    },
    async (request, reply) => {
      const key = optionalIdempotencyKey(request);
      const { orderId } = request.params;
      const { paymentId: chosen, amount, currency } = request.body;
      const paymentId =
        chosen ?? derivedPaymentId(request.clientId, orderId, requiredIdempotencyKey(request, 'the body has no paymentId to capture under'));
      const command = { type: 'CapturePayment' as const, orderId, paymentId, amount, currency };
      const outcome = await execute(request, PAYMENTS_ROUTE, command, key, chosen === undefined);
      return created(reply, outcome, `/orders/${orderId}/payments/${paymentId}`, paymentBody(outcome));
    },
  );
};

function execute(request: FastifyRequest, route: string, command: OrderCommand, key: string | undefined, idFromKey: boolean): Promise<CommandOutcome> {
  const ifMatch = parseIfMatch(request.headers['if-match']);
  const context: CommandContext = {
    clientId: request.clientId,
    correlationId: request.correlationId,
    requestHash: requestFingerprint({ method: request.method, route, body: request.body }),
    ...(key !== undefined && { idempotencyKey: key }),
  };
  return request.server.ledger.dispatch(command, context, { idFromKey, ...(ifMatch !== undefined && { ifMatch }) });
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

type EffectOf<T extends OrderEvent['type']> = { event: Extract<OrderEvent, { type: T }>; metadata: EventMetadata };

function effectOf<T extends OrderEvent['type']>(outcome: CommandOutcome, type: T): EffectOf<T> {
  const effect = outcome.events.find((e) => e.event.type === type);
  // The handler returns the command's own effect; anything else is a bug, not a client error.
  if (!effect) throw new Error(`command outcome on ${outcome.streamId} holds no ${type}`);
  return effect as EffectOf<T>;
}
