/**
 * Ids derived from an Idempotency-Key. The derivation is the key's scope: a key only means
 * something for one client (and, for payments, one order), and each route has its own
 * namespace, so the same key sent by two clients or to two routes names two different things.
 * The namespaces are part of the stored data's meaning: changing one would make every retry
 * of an earlier request create a new resource.
 */
import { v5 as uuidv5 } from 'uuid';
import { canonicalJson } from '../events/canonical.ts';

const ORDER_ID_NAMESPACE = 'fd5b3e9f-30d9-4a47-b2c3-b8444dbbd3d1';
const PAYMENT_ID_NAMESPACE = 'b1df06db-21f9-4fbb-8fc2-d28d4ed8d917';

/** POST /orders: the order id for (client, key). A UUID, so it is a valid EntityId. */
export function derivedOrderId(clientId: string, idempotencyKey: string): string {
  // Canonical JSON of an array keeps the parts apart whatever characters they contain.
  return uuidv5(canonicalJson([clientId, idempotencyKey]), ORDER_ID_NAMESPACE);
}

/** POST /orders/:orderId/payments without a paymentId: the payment id for (client, order, key). */
export function derivedPaymentId(clientId: string, orderId: string, idempotencyKey: string): string {
  return uuidv5(canonicalJson([clientId, orderId, idempotencyKey]), PAYMENT_ID_NAMESPACE);
}
