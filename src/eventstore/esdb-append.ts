/**
 * The EventStoreDB store's append: to the leader, bounded, and settled when the server leaves
 * its outcome unknown.
 *
 * A timed-out append may have been written. Concurrent identical appends make this common: the
 * server drops a duplicate of a write that is not yet indexed ("wait for the client to retry",
 * IdempotentNotReady) and the client times out. So after such a timeout the stream is read at the
 * expected revision: if our ids are there, the append is done (reported as a duplicate: the
 * events were already stored when we looked); if not, it is sent again. Sending again is safe
 * because the expectation is explicit and the ids are deterministic: the server recognises
 * events it already has, and a different write at that revision conflicts.
 */
import { NO_STREAM, NotLeaderError, jsonEvent } from '@eventstore/db-client';
import { bounded } from './esdb-bounded.ts';
import { esdbStoreError, isUnknownOutcome } from './esdb-errors.ts';
import { positionOf, readSlice, type EsdbReadContext } from './esdb-reads.ts';
import type { AppendResult, EventToAppend, ExpectedRevision } from './port.ts';

/** Sends of one append at most: a first one and two more after an unknown outcome or a leader change. */
export const APPEND_ATTEMPTS = 3;

export async function appendToEsdb(
  context: EsdbReadContext,
  streamId: string,
  events: readonly EventToAppend[],
  expected: ExpectedRevision,
): Promise<AppendResult> {
  // Our deterministic ids, never the client's random default: a retry must carry the same ids.
  const proposed = events.map((e) => jsonEvent({ id: e.id, type: e.type, data: e.data, metadata: e.metadata }));
  const { timeoutMs } = context;
  for (let attempt = 1; ; attempt++) {
    context.assertOpen();
    try {
      const appending = context.client.appendToStream(streamId, proposed, {
        expectedRevision: expected === 'no_stream' ? NO_STREAM : expected,
        deadline: timeoutMs,
        // Only the leader writes; a follower answers NotLeaderError and the client moves to the leader.
        requiresLeader: true,
      });
      // The bound is a little longer than the gRPC deadline, so the deadline's typed error wins when it fires.
      const result = await bounded(appending, `append to ${streamId}`, timeoutMs + 500);
      const position = result.position?.commit ?? (await positionOf(context, streamId, result.nextExpectedRevision));
      // ESDB answers an idempotent re-append exactly like a fresh one: it cannot be told apart here.
      return { nextExpectedRevision: result.nextExpectedRevision, position, duplicate: undefined };
    } catch (err) {
      const retryable = isUnknownOutcome(err) || err instanceof NotLeaderError;
      if (!retryable || attempt >= APPEND_ATTEMPTS) throw esdbStoreError(err, streamId, expected);
      if (isUnknownOutcome(err)) {
        const stored = await alreadyStored(context, streamId, events, expected);
        if (stored) return stored;
      }
    }
  }
}

/** The append's result if exactly its events sit at the revisions it would have written, else undefined. */
async function alreadyStored(
  context: EsdbReadContext,
  streamId: string,
  events: readonly EventToAppend[],
  expected: ExpectedRevision,
): Promise<AppendResult | undefined> {
  const first = expected === 'no_stream' ? 0n : expected + 1n;
  const found = await readSlice(context, streamId, first, events.length);
  const matches = found.length === events.length && found.every((e, i) => e.id === events[i]!.id);
  const last = found.at(-1);
  if (!matches || last === undefined) return undefined;
  return { nextExpectedRevision: last.revision, position: last.position, duplicate: true };
}
