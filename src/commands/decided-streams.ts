/**
 * A stream as the command handler decides on it: its state folded from every event, its head (the
 * revision and hash the next append follows), its owner, and its events (how a replay finds the
 * original result). Kept per process in the state cache, so each event is read, validated and
 * hash-verified once: a cached stream is used as it is; a refresh reads only the tail after its head
 * and verifies that the tail's chain continues from the head's hash. A corrupt tail evicts the entry,
 * so nothing is ever decided on it.
 */
import type { CommandDecider, TypedEvent } from '../domain/decider.ts';
import { CorruptEventError } from '../eventstore/errors.ts';
import type { AppendResult, EventStore, EventToAppend } from '../eventstore/port.ts';
import { decodeStream, type LedgerEvent } from '../events/codec.ts';
import type { EventMetadata } from '../events/metadata.ts';
import { approximateBytes, type CachePartition, type StateCache } from './state-cache.ts';

/** A stored event as a replay answers it; the position may be unknown for all but an append's last event. */
export interface StreamEvent<Event> {
  readonly id: string;
  readonly revision: bigint;
  readonly position: bigint | undefined;
  readonly event: Event;
  readonly metadata: EventMetadata;
}

export interface StreamHead {
  readonly revision: bigint;
  readonly hash: string;
  readonly position: bigint;
}

export interface DecidedStream<Event, State> {
  readonly state: State;
  /** Undefined while the stream holds no event. */
  readonly head: StreamHead | undefined;
  /** The client of the stream's first event. */
  readonly owner: string | undefined;
  readonly events: EventList<Event>;
  /** Approximate heap held by the events and the state folded from them. */
  readonly bytes: number;
}

/**
 * An append-only list shared by the successive entries of one stream: each entry sees its own
 * length, so extending the newest is a push, and extending an older one (a racing refresh) copies.
 */
export class EventList<Event> {
  private constructor(
    private readonly items: StreamEvent<Event>[],
    readonly length: number,
  ) {}

  static empty<Event>(): EventList<Event> {
    return new EventList<Event>([], 0);
  }

  with(more: readonly StreamEvent<Event>[]): EventList<Event> {
    const items = this.items.length === this.length ? this.items : this.items.slice(0, this.length);
    items.push(...more);
    return new EventList(items, this.length + more.length);
  }

  find(predicate: (e: StreamEvent<Event>) => boolean): StreamEvent<Event> | undefined {
    for (let i = 0; i < this.length; i++) if (predicate(this.items[i]!)) return this.items[i];
    return undefined;
  }

  filter(predicate: (e: StreamEvent<Event>) => boolean): StreamEvent<Event>[] {
    const found: StreamEvent<Event>[] = [];
    for (let i = 0; i < this.length; i++) if (predicate(this.items[i]!)) found.push(this.items[i]!);
    return found;
  }
}

export interface StreamView<Event, State> {
  readonly stream: DecidedStream<Event, State>;
  /** Read from the store just now, rather than taken from the cache (which may be stale). */
  readonly fresh: boolean;
}

/** The state folded in counts as much again as the events it was folded from. */
const STATE_SHARE = 2;
const ENTRY_BYTES = 512;

export interface DecidedStreams<Event, State> {
  /**
   * The cached stream if there is one and `refresh` is false; else brought up to date from the store.
   * With `assumeNew`, a stream the cache does not hold is answered as empty without a read (not fresh):
   * most such streams are new ones, and a write decided on that guess expects no stream, so the store
   * refuses it if the stream exists after all, as it refuses a write decided on a stale entry.
   */
  current(streamId: string, refresh: boolean, assumeNew?: boolean): Promise<StreamView<Event, State>>;
  /** The stream after an append of `written` at its head, as the store acknowledged it. */
  advance(
    streamId: string,
    from: DecidedStream<Event, State>,
    written: readonly { readonly event: Event; readonly record: EventToAppend }[],
    result: AppendResult,
  ): void;
}

export function decidedStreams<Command, Event extends TypedEvent, State>(
  decider: CommandDecider<Command, Event, State>,
  store: EventStore,
  cache: StateCache,
): DecidedStreams<Event, State> {
  const cached: CachePartition<DecidedStream<Event, State>> = cache.partition();
  const empty = (): DecidedStream<Event, State> => ({
    state: decider.initialState(),
    head: undefined,
    owner: undefined,
    events: EventList.empty(),
    bytes: ENTRY_BYTES,
  });

  function extended(from: DecidedStream<Event, State>, events: readonly StreamEvent<Event>[], head: StreamHead) {
    let { state, bytes } = from;
    for (const e of events) {
      state = decider.evolve(state, e.event);
      bytes += STATE_SHARE * (approximateBytes(e.event) + approximateBytes(e.metadata) + 64);
    }
    const owner = from.owner ?? events[0]?.metadata.clientId;
    return { state, head, owner, events: from.events.with(events), bytes };
  }

  /** Keeps `next` unless the cache already holds the stream at a later revision (a racing command). */
  function keep(streamId: string, next: DecidedStream<Event, State>): void {
    const held = cached.get(streamId);
    if (held?.head && next.head && held.head.revision > next.head.revision) return;
    cached.set(streamId, next, next.bytes);
  }

  async function tailAfter(streamId: string, from: DecidedStream<Event, State>): Promise<DecidedStream<Event, State>> {
    const fromRevision = from.head ? from.head.revision + 1n : 0n;
    // A decorated store may ignore fromRevision; what precedes it is already verified here.
    const records = (await store.readStream(streamId, { fromRevision })).filter((r) => r.revision >= fromRevision);
    if (records.length === 0) return from;
    const tail = decodeStream(records, decider.eventSchema, from.head);
    const last = tail[tail.length - 1]!;
    return extended(from, tail.map(streamEvent), headOf(last));
  }

  return {
    async current(streamId, refresh, assumeNew = false) {
      const held = cached.get(streamId);
      if (held && !refresh) return { stream: held, fresh: false };
      if (!held && !refresh && assumeNew) return { stream: empty(), fresh: false };
      let stream: DecidedStream<Event, State>;
      try {
        stream = await tailAfter(streamId, held ?? empty());
      } catch (error) {
        if (error instanceof CorruptEventError) cached.delete(streamId);
        throw error;
      }
      // A stream with no event is not kept: probes of missing orders must not fill the cache.
      if (stream.head && stream !== held) keep(streamId, stream);
      return { stream, fresh: true };
    },

    advance(streamId, from, written, result) {
      const first = result.nextExpectedRevision - BigInt(written.length) + 1n;
      const events = written.map(
        (w, i): StreamEvent<Event> => ({
          id: w.record.id,
          revision: first + BigInt(i),
          // The store reports the position of an append's last event only.
          position: i === written.length - 1 ? result.position : undefined,
          event: w.event,
          metadata: w.record.metadata as unknown as EventMetadata,
        }),
      );
      const last = events[events.length - 1]!;
      const head = { revision: last.revision, hash: last.metadata.hash, position: result.position };
      keep(streamId, extended(from, events, head));
    },
  };
}

const streamEvent = <Event extends TypedEvent>(e: LedgerEvent<Event>): StreamEvent<Event> => ({
  id: e.id,
  revision: e.revision,
  position: e.position,
  event: e.event,
  metadata: e.metadata,
});

const headOf = (e: LedgerEvent<TypedEvent>): StreamHead => ({
  revision: e.revision,
  hash: e.metadata.hash,
  position: e.position,
});
