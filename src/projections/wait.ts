/**
 * Read-your-writes: wait until the served generation of every named projection has applied the
 * log up to a position. Checkpoints advance for every event, handled or not, so "checkpoint ≥
 * position" is exactly "everything up to that write is visible". The local runner wakes waiters
 * on every commit; a short poll covers runners in other processes.
 */
import type { CommitSignal } from '../eventstore/polling-subscription.ts';
import type { Checkpoints } from './checkpoints.ts';

export interface WaitOptions {
  readonly timeoutMs: number;
  readonly signal?: AbortSignal;
}

/** Resolves true once reached, false when the timeout passes (or the signal aborts) first. */
export type WaitForPosition = (position: bigint, projections: readonly string[], options: WaitOptions) => Promise<boolean>;

export function createPositionWaiter(checkpoints: Checkpoints, advanced: CommitSignal | undefined, pollIntervalMs = 25): WaitForPosition {
  const reached = (position: bigint, projections: readonly string[]): boolean =>
    projections.every((name) => {
      const served = checkpoints.active(name)?.position;
      return served !== undefined && served >= position;
    });

  return async (position, projections, { timeoutMs, signal }) => {
    const deadline = performance.now() + timeoutMs;
    const never = new AbortController().signal;
    for (;;) {
      if (reached(position, projections)) return true;
      const remaining = deadline - performance.now();
      if (remaining <= 0 || signal?.aborted) return false;
      const slice = Math.min(remaining, pollIntervalMs);
      if (advanced) await advanced.wait(signal ?? never, slice);
      else await new Promise((resolve) => setTimeout(resolve, slice));
    }
  };
}
