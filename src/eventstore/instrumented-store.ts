/**
 * Store decorators. `instrumentAppends` times every append, so write latency is measured the
 * same way whichever adapter is behind the port; only append is timed, it is the durable step.
 * `afterAppends` says when appends were committed.
 */
import { WrongExpectedVersionError } from './errors.ts';
import type { EventStore } from './port.ts';

export type AppendOutcome = 'written' | 'duplicate' | 'conflict' | 'error';

export type AppendObserver = (seconds: number, outcome: AppendOutcome) => void;

export function instrumentAppends(store: EventStore, observe: AppendObserver): EventStore {
  async function timed<T>(append: () => Promise<T>, duplicate: (result: T) => boolean): Promise<T> {
    const started = process.hrtime.bigint();
    const elapsed = () => Number(process.hrtime.bigint() - started) / 1e9;
    try {
      const result = await append();
      observe(elapsed(), duplicate(result) ? 'duplicate' : 'written');
      return result;
    } catch (error) {
      observe(elapsed(), error instanceof WrongExpectedVersionError ? 'conflict' : 'error');
      throw error;
    }
  }
  const atomic = store.appendAtomically?.bind(store);
  return decorateStore(store, {
    append: (streamId, events, expected) =>
      timed(
        () => store.append(streamId, events, expected),
        (r) => r.duplicate === true,
      ),
    ...(atomic && {
      appendAtomically: (writes) =>
        timed(
          () => atomic(writes),
          (rs) => rs.every((r) => r.duplicate === true),
        ),
    }),
  });
}

/**
 * Calls `committed` after every append that resolved (written or recognised as a retry): a
 * wake-up for readers elsewhere.
 */
export function afterAppends(store: EventStore, committed: () => void): EventStore {
  const atomic = store.appendAtomically?.bind(store);
  const notifying = <T>(result: Promise<T>): Promise<T> =>
    result.then((value) => {
      committed();
      return value;
    });
  return decorateStore(store, {
    append: (streamId, events, expected) => notifying(store.append(streamId, events, expected)),
    ...(atomic && { appendAtomically: (writes) => notifying(atomic(writes)) }),
  });
}

/**
 * The store with some methods replaced; the rest delegate to it, capabilities included. An
 * override of `undefined` withdraws a capability (the decorated store then does without it).
 */
export function decorateStore(store: EventStore, overrides: Partial<Omit<EventStore, 'kind'>>): EventStore {
  const atomic = store.appendAtomically?.bind(store);
  const snapshot = store.snapshotTo?.bind(store);
  const decorated: EventStore = {
    kind: store.kind,
    ...(atomic && { appendAtomically: (writes) => atomic(writes) }),
    ...(snapshot && { snapshotTo: (path, onProgress) => snapshot(path, onProgress) }),
    // Explicit delegation rather than a spread: adapters written as classes keep their `this`.
    append: (streamId, events, expected) => store.append(streamId, events, expected),
    readStream: (streamId, options) => store.readStream(streamId, options),
    readAll: (options) => store.readAll(options),
    subscribe: (options) => store.subscribe(options),
    headPosition: () => store.headPosition(),
    ping: () => store.ping(),
    close: () => store.close(),
    ...overrides,
  };
  for (const capability of ['appendAtomically', 'snapshotTo'] as const) {
    if (capability in overrides && overrides[capability] === undefined) delete decorated[capability];
  }
  return decorated;
}
