/**
 * The EventStoreDB store's subscription: a paged catch-up, an exact "caught-up" marker, then a
 * live catch-up subscription on $all filtered to the ledger's streams.
 */
import { START, streamNameFilter } from '@eventstore/db-client';
import { esdbStoreError } from './esdb-errors.ts';
import { toRecorded } from './esdb-records.ts';
import { readLedger, type EsdbReadContext } from './esdb-reads.ts';
import { StoreUnavailableError } from './errors.ts';
import type { RecordedEvent, SubscribeOptions, SubscriptionItem } from './port.ts';

export interface EsdbSubscriptionContext extends EsdbReadContext {
  readonly prefixes: readonly string[];
  /** Aborted when the store closes. */
  readonly shutdown: AbortSignal;
}

export async function* subscribeLedger(
  context: EsdbSubscriptionContext,
  { after, signal }: SubscribeOptions,
): AsyncGenerator<SubscriptionItem> {
  context.assertOpen();
  // Stops on the caller's signal or on close(); either way the iterable just ends.
  const stop = new AbortController();
  const abort = () => stop.abort();
  signal.addEventListener('abort', abort, { once: true });
  context.shutdown.addEventListener('abort', abort, { once: true });
  if (signal.aborted) stop.abort();
  try {
    // Catch up with paged reads rather than the subscription's `caughtUp` event: that event is
    // emitted beside the data (not in order with events still buffered) and depends on the server
    // version sending it. A paged catch-up gives an exact, ordered "caught-up" marker.
    let last = after;
    for await (const event of readLedger(context, { after }, stop.signal)) {
      yield { kind: 'event', event };
      last = event.position;
    }
    if (stop.signal.aborted) return;
    yield { kind: 'caught-up', position: last };
    if (stop.signal.aborted) return;
    for await (const event of liveEvents(context, last, stop.signal)) yield { kind: 'event', event };
    if (!stop.signal.aborted) throw new StoreUnavailableError('EventStoreDB ended the subscription', 'unreachable');
  } catch (err) {
    if (stop.signal.aborted) return; // a cancelled call or a closed store surfaces as an error: not a failure
    throw esdbStoreError(err);
  } finally {
    signal.removeEventListener('abort', abort);
    context.shutdown.removeEventListener('abort', abort);
  }
}

/**
 * Live: a catch-up subscription from where the reads ended (it replays anything appended in
 * between), filtered server-side to the ledger's streams; ends when `stop` aborts.
 */
async function* liveEvents(
  context: EsdbSubscriptionContext,
  after: bigint | undefined,
  stop: AbortSignal,
): AsyncGenerator<RecordedEvent> {
  const sub = context.client.subscribeToAll({
    fromPosition: after === undefined ? START : { commit: after, prepare: after },
    filter: streamNameFilter({ prefixes: [...context.prefixes] }),
  });
  let released = false;
  const release = () => {
    if (released) return;
    released = true;
    // Cancelling the call ends the stream; destroying it too guarantees the loop below cannot wait forever.
    void sub
      .unsubscribe()
      .catch(() => undefined)
      .finally(() => sub.destroy());
  };
  stop.addEventListener('abort', release, { once: true });
  let last = after;
  try {
    for await (const resolved of sub) {
      if (stop.aborted) return;
      const raw = resolved.event;
      if (!raw || !context.isLedgerStream(raw.streamId)) continue;
      const event = toRecorded(raw);
      if (last !== undefined && event.position <= last) continue;
      last = event.position;
      yield event;
    }
  } finally {
    stop.removeEventListener('abort', release);
    release();
  }
}
