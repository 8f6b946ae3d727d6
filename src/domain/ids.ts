import { z } from 'zod';

/** orderId and paymentId: 1–64 characters of [A-Za-z0-9_-] (safe in a stream name and a URL). */
export const EntityId = z.string().regex(/^[A-Za-z0-9_-]{1,64}$/, 'must be 1-64 characters of A-Z a-z 0-9 _ -');

export const ORDER_STREAM_PREFIX = 'order-';

export function orderStreamId(orderId: string): string {
  return `${ORDER_STREAM_PREFIX}${orderId}`;
}

export function orderIdOfStream(streamId: string): string | undefined {
  return streamId.startsWith(ORDER_STREAM_PREFIX) ? streamId.slice(ORDER_STREAM_PREFIX.length) : undefined;
}
