/**
 * The payment buffer next to a store: the feed of pending requests (for the buffer bound, the
 * metrics and the processor), and, unless asked not to, a processor driving the gateway. The
 * server starts one when a gateway is configured; `ledger process-payments` starts one alone.
 */
import type { CommandHandler } from '../commands/handler.ts';
import type { EventStore } from '../eventstore/port.ts';
import type { ProjectionLogger } from '../projections/engine.ts';
import type { PaymentGateway } from './gateway.ts';
import { createPaymentObserver, type PaymentObserver } from './metrics.ts';
import { followPendingRequests, type PendingFeed } from './pending-feed.ts';
import type { ProcessorCheckpoint } from './processor-checkpoint.ts';
import { type PaymentProcessor, type ProcessorOptions, startPaymentProcessor } from './processor.ts';

export const DEFAULT_PAYMENT_BUFFER = 10_000;

export interface PaymentBufferOptions {
  readonly store: EventStore;
  readonly gateway: PaymentGateway;
  readonly handle: CommandHandler;
  readonly checkpoint: ProcessorCheckpoint;
  readonly logger: ProjectionLogger;
  /** Most requests pending before new ones are refused (default 10 000). */
  readonly capacity?: number;
  /** False: only follow the requests (the buffer bound, metrics); another process processes them. */
  readonly process?: boolean;
  readonly processor?: Omit<ProcessorOptions, 'requests' | 'wake' | 'gateway' | 'handle' | 'logger' | 'observer'>;
}

export interface PaymentBuffer {
  readonly gateway: PaymentGateway;
  readonly feed: PendingFeed;
  readonly processor: PaymentProcessor | undefined;
  readonly observer: PaymentObserver;
  readonly capacity: number;
  /** Requests pending as this process knows them: the log as far as the feed has read, and its own. */
  depth(): number;
  /**
   * Why a new request is refused now, or undefined: the buffer is full, or it is not counted yet
   * (until the feed first reaches the head of the log, the depth is only what it has read so far).
   */
  refusal(): string | undefined;
  close(): Promise<void>;
}

export function startPaymentBuffer(options: PaymentBufferOptions): PaymentBuffer {
  const feed = followPendingRequests({ store: options.store, checkpoint: options.checkpoint, logger: options.logger });
  const observer = createPaymentObserver();
  const processor =
    options.process === false
      ? undefined
      : startPaymentProcessor({
          ...options.processor,
          requests: feed.requests,
          wake: feed.advanced,
          gateway: options.gateway,
          handle: options.handle,
          logger: options.logger,
          observer,
        });
  let closing: Promise<void> | undefined;
  const capacity = options.capacity ?? DEFAULT_PAYMENT_BUFFER;
  return {
    gateway: options.gateway,
    feed,
    processor,
    observer,
    capacity,
    depth: () => feed.requests.size,
    refusal() {
      if (!feed.isCaughtUp) return 'the pending payment requests are still being counted since this server started';
      const depth = feed.requests.size;
      return depth >= capacity
        ? `${depth} payment requests are pending (LEDGER_PAYMENT_BUFFER ${capacity})`
        : undefined;
    },
    close: () =>
      (closing ??= (async () => {
        await processor?.stop();
        await feed.stop();
        await options.gateway.close?.();
      })()),
  };
}
