/**
 * Store decorators. `instrumentAppends` times every append, so write latency is measured the
 * same way whichever adapter is behind the port; only append is timed, it is the durable step.
 */
import { WrongExpectedVersionError } from './errors.ts';
import type { EventStore } from './port.ts';

export type AppendOutcome = 'written' | 'duplicate' | 'conflict' | 'error';

export type AppendObserver = (seconds: number, outcome: AppendOutcome) => void;

export function instrumentAppends(store: EventStore, observe: AppendObserver): EventStore {
  return decorateStore(store, {
    async append(streamId, events, expected) {
      const started = process.hrtime.bigint();
      const elapsed = () => Number(process.hrtime.bigint() - started) / 1e9;
      try {
        const result = await store.append(streamId, events, expected);
        observe(elapsed(), result.duplicate ? 'duplicate' : 'written');
        return result;
      } catch (error) {
        observe(elapsed(), error instanceof WrongExpectedVersionError ? 'conflict' : 'error');
        throw error;
      }
    },
  });
}

/** The store with some methods replaced; the rest delegate to it. */
export function decorateStore(store: EventStore, overrides: Partial<Omit<EventStore, 'kind'>>): EventStore {
  return {
    kind: store.kind,
    // Explicit delegation rather than a spread: adapters written as classes keep their `this`.
    append: (streamId, events, expected) => store.append(streamId, events, expected),
    readStream: (streamId) => store.readStream(streamId),
    readAll: (options) => store.readAll(options),
    subscribe: (options) => store.subscribe(options),
    headPosition: () => store.headPosition(),
    ping: () => store.ping(),
    close: () => store.close(),
    ...overrides,
  };
}
