/** Bounded exponential back-off with full jitter, so processors retrying one PSP do not retry in step. */
export interface BackoffPolicy {
  /** Calls per claim, the first included (default 5). */
  readonly attempts: number;
  readonly baseMs: number;
  readonly maxMs: number;
}

export const DEFAULT_BACKOFF: BackoffPolicy = { attempts: 5, baseMs: 100, maxMs: 5_000 };

/** The pause before retry number `retry` (1 for the first retry); a PSP's Retry-After is a floor. */
export function backoffDelay(policy: BackoffPolicy, retry: number, random: () => number, floorMs = 0): number {
  const ceiling = Math.min(policy.maxMs, policy.baseMs * 2 ** (retry - 1));
  return Math.min(policy.maxMs, Math.max(floorMs, random() * ceiling));
}
