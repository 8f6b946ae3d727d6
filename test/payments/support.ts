/** A store with orders and payment requests in it, written through the real command handler, for processor tests. */
import { createCommandHandler, type CommandHandler } from '../../src/commands/handler.ts';
import { orderStreamId } from '../../src/domain/ids.ts';
import type { OrderEvent } from '../../src/domain/events.ts';
import { decodeStream } from '../../src/events/codec.ts';
import type { EventStore } from '../../src/eventstore/port.ts';
import { memoryProcessorCheckpoint } from '../../src/payments/processor-checkpoint.ts';
import { type PaymentBuffer, type PaymentBufferOptions, startPaymentBuffer } from '../../src/payments/service.ts';
import { silentLogger } from '../../src/projections/engine.ts';
import type { PaymentGateway } from '../../src/payments/gateway.ts';

export const CLIENT = { clientId: 'alice', correlationId: 'test' };

export interface Requested {
  readonly orderId: string;
  readonly paymentId: string;
}

/** `orders` orders of `perOrder` requests each (several per order, so claims contend for one stream). */
export async function seedRequests(
  store: EventStore,
  orders: number,
  perOrder: number,
  paymentMethod: (i: number) => string = () => 'pm_card_visa',
): Promise<Requested[]> {
  const handle = createCommandHandler(store);
  const requested: Requested[] = [];
  for (let o = 0; o < orders; o++) {
    const orderId = `o-${o}-${Math.random().toString(36).slice(2, 8)}`;
    const lines = [{ sku: 'S', quantity: 1, unitPrice: 100 * perOrder }];
    await handle({ type: 'CreateOrder', orderId, customerId: 'c-1', currency: 'EUR', lines }, CLIENT);
    for (let p = 0; p < perOrder; p++) {
      const paymentId = `pay-${p}`;
      const method = paymentMethod(requested.length);
      await handle(
        { type: 'RequestPayment', orderId, paymentId, amount: 100, currency: 'EUR', paymentMethod: method },
        CLIENT,
      );
      requested.push({ orderId, paymentId });
    }
  }
  return requested;
}

export function startBuffer(
  store: EventStore,
  gateway: PaymentGateway,
  processor: PaymentBufferOptions['processor'] = {},
  handle: CommandHandler = createCommandHandler(store),
): PaymentBuffer {
  return startPaymentBuffer({
    store,
    gateway,
    handle,
    checkpoint: memoryProcessorCheckpoint(),
    logger: silentLogger,
    processor: { pollMs: 20, backoff: { attempts: 3, baseMs: 1, maxMs: 5 }, ...processor },
  });
}

export async function orderEvents(store: EventStore, orderId: string): Promise<OrderEvent[]> {
  return decodeStream(await store.readStream(orderStreamId(orderId))).map((e) => e.event);
}

/** The outcome events of each request, by "orderId/paymentId". */
export async function outcomesOf(
  store: EventStore,
  requested: readonly Requested[],
): Promise<Map<string, OrderEvent[]>> {
  const byOrder = new Map<string, OrderEvent[]>();
  for (const { orderId } of requested) {
    if (!byOrder.has(orderId)) byOrder.set(orderId, await orderEvents(store, orderId));
  }
  const outcomes = new Map<string, OrderEvent[]>();
  for (const { orderId, paymentId } of requested) {
    const events = byOrder
      .get(orderId)!
      .filter(
        (e) =>
          (e.type === 'PaymentDeclined' || (e.type === 'PaymentCaptured' && e.data.pspReference !== undefined)) &&
          e.data.paymentId === paymentId,
      );
    outcomes.set(`${orderId}/${paymentId}`, events);
  }
  return outcomes;
}

export async function waitFor(
  check: () => boolean | Promise<boolean>,
  timeoutMs = 15_000,
  what = 'condition',
): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!(await check())) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((resolve) => setTimeout(resolve, 10));
  }
}

export async function allResolved(store: EventStore, requested: readonly Requested[]): Promise<boolean> {
  const outcomes = await outcomesOf(store, requested);
  return [...outcomes.values()].every((events) => events.length > 0);
}
