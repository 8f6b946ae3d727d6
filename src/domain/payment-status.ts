/**
 * Where one payment of an order stands, as its state says: a request made through the PSP is
 * pending until its outcome, then captured or declined; a direct capture is captured. Pure: the
 * route's answer, whatever read the state.
 */
import type { OpenOrder } from './order.ts';

export interface PaymentStatus {
  readonly paymentId: string;
  readonly status: 'pending' | 'captured' | 'declined';
  readonly amount: number;
  readonly currency: string;
  /** For a payment requested through the PSP. */
  readonly paymentMethod?: string;
  readonly pspReference?: string;
  readonly declineCode?: string;
  readonly declineMessage?: string;
  /** How many times a processor claimed the request. */
  readonly attempts?: number;
}

/** Undefined when the order has no payment of that id, captured or requested. */
export function paymentStatusOf(order: OpenOrder, paymentId: string): PaymentStatus | undefined {
  const requested = order.requests.get(paymentId);
  if (requested) {
    const { amount, currency, paymentMethod, outcome, claim } = requested;
    const common = { paymentId, amount, currency, paymentMethod, attempts: claim?.attempt ?? 0 };
    if (!outcome) return { ...common, status: 'pending' };
    if (outcome.kind === 'captured') return { ...common, status: 'captured', pspReference: outcome.pspReference };
    const { code, message, pspReference } = outcome;
    const decline = { declineCode: code, declineMessage: message, ...(pspReference && { pspReference }) };
    return { ...common, status: 'declined', ...decline };
  }
  const captured = order.payments.get(paymentId);
  if (!captured) return undefined;
  return { paymentId, status: 'captured', amount: captured.amount, currency: captured.currency };
}
