/**
 * The ids release 0.1.0 derived from an Idempotency-Key (UUID v5 of client and key). They are
 * public and predictable, so new resources no longer get them (a key's ids are random, chosen by
 * its first request and kept in its binding); the keys that release used are bound, at open, to the
 * resources it created. The namespaces are part of the stored data's meaning and must never change.
 */
import { v5 as uuidv5 } from 'uuid';
import { canonicalJson } from '../events/canonical.ts';

const ORDER_ID_NAMESPACE = 'fd5b3e9f-30d9-4a47-b2c3-b8444dbbd3d1';
const PAYMENT_ID_NAMESPACE = 'b1df06db-21f9-4fbb-8fc2-d28d4ed8d917';

/** POST /orders: the order id for (client, key). A UUID, so it is a valid EntityId. */
export function legacyDerivedOrderId(clientId: string, idempotencyKey: string): string {
  // Canonical JSON of an array keeps the parts apart whatever characters they contain.
  return uuidv5(canonicalJson([clientId, idempotencyKey]), ORDER_ID_NAMESPACE);
}

/** POST /orders/:orderId/payments without a paymentId: the payment id for (client, order, key). */
export function legacyDerivedPaymentId(clientId: string, orderId: string, idempotencyKey: string): string {
  return uuidv5(canonicalJson([clientId, orderId, idempotencyKey]), PAYMENT_ID_NAMESPACE);
}
