/**
 * Read-your-writes: wait until the served generation of every named projection has applied the
 * log up to a position. Checkpoints advance for every event, handled or not, so "checkpoint ≥
 * position" is exactly "everything up to that write is visible".
 *
 * Parked reads share one sweep: it wakes when the local runner advances (or after the poll
 * interval, for runners in other processes), reads each projection's checkpoint once, and
 * releases every waiter that was reached. The cost of waiting is one sweep per wake-up, not
 * one per waiter; and at most `maxWaiting` reads are parked at once, the next is refused.
 */
import type { CommitSignal } from '../commit-signal.ts';
import type { ReadModelStore } from './read-model-store.ts';

export interface WaitOptions {
  readonly timeoutMs: number;
  readonly signal?: AbortSignal;
}

/**
 * Resolves true once reached, false when the timeout passes (or the signal aborts) first;
 * rejects with WaitCapacityError when it would have to park beyond the limit.
 */
export type WaitForPosition = (
  position: bigint,
  projections: readonly string[],
  options: WaitOptions,
) => Promise<boolean>;

export interface PositionWaiterOptions {
  /** How often parked reads look for progress made by runners in other processes. */
  readonly pollIntervalMs?: number;
  /** Most reads parked at once. */
  readonly maxWaiting?: number;
}

export const DEFAULT_MAX_WAITING = 1_000;

/** Too many reads are already waiting: answering this one later is the caller's to decide. */
export class WaitCapacityError extends Error {
  override readonly name = 'WaitCapacityError';
  constructor(readonly limit: number) {
    super(`${limit} reads are already waiting for the read model to catch up`);
  }
}

interface Waiter {
  readonly position: bigint;
  readonly projections: readonly string[];
  readonly settle: (reached: boolean) => void;
}

export function createPositionWaiter(
  readModels: Pick<ReadModelStore, 'servedPositions'>,
  advanced: Pick<CommitSignal, 'wait'> | undefined,
  options: PositionWaiterOptions = {},
): WaitForPosition {
  const pollIntervalMs = options.pollIntervalMs ?? 25;
  const maxWaiting = options.maxWaiting ?? DEFAULT_MAX_WAITING;
  const parked = new Set<Waiter>();
  const never = new AbortController().signal;
  let sweeping = false;

  /** Served positions read once per sweep, whatever the number of waiters. */
  const reader = async (names: Iterable<string>) => {
    const served = await readModels.servedPositions([...new Set(names)]);
    return (position: bigint, projections: readonly string[]) =>
      projections.every((name) => {
        const at = served.get(name);
        return at !== undefined && at >= position;
      });
  };

  const reachedNow = async (position: bigint, projections: readonly string[]) => {
    try {
      return (await reader(projections))(position, projections);
    } catch {
      return false;
    }
  };

  async function sweep(): Promise<void> {
    sweeping = true;
    try {
      while (parked.size > 0) {
        if (advanced) await advanced.wait(never, pollIntervalMs);
        else await new Promise((resolve) => setTimeout(resolve, pollIntervalMs));
        const reached = await reader([...parked].flatMap((waiter) => waiter.projections));
        for (const waiter of parked) if (reached(waiter.position, waiter.projections)) waiter.settle(true);
      }
    } catch {
      // The read models cannot be read (closing): nobody is reached, and each waiter says so.
      for (const waiter of parked) waiter.settle(false);
    } finally {
      sweeping = false;
    }
  }

  return async (position, projections, { timeoutMs, signal }) => {
    if ((await reader(projections))(position, projections)) return true;
    if (timeoutMs <= 0 || signal?.aborted) return false;
    if (parked.size >= maxWaiting) throw new WaitCapacityError(maxWaiting);
    return new Promise<boolean>((resolve) => {
      const waiter: Waiter = {
        position,
        projections,
        settle: (reached) => {
          if (!parked.delete(waiter)) return;
          clearTimeout(timer);
          signal?.removeEventListener('abort', abort);
          resolve(reached);
        },
      };
      const abort = () => waiter.settle(false);
      const timer = setTimeout(() => void reachedNow(position, projections).then(waiter.settle), timeoutMs);
      signal?.addEventListener('abort', abort, { once: true });
      parked.add(waiter);
      if (!sweeping) void sweep();
    });
  };
}
