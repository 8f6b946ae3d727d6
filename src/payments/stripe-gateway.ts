/**
 * `LEDGER_PSP=stripe`: the PaymentGateway on the official SDK. One charge is one PaymentIntent,
 * created and confirmed in a single call under the ledger's idempotency key, so a retry after any
 * failure (ours, the network's, Stripe's) is answered with the intent the first attempt made.
 *
 * Failures are sorted by one question: could the charge have happened? If it could (timeouts,
 * resets, 5xx, 409, 429) the error is transient and the processor asks again with the same key;
 * only answers that prove nothing was charged are permanent or declines.
 */
import Stripe from 'stripe';
import { redactSecrets } from '../redact.ts';
import {
  type ChargeOutcome,
  type ChargeRequest,
  type PaymentGateway,
  PermanentGatewayError,
  TransientGatewayError,
} from './gateway.ts';
import type { StripeApiBase } from './stripe-config.ts';
import { declineOf, intentState } from './stripe-outcome.ts';

export interface StripeGatewayOptions {
  readonly apiKey: string;
  readonly apiBase: StripeApiBase;
  /** Per SDK request (the create, and the retrieve of an intent still processing). */
  readonly timeoutMs: number;
}

export function createStripeGateway(options: StripeGatewayOptions): PaymentGateway {
  const stripe = new Stripe(options.apiKey, {
    ...options.apiBase,
    // The processor owns retries and keys. The SDK still retries a closed connection once (see
    // its README); it sends our key again, so that retry is a replay, never a second charge.
    maxNetworkRetries: 0,
    timeout: options.timeoutMs,
    telemetry: false,
  });
  return {
    name: 'stripe',
    charge: (request, signal) => abortable(() => chargeOnce(stripe, request, options.timeoutMs), signal),
  };
}

async function chargeOnce(stripe: Stripe, request: ChargeRequest, timeoutMs: number): Promise<ChargeOutcome> {
  let intent: Stripe.PaymentIntent;
  try {
    intent = await stripe.paymentIntents.create(
      {
        amount: request.amount,
        currency: request.currency.toLowerCase(),
        payment_method: request.paymentMethod,
        confirm: true,
        // The customer is not here: no redirect, no challenge; either it charges now or it declines.
        automatic_payment_methods: { enabled: true, allow_redirects: 'never' },
        error_on_requires_action: true,
        metadata: { orderId: request.orderId, paymentId: request.paymentId },
      },
      { idempotencyKey: request.idempotencyKey, timeout: timeoutMs },
    );
  } catch (error) {
    return declinedOrThrow(error);
  }
  let state = intentState(intent);
  if (state.kind === 'in-flight') {
    // A replay of the create repeats its first answer; only a retrieve sees the intent move on.
    try {
      intent = await stripe.paymentIntents.retrieve(intent.id, {}, { timeout: timeoutMs });
    } catch (error) {
      throw classify(error);
    }
    state = intentState(intent);
  }
  if (state.kind === 'in-flight') {
    throw new TransientGatewayError(`stripe: payment intent ${intent.id} is still processing`);
  }
  if (state.kind === 'unexpected') {
    throw new PermanentGatewayError(`stripe: payment intent ${intent.id} is ${state.status}`, 'unexpected_status');
  }
  if (state.outcome.kind === 'captured') checkAmount(intent, request);
  return state.outcome;
}

/** An intent that charged something else than asked is not this payment's capture: an operator decides. */
function checkAmount(intent: Stripe.PaymentIntent, request: ChargeRequest): void {
  if (intent.amount !== request.amount || intent.currency !== request.currency.toLowerCase()) {
    throw new PermanentGatewayError(
      `stripe: payment intent ${intent.id} is for ${intent.amount} ${intent.currency}, not ${request.amount} ${request.currency}`,
      'amount_mismatch',
    );
  }
}

function declinedOrThrow(error: unknown): ChargeOutcome {
  if (error instanceof Stripe.errors.StripeCardError) {
    const decline = declineOf(error, 'card_declined');
    const pspReference = error.payment_intent?.id;
    return { kind: 'declined', ...decline, message: safe(decline.message), ...(pspReference ? { pspReference } : {}) };
  }
  throw classify(error);
}

const TRANSIENT_STATUS = (status: number) => status === 409 || status === 429 || status >= 500;

/** Every message is redacted: an error body, a proxy or a stand-in may quote the key it was sent. */
export function classify(error: unknown): TransientGatewayError | PermanentGatewayError {
  if (!(error instanceof Stripe.errors.StripeError)) {
    // Not an answer from Stripe (a bug, an unexpected throw): whether the call was sent is unknown.
    return new TransientGatewayError(`stripe: ${safe(error instanceof Error ? error.message : String(error))}`);
  }
  const status = error.statusCode;
  const message = `stripe: ${error.type}${status ? ` (HTTP ${status})` : ''}: ${safe(error.message)}`;
  if (error instanceof Stripe.errors.StripeConnectionError || status === undefined || TRANSIENT_STATUS(status)) {
    return new TransientGatewayError(message, retryAfterMs(error.headers));
  }
  if (error instanceof Stripe.errors.StripeIdempotencyError)
    return new PermanentGatewayError(message, 'idempotency_error');
  if (error instanceof Stripe.errors.StripeAuthenticationError)
    return new PermanentGatewayError(message, 'authentication');
  if (error instanceof Stripe.errors.StripePermissionError) return new PermanentGatewayError(message, 'permission');
  return new PermanentGatewayError(message, error.code ?? 'invalid_request');
}

function retryAfterMs(headers: Record<string, string> | undefined): number | undefined {
  const seconds = Number(headers?.['retry-after']);
  return Number.isFinite(seconds) && seconds >= 0 ? seconds * 1000 : undefined;
}

function safe(text: string): string {
  return redactSecrets(text);
}

/**
 * The SDK takes no AbortSignal. On abort the caller stops waiting with an unknown outcome (the
 * request may still land), which a retry with the same key resolves; the SDK's timeout ends it.
 * A processor shares one signal across all its calls in flight, so each signal gets one listener
 * that fails every call waiting on it, not one listener per call.
 */
const waitingOn = new WeakMap<AbortSignal, Set<() => void>>();

function abortable<T>(start: () => Promise<T>, signal: AbortSignal | undefined): Promise<T> {
  if (!signal) return start();
  if (signal.aborted) return Promise.reject(new TransientGatewayError('stripe: call aborted before it was sent'));
  let waiting = waitingOn.get(signal);
  if (!waiting) {
    const calls = new Set<() => void>();
    signal.addEventListener(
      'abort',
      () => {
        for (const fail of calls) fail();
      },
      { once: true },
    );
    waitingOn.set(signal, (waiting = calls));
  }
  const calls = waiting;
  return new Promise<T>((resolve, reject) => {
    const fail = () => reject(new TransientGatewayError('stripe: call aborted; its outcome is unknown'));
    calls.add(fail);
    start()
      .then(resolve, reject)
      .finally(() => calls.delete(fail));
  });
}
