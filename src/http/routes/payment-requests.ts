/**
 * GET /orders/:orderId/payments/:paymentId: where a payment stands, from the order's stream itself
 * (not a projection), so a client that got its 202 reads `pending` at once and the outcome as soon
 * as it is recorded. Only the order's owner (or a caller who reads every client's data) sees it.
 */
import type { FastifyPluginAsyncZod } from 'fastify-type-provider-zod';
import { z } from 'zod';
import { EntityId, orderStreamId } from '../../domain/ids.ts';
import { orderDecider } from '../../domain/order.ts';
import { decodeStream } from '../../events/codec.ts';
import { etagOf } from '../headers.ts';
import { Problem } from '../problem.ts';
import { answer, DecimalString, OrderIdParams, problemResponses } from '../schemas.ts';
import { ownedBy } from './order-events.ts';

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
          'itself: `pending` until the PSP answers, then `captured` or `declined`.',
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
      const records = await app.ledger.store.readStream(orderStreamId(orderId));
      const head = records[records.length - 1];
      if (!head || !(request.readsAll || ownedBy(records[0]!, request.clientId))) {
        throw new Problem('order-not-found', `order ${orderId} does not exist`);
      }
      const history = decodeStream(records, orderDecider.eventSchema);
      const state = history.reduce((s, e) => orderDecider.evolve(s, e.event), orderDecider.initialState());
      if (state.status !== 'open') throw new Problem('order-not-found', `order ${orderId} does not exist`);
      reply.header('etag', etagOf(head.revision));
      const revision = String(head.revision);
      const requested = state.requests.get(paymentId);
      if (requested) {
        const { amount, currency, paymentMethod, outcome, claim } = requested;
        const common = { orderId, paymentId, amount, currency, paymentMethod, revision };
        const attempts = { attempts: claim?.attempt ?? 0 };
        if (!outcome) return { ...common, status: 'pending' as const, ...attempts };
        if (outcome.kind === 'captured') {
          return { ...common, status: 'captured' as const, pspReference: outcome.pspReference, ...attempts };
        }
        const { code, message, pspReference } = outcome;
        const decline = { declineCode: code, declineMessage: message, ...(pspReference && { pspReference }) };
        return { ...common, status: 'declined' as const, ...decline, ...attempts };
      }
      const captured = state.payments.get(paymentId);
      if (captured) {
        return {
          orderId,
          paymentId,
          status: 'captured' as const,
          amount: captured.amount,
          currency: captured.currency,
          revision,
        };
      }
      throw new Problem('payment-not-found', `no payment ${paymentId} was captured or requested on order ${orderId}`);
    },
  );
};
