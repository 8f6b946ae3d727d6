/**
 * read → decide → append at the revision that was read → on a lost race, re-read and re-decide.
 * The expected revision is the fence; the decider's idempotency turns every lost race between
 * duplicates into a replay of the winner's result. Nothing is written unless decide says so.
 * "Read" is the stream as this process last decided on it (decided-streams.ts) when it holds it:
 * a stale one fails the fence and then reads only the events it missed. A stream it holds nothing of
 * is first decided on as empty, without a read (a create, the common case, then costs no round trip
 * before its append); a refusal on that guess, or a write the store refuses because the stream exists,
 * reads it and decides again. Keyed writes read first: their binding must not be written on a guess.
 */
import type { OrderCommand } from '../domain/commands.ts';
import type { CommandDecider, TypedEvent } from '../domain/decider.ts';
import type { OrderEvent } from '../domain/events.ts';
import { orderDecider, type OrderState } from '../domain/order.ts';
import { CorruptEventError, WrongExpectedVersionError } from '../eventstore/errors.ts';
import type { AppendResult, EventStore, EventToAppend, ExpectedRevision } from '../eventstore/port.ts';
import { commandDigestOf } from '../events/codec.ts';
import { encodeDecision } from '../events/encode-decision.ts';
import type { CommandContext, EventMetadata } from '../events/metadata.ts';
import {
  type DecidedStream,
  type DecidedStreams,
  decidedStreams,
  type EventList,
  type StreamEvent,
} from './decided-streams.ts';
import { ConcurrencyExhaustedError, KeyBindingTakenError, RevisionMismatchError } from './errors.ts';
import { StateCache } from './state-cache.ts';

export interface CommandOutcome<Event = OrderEvent> {
  readonly streamId: string;
  /** The events that are this command's effect, as stored (the original ones on a replay). */
  readonly events: readonly { readonly id: string; readonly event: Event; readonly metadata: EventMetadata }[];
  /** Revision and global position of the last of those events. */
  readonly revision: bigint;
  readonly position: bigint;
  /** True when the effect was already in the stream and nothing was written. */
  readonly replayed: boolean;
  /** How many read-decide-append rounds it took (more than one means a lost race). */
  readonly attempts: number;
}

/** The effect a key binding names: its stream, its event, and the request hash that event carries. */
export interface BoundEffect {
  readonly streamId: string;
  readonly eventId: string;
  readonly requestHash: string;
}

/** A key binding to write with the command's effect (its stream must not exist yet). */
export interface BindingPlan {
  readonly streamId: string;
  readonly encode: (effect: BoundEffect) => EventToAppend;
}

export interface HandleOptions {
  /** If-Match: the stream must be at exactly this revision (checked after the replay check). */
  readonly ifMatch?: bigint;
  /** Bind the request's Idempotency-Key to the effect, if the command has one to write. */
  readonly binding?: BindingPlan;
}

/**
 * How a binding and its effect reach the store: in one transaction where the store can commit two
 * streams atomically, else reservation first (`no_stream`), then the effect. A crash between the two
 * leaves a binding whose effect is missing; the key's retry finds it and writes the effect.
 */
export type BindingProtocol = 'atomic' | 'two-step';

/** The points between the durable steps of a keyed write (where a crash test stops the process). */
export type BindingStep = 'after-reservation' | 'after-effect';

export interface CommandHandlerOptions {
  readonly maxAttempts?: number;
  readonly now?: () => Date;
  readonly random?: () => number;
  readonly onConflict?: (streamId: string, attempt: number) => void;
  /** Defaults to atomic when the store offers appendAtomically. */
  readonly bindingProtocol?: BindingProtocol;
  readonly onBindingStep?: (step: BindingStep) => void;
  /** Decided streams kept between commands; a handler of its own with the default bounds when absent. */
  readonly stateCache?: StateCache;
}

export type CommandHandler<Command = OrderCommand, Event = OrderEvent> = (
  command: Command,
  context: CommandContext,
  options?: HandleOptions,
) => Promise<CommandOutcome<Event>>;

/**
 * The order ledger's handler: the order decider's commands on the order streams. Given `streams`
 * (decided over the same store), it decides on them, so that reads of the same streams share them.
 */
