import type { EventStore, SubscribeOptions, SubscriptionItem } from './port.ts';

const PAGE = 1000;

/**
 * Catch-up then follow, for stores whose only live signal is "something was committed":
 * reads pages after the last seen position, and sleeps until a local commit wakes it or the
 * poll interval passes (another process may be writing to the same file).
 */
export async function* pollingSubscription(
  store: Pick<EventStore, 'readAll'>,
  options: SubscribeOptions,
  waitForCommit: (signal: AbortSignal, timeoutMs: number) => Promise<void>,
  pollIntervalMs: number,
): AsyncGenerator<SubscriptionItem> {
  let after = options.after;
  let caughtUp = false;
  while (!options.signal.aborted) {
    let count = 0;
    for await (const event of store.readAll({ after, maxCount: PAGE })) {
      if (options.signal.aborted) return;
      after = event.position;
      count += 1;
      yield { kind: 'event', event };
    }
    if (count === PAGE) continue;
    if (!caughtUp) {
      caughtUp = true;
      yield { kind: 'caught-up', position: after };
    }
    await waitForCommit(options.signal, pollIntervalMs);
  }
}
