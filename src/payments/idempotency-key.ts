/**
 * The PSP idempotency key of a payment: derived from (orderId, paymentId) and nothing else, so every
 * attempt of every processor, before and after any crash, sends the same key, and the PSP answers
 * a repeated call with the charge it already made.
 */
import { createHash } from 'node:crypto';

export const PSP_KEY_PREFIX = 'ledger-pay-';

export function pspIdempotencyKey(orderId: string, paymentId: string): string {
  // Ids are [A-Za-z0-9_-], so a newline cannot occur in either and the pair is unambiguous.
  return PSP_KEY_PREFIX + createHash('sha256').update(`${orderId}\n${paymentId}`).digest('hex');
}
