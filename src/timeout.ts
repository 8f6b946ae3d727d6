/**
 * Settles as `work` does, or rejects with `expired()` once `ms` have passed, whichever comes first.
 * The timer is cleared either way, so nothing outlives the race; `work` itself is not cancelled
 * (`expired` is where a caller releases what the work holds), and its late rejection is handled.
 */
export async function withTimeout<T>(work: Promise<T>, ms: number, expired: () => Error): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  const deadline = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(expired()), ms);
  });
  try {
    return await Promise.race([work, deadline]);
  } finally {
    clearTimeout(timer);
  }
}
