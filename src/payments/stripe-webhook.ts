/**
 * Stripe's webhook, read: the raw body and its `Stripe-Signature` header verified by the SDK with
 * the endpoint's signing secret, then a `payment_intent.succeeded` / `payment_intent.payment_failed`
 * event turned into the outcome of a ledger payment. No HTTP here: the route hands over the bytes.
 *
 * The signature carries a timestamp that the SDK checks against a tolerance, so a captured request
 * replayed later is refused; a redelivery by Stripe within it is verified again and keeps its event
 * id, which is what the ledger deduplicates on.
 */
import Stripe from 'stripe';
import { z } from 'zod';
import { PaymentOutcome } from '../domain/commands.ts';
import { EntityId } from '../domain/ids.ts';
import { redactSecrets } from '../redact.ts';
import type { ChargeOutcome } from './gateway.ts';
import { intentState } from './stripe-outcome.ts';

export type StripeWebhookResult =
  | {
      readonly kind: 'outcome';
      readonly pspEventId: string;
      readonly orderId: string;
      readonly paymentId: string;
      readonly outcome: ChargeOutcome;
      /** What the intent was for, so the decider can refuse a capture of other money than requested. */
      readonly amount: number;
      /** ISO 4217 upper case, as the ledger spells it. */
      readonly currency: string;
    }
  | { readonly kind: 'ignored'; readonly pspEventId: string; readonly type: string; readonly reason: string };

/** The signature did not verify: the request is not from Stripe (or not for this endpoint's secret). */
export class StripeWebhookSignatureError extends Error {
  override readonly name = 'StripeWebhookSignatureError';
}

export interface StripeWebhookVerifier {
  verify(rawBody: Buffer | string, signatureHeader: string | undefined): StripeWebhookResult;
}

/** The SDK's default: five minutes between signing and receiving. */
export const WEBHOOK_TOLERANCE_SECONDS = 300;

const OUTCOME_EVENTS = new Set(['payment_intent.succeeded', 'payment_intent.payment_failed']);

/** The ids as the ledger spells them: metadata set by anything else names no ledger payment. */
const LedgerMetadata = z.object({ orderId: EntityId, paymentId: EntityId });

export function createStripeWebhookVerifier(
  secret: string,
  options: { toleranceSeconds?: number } = {},
): StripeWebhookVerifier {
  const tolerance = options.toleranceSeconds ?? WEBHOOK_TOLERANCE_SECONDS;
  return {
    verify(rawBody, signatureHeader) {
      if (!signatureHeader) throw new StripeWebhookSignatureError('the Stripe-Signature header is missing');
      let event: Stripe.Event;
      try {
        event = Stripe.webhooks.constructEvent(rawBody, signatureHeader, secret, tolerance);
      } catch (error) {
        const detail = error instanceof Error ? error.message : String(error);
        throw new StripeWebhookSignatureError(redactSecrets(detail));
      }
      return outcomeOf(event);
    },
  };
}

function outcomeOf(event: Stripe.Event): StripeWebhookResult {
  const ignored = (reason: string): StripeWebhookResult => ({
    kind: 'ignored',
    pspEventId: event.id,
    type: event.type,
    reason,
  });
  if (!OUTCOME_EVENTS.has(event.type)) return ignored('not a payment outcome');
  const intent = event.data.object as Stripe.PaymentIntent;
  const metadata = LedgerMetadata.safeParse(intent.metadata);
  // An intent made by something else on the same Stripe account: not the ledger's to record.
  if (!metadata.success) return ignored('the payment intent carries no ledger orderId/paymentId');
  // What the charge was for is compared with the request: a report that does not say cannot be.
  if (!Number.isSafeInteger(intent.amount) || typeof intent.currency !== 'string') {
    return ignored('the payment intent names no amount and currency');
  }
  const state = intentState(intent);
  if (state.kind !== 'final') return ignored(`the payment intent is ${intent.status}`);
  // The type and the intent inside must tell the same story; a mismatch is left to the API answer.
  const outcome = state.outcome;
  // Signed but not storable (an intent id or decline the ledger's schema cannot hold): refused by
  // the command it would be, it would answer non-2xx, which Stripe redelivers for days to no avail.
  if (!PaymentOutcome.safeParse(outcome).success)
    return ignored('the payment intent reports an outcome the ledger cannot hold');
  if ((event.type === 'payment_intent.succeeded') !== (outcome.kind === 'captured')) {
    return ignored(`a ${event.type} event for an intent that is ${intent.status}`);
  }
  return {
    kind: 'outcome',
    pspEventId: event.id,
    orderId: metadata.data.orderId,
    paymentId: metadata.data.paymentId,
    outcome,
    amount: intent.amount,
    currency: intent.currency.toUpperCase(),
  };
}
