import type { CapturePayment, CreateOrder } from '../../src/domain/commands.ts';
import type { CommandContext } from '../../src/events/metadata.ts';

export const context = (overrides: Partial<CommandContext> = {}): CommandContext => ({
  clientId: 'test-client',
  correlationId: 'test-correlation',
  ...overrides,
});

export const createOrder = (orderId: string, overrides: Partial<CreateOrder> = {}): CreateOrder => ({
  type: 'CreateOrder',
  orderId,
  customerId: 'customer-1',
  currency: 'EUR',
  lines: [{ sku: 'SKU-1', quantity: 4, unitPrice: 250 }],
  ...overrides,
});

export const capturePayment = (orderId: string, paymentId: string, amount = 250, currency = 'EUR'): CapturePayment => ({
  type: 'CapturePayment',
  orderId,
  paymentId,
  amount,
  currency,
});

/** A deterministic workload: per order (1000 EUR), its creation then four 250 EUR captures, in that order. */
export function workload(orders: number, prefix = 'w'): Array<Array<CreateOrder | CapturePayment>> {
  return Array.from({ length: orders }, (_, i) => {
    const orderId = `${prefix}-${i}`;
    return [createOrder(orderId), ...[0, 1, 2, 3].map((p) => capturePayment(orderId, `${orderId}-pay-${p}`))];
  });
}

/** Runs tasks with at most `limit` in flight. */
export async function inParallel<T, R>(
  items: readonly T[],
  limit: number,
  task: (item: T) => Promise<R>,
): Promise<R[]> {
  const results: R[] = new Array(items.length);
  let next = 0;
  const worker = async () => {
    while (next < items.length) {
      const index = next++;
      results[index] = await task(items[index]!);
    }
  };
  await Promise.all(Array.from({ length: Math.min(limit, items.length) }, worker));
  return results;
}
