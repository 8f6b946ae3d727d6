/**
 * GET /orders/:orderId/payments/:paymentId: where a payment stands, from the order's stream itself
 * (not a projection), so a client that got its 202 reads `pending` at once and the outcome as soon
 * as it is recorded. The stream is the one the command handler decides on: cached and verified,
 * with only what was appended since read. Only the order's owner (or a caller who reads every
 * client's data) sees it.
 */
import type { FastifyPluginAsyncZod } from 'fastify-type-provider-zod';
import { z } from 'zod';
import { EntityId } from '../../domain/ids.ts';
import { etagOf } from '../headers.ts';
import { Problem } from '../problem.ts';
import { answer, DecimalString, OrderIdParams, problemResponses } from '../schemas.ts';

const PaymentStatusResponse = z.object({
  orderId: z.string(),
  paymentId: z.string(),
  status: z.enum(['pending', 'captured', 'declined']),
  amount: z.number().int(),
  currency: z.string(),
  paymentMethod: z.string().optional().describe('for a payment requested through the PSP'),
  pspReference: z.string().optional().describe("the PSP's name for the charge"),
  declineCode: z.string().optional(),
  declineMessage: z.string().optional(),
  attempts: z.number().int().optional().describe('how many times a processor claimed the request'),
  revision: DecimalString.describe("the order stream's revision (the ETag)"),
});

export const paymentRequestRoutes: FastifyPluginAsyncZod = async (app) => {
  app.get(
    '/orders/:orderId/payments/:paymentId',
    {
      schema: {
        summary:
          'A payment of an order: pending, captured or declined, with the PSP reference or decline code ' +
          '(read from the event store)',
        description:
          'Where a capture or a payment requested with Prefer: respond-async stands, read from the order stream ' +
          'itself (the state commands are decided on; every event committed before the request is in the answer): ' +
          '`pending` until the PSP answers, then `captured` or `declined`.',
        tags: ['payments'],
        operationId: 'getPayment',
        params: OrderIdParams.extend({
          paymentId: EntityId.describe('the payment id').meta({ examples: ['pay-1'] }),
        }),
        response: {
          200: answer(PaymentStatusResponse, 'The payment', ['etag']),
          ...problemResponses(
            'validation-failed',
            'unauthorized',
            'bad-request',
            'order-not-found',
            'payment-not-found',
            'store-unavailable',
            'event-corrupt',
          ),
        },
      },
    },
    async (request, reply) => {
      const { orderId, paymentId } = request.params;
      const reader = request.readsAll ? undefined : request.clientId;
      const found = await app.ledger.orders.payment(orderId, paymentId, reader);
      if (!found.found && found.missing === 'order') {
        throw new Problem('order-not-found', `order ${orderId} does not exist`);
      }
      if (!found.found) {
        throw new Problem('payment-not-found', `no payment ${paymentId} was captured or requested on order ${orderId}`);
      }
      reply.header('etag', etagOf(found.revision));
      return { orderId, ...found.payment, revision: String(found.revision) };
    },
  );
};
