/**
 * A wake-up signal for commits: every waiter resolves on the next notify, abort, or timeout.
 * The in-process stores notify it after each append, waking their polling subscriptions (and so
 * the projection runner); the runner notifies its own after each batch, waking reads that wait
 * for a position. The timeout is the fallback for commits made by another process.
 */
export class CommitSignal {
  private waiters = new Set<() => void>();

  notify(): void {
    const waiters = [...this.waiters];
    this.waiters.clear();
    for (const wake of waiters) wake();
  }

  wait = (signal: AbortSignal, timeoutMs: number): Promise<void> =>
    new Promise((resolve) => {
      const done = (): void => {
        clearTimeout(timer);
        signal.removeEventListener('abort', done);
        this.waiters.delete(done);
        resolve();
      };
      const timer = setTimeout(done, timeoutMs);
      signal.addEventListener('abort', done, { once: true });
      this.waiters.add(done);
    });
}