export function createCommandHandler(
  store: EventStore,
  config: CommandHandlerOptions = {},
  streams?: DecidedStreams<OrderEvent, OrderState>,
): CommandHandler {
  return createDeciderHandler(orderDecider, store, config, streams);
}

/** A handler for any decider's commands: the decider says which stream a command is about and what it causes. */
export function createDeciderHandler<Command, Event extends TypedEvent, State>(
  decider: CommandDecider<Command, Event, State>,
  store: EventStore,
  config: CommandHandlerOptions = {},
  streams: DecidedStreams<Event, State> = decidedStreams(decider, store, config.stateCache ?? new StateCache()),
): CommandHandler<Command, Event> {
  const maxAttempts = config.maxAttempts ?? 12;
  const now = config.now ?? (() => new Date());
  const random = config.random ?? Math.random;
  const atomic = config.bindingProtocol !== 'two-step' ? store.appendAtomically?.bind(store) : undefined;
  const step = config.onBindingStep ?? (() => {});

  /** Writes the effect, and the binding with it; a lost race on the binding stream is KeyBindingTakenError. */
  async function write(
    streamId: string,
    records: EventToAppend[],
    expected: ExpectedRevision,
    binding?: BindingPlan,
    effect?: BoundEffect,
  ): Promise<AppendResult> {
    if (!binding || !effect) return store.append(streamId, records, expected);
    const events = [binding.encode(effect)];
    const reservation = { streamId: binding.streamId, events, expected: 'no_stream' as const };
    let result: AppendResult;
    try {
      if (atomic) {
        // The binding goes first, so in the log it always precedes the effect it names.
        result = (await atomic([reservation, { streamId, events: records, expected }]))[1]!;
      } else {
        await store.append(reservation.streamId, reservation.events, reservation.expected);
        step('after-reservation');
        result = await store.append(streamId, records, expected);
      }
    } catch (error) {
      const lostBinding = error instanceof WrongExpectedVersionError && error.streamId === binding.streamId;
      if (lostBinding) throw new KeyBindingTakenError(binding.streamId);
      throw error;
    }
    step('after-effect');
    return result;
  }

  return async function handle(input, context, options = {}) {
    const command = decider.commandSchema.parse(input);
    const streamId = decider.streamIdOf(command);
    const commandDigest = commandDigestOf(command);
    let refresh = false;
    for (let attempt = 1; attempt <= maxAttempts; ) {
      const { stream, fresh } = await streams.current(streamId, refresh, options.binding === undefined);
      // Decided on without a read: a stream with no head is never kept in the cache.
      const guessed = !fresh && stream.head === undefined;
      const foreign = context.enforceOwnership && stream.owner !== undefined && stream.owner !== context.clientId;
      if (foreign) throw decider.foreignRejection(command);
      if (options.binding) await checkBindingPresent(store, streamId, options.binding.streamId, stream);
      let decided: Event[];
      try {
        decided = decider.decide(command, stream.state);
        if (decided.length > 0 && options.ifMatch !== undefined && options.ifMatch !== stream.head?.revision) {
          throw new RevisionMismatchError(streamId, options.ifMatch, stream.head?.revision ?? 'no_stream');
        }
      } catch (error) {
        // A refusal writes nothing, so no expected revision fences it: it must hold on the stream as stored.
        if (fresh) throw error;
        refresh = true;
        continue;
      }
      // An effect, once in the stream, stays there: a replay found in a stale entry is still the original.
      if (decided.length === 0) {
        if (!guessed) return replayOf(decider, store, command, streamId, stream.events, attempt);
        refresh = true;
        continue;
      }

      const head = stream.head;
      const expected: ExpectedRevision = head ? head.revision : 'no_stream';
      const written = encodeDecision({
        streamId,
        head: head && { revision: head.revision, metadata: { hash: head.hash } },
        events: decided,
        schema: decider.eventSchema,
        scope: decider.idempotencyScope(command),
        commandDigest,
        context,
        recordedAt: now(),
      });
      const outcome = written.find((w) => decider.isOutcomeOf(command, w.event));
      const requestHash = context.requestHash ?? commandDigest;
      const effect = outcome && { streamId, eventId: outcome.record.id, requestHash };
      // Whatever this append's fate, the next round must see the stream as stored.
      refresh = true;
      const round = attempt++;
      try {
        const result = await write(
          streamId,
          written.map((w) => w.record),
          expected,
          options.binding,
          effect,
        );
        // An idempotent re-append (a twin of this very decision won the race, or was there before a
        // guess): report the twin's result. A twin may be another client's, made at another time, so
        // where the store cannot say, what it holds is compared with what was sent.
        const duplicate = result.duplicate ?? !(await holdsAsWritten(store, streamId, written, result));
        if (duplicate) {
          if (guessed) attempt = round;
          continue;
        }
        streams.advance(streamId, stream, written, result);
        return {
          streamId,
          events: written.map((w) => ({
            id: w.record.id,
            event: w.event,
            metadata: w.record.metadata as unknown as EventMetadata,
          })),
          revision: result.nextExpectedRevision,
          position: result.position,
          replayed: false,
          attempts: round,
        };
      } catch (error) {
        if (!(error instanceof WrongExpectedVersionError)) throw error;
        // The stream existed after all: not a race lost to another writer, so neither a round nor a back-off.
        if (guessed) {
          attempt = round;
          continue;
        }
        config.onConflict?.(streamId, round);
        // Full jitter keeps racing writers from colliding again in lock-step.
        await sleep(random() * Math.min(50, 2 ** round));
      }
    }
    throw new ConcurrencyExhaustedError(streamId, maxAttempts);
  };
}

