/**
 * GET /orders/:orderId/events: the order's stream as stored, for audits. It reads the event
 * store itself, not a projection, so it shows the record even when read models lag. Only the
 * order's owner (or a caller who reads every client's data) sees it; anyone else gets the answer
 * for a missing order.
 */
import type { FastifyPluginAsyncZod } from 'fastify-type-provider-zod';
import { z } from 'zod';
import { orderStreamId } from '../../domain/ids.ts';
import { decodeEvent } from '../../events/codec.ts';
import { ownedBy } from '../../commands/order-reads.ts';
import { etagOf } from '../headers.ts';
import { Problem } from '../problem.ts';
import { answer, DecimalString, OrderIdParams, problemResponses } from '../schemas.ts';

const JsonRecord = z.record(z.string(), z.unknown());

const StreamResponse = z.object({
  orderId: z.string(),
  streamId: z.string(),
  revision: DecimalString.describe('revision of the last event (the ETag)'),
  events: z.array(
    z.object({
      id: z.string(),
      type: z.string(),
      revision: DecimalString,
      position: DecimalString,
      createdAt: z.string().describe('when the store committed the event'),
      data: JsonRecord,
      metadata: JsonRecord.describe(
        'schemaVersion, recordedAt, clientId, correlationId, idempotencyKey, requestHash, prevHash, hash',
      ),
    }),
  ),
});

export const orderEventRoutes: FastifyPluginAsyncZod = async (app) => {
  app.get(
    '/orders/:orderId/events',
    {
      schema: {
        summary: "The order's raw event stream, from the event store (your own orders only; an auditor's: every order)",
        description:
          'Every event of the order with its metadata and hash chain, read from the event store itself (not a ' +
          'projection): what an audit checks.',
        tags: ['audit'],
        operationId: 'getOrderEvents',
        params: OrderIdParams,
        response: {
          200: answer(StreamResponse, 'The stream', ['etag']),
          ...problemResponses(
            'validation-failed',
            'unauthorized',
            'bad-request',
            'order-not-found',
            'store-unavailable',
            'event-corrupt',
          ),
        },
      },
    },
    async (request, reply) => {
      const { orderId } = request.params;
      const streamId = orderStreamId(orderId);
      const records = await app.ledger.store.readStream(streamId);
      const head = records[records.length - 1];
      if (!head || !(request.readsAll || ownedBy(records[0]!, request.clientId))) {
        throw new Problem('order-not-found', `order ${orderId} does not exist`);
      }
      // Served only if every record still satisfies its schema, as the handler refuses to decide on one that does not.
      for (const record of records) decodeEvent(record);
      reply.header('etag', etagOf(head.revision));
      return {
        orderId,
        streamId,
        revision: String(head.revision),
        events: records.map((r) => ({
          id: r.id,
          type: r.type,
          revision: String(r.revision),
          position: String(r.position),
          createdAt: r.createdAt.toISOString(),
          data: r.data,
          metadata: r.metadata,
        })),
      };
    },
  );
};
