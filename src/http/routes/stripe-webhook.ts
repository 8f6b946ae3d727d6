/**
 * `POST /webhooks/stripe`: Stripe's report of a PaymentIntent's outcome, recorded as the payment's
 * outcome exactly as the processor's own answer would be. Whichever comes first — the webhook or the
 * processor's API answer — records it; the other is a no-op, and a redelivered event (same event id)
 * too. The signature is this route's authentication (Stripe sends no bearer token), so it is exempt
 * from API keys, and the body is read raw: the signature is over the bytes as sent.
 */
import type { FastifyPluginAsync, FastifyRequest } from 'fastify';
import { Counter } from 'prom-client';
import { z } from 'zod';
import { DomainRejection } from '../../domain/rejection.ts';
import {
  createStripeWebhookVerifier,
  type StripeWebhookResult,
  StripeWebhookSignatureError,
} from '../../payments/stripe-webhook.ts';
import { Problem } from '../problem.ts';
import { answer, problemResponses } from '../schemas.ts';

export const STRIPE_WEBHOOK_ROUTE = '/webhooks/stripe';
/** Recorded as the acting client of a webhook's outcome: no API key sent it. */
export const STRIPE_WEBHOOK_CLIENT = 'stripe-webhook';

const Acknowledgement = z.object({
  received: z.literal(true),
  eventId: z.string(),
  result: z.enum(['recorded', 'already-recorded', 'ignored']),
  detail: z.string().optional(),
});

/** Answers a webhook is not retried for: the event was taken, whether or not it changed anything. */
type Acknowledged = z.infer<typeof Acknowledgement>;

export function stripeWebhookRoutes(secret: string): FastifyPluginAsync {
  const verifier = createStripeWebhookVerifier(secret);
  return async (app) => {
    const notRecorded = new Counter({
      name: 'ledger_stripe_webhook_not_recorded_total',
      help:
        'Stripe webhook outcomes the ledger refused, by rule; payment-outcome-conflict and ' +
        'payment-outcome-amount-mismatch mean Stripe and the ledger disagree about money (alert on them)',
      labelNames: ['rule'] as const,
      registers: [app.ledger.metrics.registry],
    });
    // Scoped to this plugin: the rest of the API keeps its one JSON parser.
    app.removeAllContentTypeParsers();
    app.addContentTypeParser('*', { parseAs: 'buffer' }, (_request: FastifyRequest, body: Buffer, done) =>
      done(null, body),
    );
    app.post(
      STRIPE_WEBHOOK_ROUTE,
      {
        schema: {
          summary: 'Stripe webhook: a PaymentIntent outcome (authenticated by its Stripe-Signature, not an API key)',
          description:
            'Records payment_intent.succeeded / payment_intent.payment_failed as the outcome of the payment its ' +
            'metadata names, once: a repeated event, or an outcome already recorded from the API answer, is ' +
            'acknowledged without a write. A success for another amount or currency than the payment requested is ' +
            'acknowledged as ignored and not recorded (the request stays pending for an operator). Served when ' +
            'LEDGER_PSP=stripe and STRIPE_WEBHOOK_SECRET are set.',
          tags: ['payments'],
          operationId: 'receiveStripeWebhook',
          security: [],
          response: {
            200: answer(Acknowledgement, 'The event was taken (recorded, already recorded, or ignored)'),
            ...problemResponses('webhook-signature-invalid', 'payload-too-large', 'store-unavailable', 'event-corrupt'),
          },
        },
      },
      async (request): Promise<Acknowledged> => {
        const raw = Buffer.isBuffer(request.body) ? request.body : Buffer.alloc(0);
        const signature = request.headers['stripe-signature'];
        let result: StripeWebhookResult;
        try {
          result = verifier.verify(raw, Array.isArray(signature) ? signature[0] : signature);
        } catch (error) {
          if (error instanceof StripeWebhookSignatureError)
            throw new Problem('webhook-signature-invalid', error.message);
          throw error;
        }
        if (result.kind === 'ignored') {
          return { received: true, eventId: result.pspEventId, result: 'ignored', detail: result.reason };
        }
        return record(request, result, notRecorded);
      },
    );
  };
}

/** Rules under which the PSP and the ledger disagree about money: an operator must look. */
const DISAGREEMENTS: ReadonlySet<string> = new Set(['payment-outcome-conflict', 'payment-outcome-amount-mismatch']);

async function record(
  request: FastifyRequest,
  result: Extract<StripeWebhookResult, { kind: 'outcome' }>,
  notRecorded: Counter<'rule'>,
): Promise<Acknowledged> {
  const { orderId, paymentId, outcome, pspEventId, amount, currency } = result;
  // Recorded in the order owner's name, as the processor records its outcomes: read models sum a
  // capture for the client its metadata names, so under any other id the owner's totals would miss it.
  // The event's source and Stripe's event id say it came from the webhook.
  // From the decided stream the outcome command then decides on: no read of its own.
  const owner = await request.server.ledger.orders.ownerOf(orderId);
  try {
    const recorded = await request.server.ledger.dispatch({
      context: {
        clientId: owner ?? STRIPE_WEBHOOK_CLIENT,
        correlationId: request.correlationId,
        enforceOwnership: false,
      },
      ids: { orderId, paymentId },
      // What the intent was for goes with a capture: the decider refuses one of other money than requested.
      command: () => ({
        type: 'RecordPaymentOutcome',
        ...{ orderId, paymentId, outcome, source: 'webhook', pspEventId },
        ...(outcome.kind === 'captured' && { charged: { amount, currency } }),
      }),
    });
    return { received: true, eventId: pspEventId, result: recorded.replayed ? 'already-recorded' : 'recorded' };
  } catch (error) {
    // The ledger knows no such request, or it is resolved otherwise: Stripe would redeliver a non-2xx
    // for days, and no redelivery can change this answer. The log keeps it for an operator.
    if (error instanceof DomainRejection) {
      const fields = { pspEventId, orderId, paymentId, rejection: error.rule, charged: { amount, currency } };
      notRecorded.inc({ rule: error.rule });
      // Another outcome than the one recorded, or a charge of other money: money and ledger may disagree.
      if (DISAGREEMENTS.has(error.rule))
        request.log.error(fields, `stripe webhook contradicts the ledger: ${error.message}`);
      else request.log.warn(fields, 'stripe webhook not recorded');
      return { received: true, eventId: pspEventId, result: 'ignored', detail: error.message };
    }
    throw error;
  }
}
