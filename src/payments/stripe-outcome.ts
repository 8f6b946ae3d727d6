/**
 * What a PaymentIntent's state means for the ledger, shared by the API answer and the webhook so
 * both record the same outcome for the same intent. Only final states are outcomes: an intent that
 * is still `processing` has neither charged nor failed, and calling it declined would let a client
 * pay again for money that is about to move.
 */
import type Stripe from 'stripe';
import type { ChargeOutcome } from './gateway.ts';

export type IntentState =
  | { readonly kind: 'final'; readonly outcome: ChargeOutcome }
  | { readonly kind: 'in-flight' }
  | { readonly kind: 'unexpected'; readonly status: string };

type IntentView = Pick<Stripe.PaymentIntent, 'id' | 'status' | 'last_payment_error'>;

/** Stripe's most specific reason first: the issuer's decline code, then the error code. */
export function declineOf(
  error: { decline_code?: string | null; code?: string | null; message?: string | null } | null | undefined,
  fallback: string,
): { code: string; message: string } {
  return {
    code: error?.decline_code || error?.code || fallback,
    message: error?.message || 'The payment was not completed.',
  };
}

export function intentState(intent: IntentView): IntentState {
  switch (intent.status) {
    case 'succeeded':
      return { kind: 'final', outcome: { kind: 'captured', pspReference: intent.id } };
    case 'processing':
      return { kind: 'in-flight' };
    // Confirmed with no customer present: nobody can supply another method or complete a challenge,
    // so the intent ends here. Stripe keeps it open; no money moved.
    case 'requires_payment_method':
    case 'requires_action':
    case 'canceled': {
      const decline = declineOf(intent.last_payment_error, intent.status);
      return { kind: 'final', outcome: { kind: 'declined', ...decline, pspReference: intent.id } };
    }
    default:
      // requires_confirmation / requires_capture cannot follow a create with confirm and automatic
      // capture; an operator looks at those instead of the ledger guessing.
      return { kind: 'unexpected', status: intent.status };
  }
}
