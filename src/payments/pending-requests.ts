/**
 * The payment requests without an outcome, folded from the log: what the processor works on, what
 * the buffer bound counts, and what /metrics reports the age of. Kept in memory by each process
 * that follows the log; it is rebuilt from the processor checkpoint (see pending-feed.ts) on start.
 */
import type { OrderEvent } from '../domain/events.ts';
import type { LedgerEvent } from '../events/codec.ts';

export interface PendingClaim {
  readonly processorId: string;
  /** Epoch ms. */
  readonly at: number;
  readonly leaseMs: number;
}

export interface PendingRequest {
  readonly orderId: string;
  readonly paymentId: string;
  readonly amount: number;
  readonly currency: string;
  readonly paymentMethod: string;
  /** The owner's client id, as its request recorded it: the outcome is written on its behalf. */
  readonly clientId: string;
  readonly correlationId: string;
  /** The PaymentRequested event's id and position. */
  readonly requestEventId: string;
  readonly position: bigint;
  /** Epoch ms of the request. */
  readonly requestedAt: number;
  readonly claim: PendingClaim | undefined;
  /** Epoch ms of the first claim: the PSP's key window runs from it. */
  readonly firstClaimAt: number | undefined;
}

export const PAYMENT_EVENT_TYPES: ReadonlySet<string> = new Set([
  'PaymentRequested',
  'PaymentProcessingStarted',
  'PaymentCaptured',
  'PaymentDeclined',
]);

const keyOf = (orderId: string, paymentId: string) => `${orderId}\n${paymentId}`;

export class PendingRequests {
  private readonly byKey = new Map<string, PendingRequest>();
  private readonly listeners = new Set<() => void>();
  /** The last position the feed applied. */
  private applied: bigint | undefined;

  get size(): number {
    return this.byKey.size;
  }

  /** Oldest first (log order). */
  list(): PendingRequest[] {
    return [...this.byKey.values()];
  }

  get(orderId: string, paymentId: string): PendingRequest | undefined {
    return this.byKey.get(keyOf(orderId, paymentId));
  }

  oldestRequestedAt(): number | undefined {
    let oldest: number | undefined;
    for (const request of this.byKey.values()) {
      if (oldest === undefined || request.requestedAt < oldest) oldest = request.requestedAt;
    }
    return oldest;
  }

  get position(): bigint | undefined {
    return this.applied;
  }

  /**
   * Every request at or before the returned position is resolved: the feed may restart after it
   * and miss nothing pending (claims and outcomes always follow their request in the log).
   */
  lowWaterMark(): bigint | undefined {
    let low = this.applied;
    for (const request of this.byKey.values()) {
      if (low === undefined || request.position - 1n < low) low = request.position - 1n;
    }
    return low;
  }

  onChange(listener: () => void): () => void {
    this.listeners.add(listener);
    return () => this.listeners.delete(listener);
  }

  /**
   * A request this process has just appended: in the count before the feed reaches it. Once the
   * feed has passed it, the feed alone knows (its outcome may be applied already).
   */
  noteRequested(event: LedgerEvent): void {
    if (this.applied !== undefined && event.position <= this.applied) return;
    this.fold(event);
  }

  /** The feed has applied everything up to here (events of other types included). */
  advance(position: bigint): void {
    if (this.applied === undefined || position > this.applied) this.applied = position;
  }

  /** One event from the feed, in log order. */
  apply(event: LedgerEvent<OrderEvent>): void {
    this.fold(event);
    this.advance(event.position);
  }

  private fold(event: LedgerEvent<OrderEvent>): void {
    const e = event.event;
    const { orderId, paymentId } = e.data as { orderId: string; paymentId?: string };
    if (paymentId === undefined) return;
    const key = keyOf(orderId, paymentId);
    const current = this.byKey.get(key);
    switch (e.type) {
      case 'PaymentRequested': {
        if (current) return;
        const { amount, currency, paymentMethod } = e.data;
        this.byKey.set(key, {
          ...{ orderId, paymentId, amount, currency, paymentMethod },
          clientId: event.metadata.clientId,
          correlationId: event.metadata.correlationId,
          requestEventId: event.id,
          position: event.position,
          requestedAt: Date.parse(event.metadata.recordedAt),
          claim: undefined,
          firstClaimAt: undefined,
        });
        break;
      }
      case 'PaymentProcessingStarted': {
        if (!current) return;
        const at = Date.parse(e.data.at);
        const claim = { processorId: e.data.processorId, at, leaseMs: e.data.leaseMs };
        this.byKey.set(key, { ...current, claim, firstClaimAt: current.firstClaimAt ?? at });
        break;
      }
      case 'PaymentCaptured':
      case 'PaymentDeclined':
        // Outcomes of requests resolved before the feed's start are not here: nothing to forget.
        if (!current || (e.type === 'PaymentCaptured' && e.data.pspReference === undefined)) return;
        this.byKey.delete(key);
        break;
      default:
        return;
    }
    for (const listener of this.listeners) listener();
  }
}
