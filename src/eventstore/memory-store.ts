import { StoreUnavailableError } from './errors.ts';
import { resolveExpectation } from './expectation.ts';
import { CommitSignal } from '../commit-signal.ts';
import { pollingSubscription } from './polling-subscription.ts';
import { assertDistinctStreams } from './expectation.ts';
import type {
  AppendResult,
  EventStore,
  EventToAppend,
  ExpectedRevision,
  ReadAllOptions,
  ReadStreamOptions,
  RecordedEvent,
  StreamWrite,
  SubscribeOptions,
} from './port.ts';

/** For tests and throwaway runs: the same rules as the durable stores, nothing kept. */
export function openMemoryStore(): EventStore {
  const log: RecordedEvent[] = [];
  const streams = new Map<string, RecordedEvent[]>();
  const commits = new CommitSignal();
  let closed = false;

  const assertOpen = (): void => {
    if (closed) throw new StoreUnavailableError('the memory store is closed', 'closed');
  };

  const store: EventStore = {
    kind: 'memory',

    async append(
      streamId: string,
      events: readonly EventToAppend[],
      expected: ExpectedRevision,
    ): Promise<AppendResult> {
      const [result] = await store.appendAtomically!([{ streamId, events, expected }]);
      return result!;
    },

    async appendAtomically(writes: readonly StreamWrite[]): Promise<AppendResult[]> {
      assertOpen();
      assertDistinctStreams(writes);
      // Every expectation is resolved before anything is written: all or nothing.
      const outcomes = writes.map((write) => {
        const stream = streams.get(write.streamId) ?? [];
        const head = stream[stream.length - 1];
        return resolveExpectation(
          write.streamId,
          write.expected,
          head ? head.revision : 'no_stream',
          write.events.map((e) => e.id),
          (first, count) => stream.slice(Number(first), Number(first) + count),
        );
      });
      const createdAt = new Date();
      const results = writes.map((write, i): AppendResult => {
        const outcome = outcomes[i]!;
        if (outcome.kind === 'duplicate') {
          return { nextExpectedRevision: outcome.last.revision, position: outcome.last.position, duplicate: true };
        }
        const stream = streams.get(write.streamId) ?? [];
        let revision = outcome.firstRevision;
        for (const e of write.events) {
          const recorded: RecordedEvent = {
            id: e.id,
            streamId: write.streamId,
            revision,
            position: BigInt(log.length + 1),
            type: e.type,
            data: structuredClone(e.data),
            metadata: structuredClone(e.metadata),
            createdAt,
          };
          log.push(recorded);
          stream.push(recorded);
          revision += 1n;
        }
        streams.set(write.streamId, stream);
        const last = stream[stream.length - 1]!;
        return { nextExpectedRevision: last.revision, position: last.position, duplicate: false };
      });
      commits.notify();
      return results;
    },

    async readStream(streamId: string, options: ReadStreamOptions = {}): Promise<RecordedEvent[]> {
      assertOpen();
      const from = options.fromRevision ?? 0n;
      return (streams.get(streamId) ?? []).filter((e) => e.revision >= from);
    },

    async *readAll(options: ReadAllOptions = {}): AsyncGenerator<RecordedEvent> {
      assertOpen();
      // Positions are 1-based array offsets, so "after p" starts at index p.
      let index = options.after === undefined ? 0 : Number(options.after);
      let yielded = 0;
      while (index < log.length && yielded < (options.maxCount ?? Infinity)) {
        const event = log[index++]!;
        if (options.upTo !== undefined && event.position > options.upTo) return;
        yielded += 1;
        yield event;
      }
    },

    subscribe(options: SubscribeOptions) {
      return pollingSubscription(store, options, commits.wait, 1_000);
    },

    async headPosition() {
      return log.length === 0 ? undefined : BigInt(log.length);
    },

    async ping() {
      assertOpen();
    },

    async close() {
      closed = true;
      commits.notify();
    },
  };
  return store;
}
