import { decorateStore } from '../../src/eventstore/instrumented-store.ts';
import type { EventStore } from '../../src/eventstore/port.ts';

export interface StreamRead {
  readonly streamId: string;
  readonly fromRevision: bigint;
  readonly records: number;
}

/** The store with every stream read recorded: which stream, from which revision, how many records. */
export function countedReads(store: EventStore): { store: EventStore; reads: StreamRead[] } {
  const reads: StreamRead[] = [];
  const view = decorateStore(store, {
    async readStream(streamId, options) {
      const records = await store.readStream(streamId, options);
      reads.push({ streamId, fromRevision: options?.fromRevision ?? 0n, records: records.length });
      return records;
    },
  });
  return { store: view, reads };
}

export const readsOf = (reads: readonly StreamRead[], streamId: string): StreamRead[] =>
  reads.filter((r) => r.streamId === streamId);
