import { WrongExpectedVersionError } from './errors.ts';
import type { ExpectedRevision, StreamWrite } from './port.ts';

export interface StoredRef {
  readonly id: string;
  readonly revision: bigint;
  readonly position: bigint;
}

export type ExpectationOutcome =
  | { readonly kind: 'append'; readonly firstRevision: bigint }
  | { readonly kind: 'duplicate'; readonly last: StoredRef };

/**
 * EventStoreDB's append rule, shared by the embedded stores: the expectation must match the
 * stream's head, except that re-appending exactly the events already stored from the expected
 * revision on (same ids, same order) is an idempotent success that writes nothing.
 */
export function resolveExpectation(
  streamId: string,
  expected: ExpectedRevision,
  actual: ExpectedRevision,
  newIds: readonly string[],
  storedFrom: (firstRevision: bigint, count: number) => readonly StoredRef[],
): ExpectationOutcome {
  const firstRevision = expected === 'no_stream' ? 0n : expected + 1n;
  if (expected === actual) return { kind: 'append', firstRevision };
  const behind = actual !== 'no_stream' && (expected === 'no_stream' || expected < actual);
  if (behind && newIds.length > 0) {
    const stored = storedFrom(firstRevision, newIds.length);
    const last = stored[stored.length - 1];
    if (last && stored.length === newIds.length && stored.every((ref, i) => ref.id === newIds[i])) {
      return { kind: 'duplicate', last };
    }
  }
  throw new WrongExpectedVersionError(streamId, expected, actual);
}

/** A multi-stream append names each stream once: two writes to one stream would fence each other. */
export function assertDistinctStreams(writes: readonly StreamWrite[]): void {
  const names = new Set(writes.map((w) => w.streamId));
  if (names.size !== writes.length) throw new Error('an atomic append names a stream twice');
  if (writes.some((w) => w.events.length === 0)) throw new Error('an atomic append has a write without events');
}
