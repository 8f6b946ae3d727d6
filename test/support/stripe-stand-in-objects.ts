/**
 * The objects the Stripe stand-in answers with, shaped like Stripe's own (only the fields the SDK
 * and the ledger read), and the payment methods it knows: Stripe's test `pm_card_*` names decide
 * whether a confirm succeeds or declines, and with which code.
 */
import { randomBytes } from 'node:crypto';

export type IntentStatus = 'succeeded' | 'processing' | 'requires_payment_method' | 'requires_action';

export interface LastPaymentError {
  readonly type: 'card_error';
  readonly code: string;
  readonly decline_code?: string;
  readonly message: string;
}

export interface StandInIntent {
  id: string;
  object: 'payment_intent';
  amount: number;
  amount_received: number;
  currency: string;
  status: IntentStatus;
  payment_method: string;
  metadata: Record<string, string>;
  capture_method: 'automatic';
  confirmation_method: 'automatic';
  client_secret: string;
  created: number;
  latest_charge: string | null;
  last_payment_error: LastPaymentError | null;
  livemode: false;
}

export type MethodBehaviour =
  | { readonly kind: 'succeeds' }
  | { readonly kind: 'processing' }
  | { readonly kind: 'declines'; readonly error: LastPaymentError }
  | { readonly kind: 'requires-action' };

const declined = (code: string, message: string, decline_code?: string): MethodBehaviour => ({
  kind: 'declines',
  error: { type: 'card_error', code, message, ...(decline_code ? { decline_code } : {}) },
});

/** Stripe's documented test payment methods, plus one of the stand-in's own for an intent that settles later. */
export const PAYMENT_METHODS: Readonly<Record<string, MethodBehaviour>> = {
  pm_card_visa: { kind: 'succeeds' },
  pm_card_visa_debit: { kind: 'succeeds' },
  pm_card_mastercard: { kind: 'succeeds' },
  pm_card_amex: { kind: 'succeeds' },
  pm_card_chargeDeclined: declined('card_declined', 'Your card was declined.', 'generic_decline'),
  pm_card_visa_chargeDeclined: declined('card_declined', 'Your card was declined.', 'generic_decline'),
  pm_card_chargeDeclinedInsufficientFunds: declined(
    'card_declined',
    'Your card has insufficient funds.',
    'insufficient_funds',
  ),
  pm_card_chargeDeclinedLostCard: declined('card_declined', 'Your card was declined.', 'lost_card'),
  pm_card_chargeDeclinedStolenCard: declined('card_declined', 'Your card was declined.', 'stolen_card'),
  pm_card_chargeDeclinedExpiredCard: declined('expired_card', 'Your card has expired.'),
  pm_card_chargeDeclinedIncorrectCvc: declined('incorrect_cvc', "Your card's security code is incorrect."),
  pm_card_chargeDeclinedProcessingError: declined('processing_error', 'An error occurred while processing your card.'),
  pm_card_authenticationRequired: { kind: 'requires-action' },
  pm_standin_processing: { kind: 'processing' },
};

export function stripeId(prefix: string): string {
  return `${prefix}_${randomBytes(12).toString('base64url').replace(/[-_]/g, 'x')}`;
}

export function newIntent(fields: {
  amount: number;
  currency: string;
  paymentMethod: string;
  metadata: Record<string, string>;
  status: IntentStatus;
  lastPaymentError?: LastPaymentError;
}): StandInIntent {
  const id = stripeId('pi');
  const charged = fields.status === 'succeeded';
  return {
    id,
    object: 'payment_intent',
    amount: fields.amount,
    amount_received: charged ? fields.amount : 0,
    currency: fields.currency,
    status: fields.status,
    payment_method: fields.paymentMethod,
    metadata: fields.metadata,
    capture_method: 'automatic',
    confirmation_method: 'automatic',
    client_secret: `${id}_secret_${randomBytes(8).toString('hex')}`,
    created: Math.floor(Date.now() / 1000),
    latest_charge: fields.status === 'requires_action' ? null : stripeId('ch'),
    last_payment_error: fields.lastPaymentError ?? null,
    livemode: false,
  };
}

export interface StripeErrorBody {
  error: {
    type: string;
    code?: string;
    decline_code?: string;
    message: string;
    param?: string;
    charge?: string;
    payment_intent?: StandInIntent;
  };
}

export const apiError = (
  type: string,
  message: string,
  extra: Omit<StripeErrorBody['error'], 'type' | 'message'> = {},
): StripeErrorBody => ({ error: { type, message, ...extra } });
