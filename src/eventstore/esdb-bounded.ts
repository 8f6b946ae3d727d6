/**
 * The client gives reads and subscriptions an infinite gRPC deadline and fetches server
 * capabilities and cluster gossip without one, so every one-shot call is raced against a timer.
 */
import type { StreamingRead } from '@eventstore/db-client';
import { withTimeout } from '../timeout.ts';
import { StoreUnavailableError } from './errors.ts';

/** Races a call against the bound; `onTimeout` releases whatever the call holds. */
export function bounded<T>(work: Promise<T>, what: string, ms: number, onTimeout?: () => void): Promise<T> {
  return withTimeout(work, ms, () => {
    onTimeout?.();
    return new StoreUnavailableError(`${what}: no answer from EventStoreDB within ${ms} ms`, 'unreachable');
  });
}

/**
 * Reads a finite server stream to the end, bounded; a timeout cancels the gRPC call.
 * `assertOpen` runs at the end: dispose() cancels reads, and a cancelled read just ends, so a
 * read cut short by close() is never passed off as complete.
 */
export function drain<T>(read: StreamingRead<T>, what: string, ms: number, assertOpen: () => void): Promise<T[]> {
  const collect = async () => {
    const out: T[] = [];
    for await (const item of read) out.push(item);
    assertOpen();
    return out;
  };
  return bounded(collect(), what, ms, () => {
    void read.cancel().catch(() => undefined);
    read.destroy();
  });
}
