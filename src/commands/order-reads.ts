/**
 * Reads of an order from its stream as the command handler decides on it (decided-streams.ts):
 * the cached, hash-verified state, brought up to date by reading only what was appended since it
 * was cached. A read thus costs the same on an order of ten events as on one of ten thousand, and
 * still sees every write committed before it was asked for, this process's and any other's.
 */
import type { OrderEvent } from '../domain/events.ts';
import { orderStreamId } from '../domain/ids.ts';
import type { OrderState } from '../domain/order.ts';
import { type PaymentStatus, paymentStatusOf } from '../domain/payment-status.ts';
import { CorruptEventError } from '../eventstore/errors.ts';
import type { EventStore, RecordedEvent } from '../eventstore/port.ts';
import type { DecidedStream, DecidedStreams } from './decided-streams.ts';

/** Whose orders a read may see: that client's own, or every client's when undefined. */
export type Reader = string | undefined;

export type PaymentLookup =
  | { readonly found: true; readonly payment: PaymentStatus; readonly revision: bigint }
  | { readonly found: false; readonly missing: 'order' | 'payment' };

export interface OrderReads {
  /** A payment of an order; another client's order is missing, exactly as an absent one is. */
  payment(orderId: string, paymentId: string, reader: Reader): Promise<PaymentLookup>;
  /** The client that created the order; undefined when there is no such order. */
  ownerOf(orderId: string): Promise<string | undefined>;
}

/**
 * The client that created the order: the clientId of its first record, when that is OrderCreated.
 * Read from the record as stored, before decoding, so a stream that fails its schema is reported
 * as corrupt to its owner only.
 */
export function ownerOf(first: RecordedEvent): string | undefined {
  const clientId = first.metadata.clientId;
  return first.type === 'OrderCreated' && typeof clientId === 'string' ? clientId : undefined;
}

export function ownedBy(first: RecordedEvent, clientId: string): boolean {
  return ownerOf(first) === clientId;
}

export function createOrderReads(streams: DecidedStreams<OrderEvent, OrderState>, store: EventStore): OrderReads {
  return {
    async payment(orderId, paymentId, reader) {
      const streamId = orderStreamId(orderId);
      let stream: DecidedStream<OrderEvent, OrderState>;
      try {
        // Refreshed: what was committed before the read, here or elsewhere, is in its answer.
        ({ stream } = await streams.current(streamId, true));
      } catch (error) {
        if (error instanceof CorruptEventError && !(await mayLearnOfCorruption(store, streamId, reader))) {
          return { found: false, missing: 'order' };
        }
        throw error;
      }
      const { state, head, owner } = stream;
      if (!head || state.status !== 'open' || (reader !== undefined && owner !== reader)) {
        return { found: false, missing: 'order' };
      }
      const payment = paymentStatusOf(state, paymentId);
      return payment ? { found: true, payment, revision: head.revision } : { found: false, missing: 'payment' };
    },

    async ownerOf(orderId) {
      // Not refreshed: an order's owner never changes once the order exists.
      const { stream } = await streams.current(orderStreamId(orderId), false);
      return stream.head && stream.state.status === 'open' ? stream.owner : undefined;
    },
  };
}

/**
 * Whether the reader may be told that a stream which failed to decode is corrupt: its owner, judged
 * from the first record as stored, may; another client is told the order does not exist. A stream
 * whose records cannot be read at all names no owner, and the store reports it to every reader.
 */
async function mayLearnOfCorruption(store: EventStore, streamId: string, reader: Reader): Promise<boolean> {
  if (reader === undefined) return true;
  let records: RecordedEvent[];
  try {
    records = await store.readStream(streamId);
  } catch (error) {
    if (error instanceof CorruptEventError) return true;
    throw error;
  }
  return records[0] !== undefined && ownedBy(records[0], reader);
}