async function replayOf<Command, Event extends TypedEvent, State>(
  decider: CommandDecider<Command, Event, State>,
  store: EventStore,
  command: Command,
  streamId: string,
  history: EventList<Event>,
  attempts: number,
): Promise<CommandOutcome<Event>> {
  const outcome = history.filter((e) => decider.isOutcomeOf(command, e.event));
  const last = outcome[outcome.length - 1];
  // decide() returned nothing, so the effect must be in the stream; anything else is a decider bug.
  if (!last)
    throw new Error(`the decider decided nothing on ${streamId}, yet the stream holds no outcome of the command`);
  return {
    streamId,
    events: outcome.map((e) => ({ id: e.id, event: e.event, metadata: e.metadata })),
    revision: last.revision,
    position: last.position ?? (await positionOf(store, streamId, last)),
    replayed: true,
    attempts,
  };
}

/**
 * Whether the stream holds this append's last event as it was sent: its hash covers the metadata
 * (client, time, the chain before it), which a twin decided elsewhere does not share with it.
 */
async function holdsAsWritten(
  store: EventStore,
  streamId: string,
  written: readonly { readonly record: EventToAppend }[],
  result: AppendResult,
): Promise<boolean> {
  const sent = written[written.length - 1]!.record;
  const at = result.nextExpectedRevision;
  const stored = (await store.readStream(streamId, { fromRevision: at })).find((r) => r.revision === at);
  return stored?.id === sent.id && stored.metadata.hash === sent.metadata.hash;
}

/** Where an event this process appended (one of several in its append) stands in the log. */
async function positionOf(store: EventStore, streamId: string, event: StreamEvent<TypedEvent>): Promise<bigint> {
  const [record] = await store.readStream(streamId, { fromRevision: event.revision });
  if (record?.revision !== event.revision || record.id !== event.id) {
    throw new Error(`${streamId} no longer holds event ${event.id} at revision ${event.revision}`);
  }
  return record.position;
}

const sleep = (ms: number) => new Promise<void>((resolve) => setTimeout(resolve, ms));

/**
 * An effect naming a binding that its key's stream does not hold: the binding was committed since
 * the key was read (a race, retried as one), or it was removed from the log, and then the key must
 * not bind anew, since its first request has already taken effect.
 */
async function checkBindingPresent(
  store: EventStore,
  streamId: string,
  bindingStreamId: string,
  stream: DecidedStream<TypedEvent, unknown>,
): Promise<void> {
  const orphan = stream.events.find((e) => e.metadata.keyBinding === bindingStreamId);
  if (!orphan) return;
  if ((await store.readStream(bindingStreamId)).length > 0) throw new KeyBindingTakenError(bindingStreamId);
  const problem = `it was written under key binding ${bindingStreamId}, which holds no event`;
  const position = orphan.position ?? (await positionOf(store, streamId, orphan));
  throw new CorruptEventError(streamId, orphan.revision, position, problem);
}
