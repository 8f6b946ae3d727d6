/**
 * read → decide → append at the revision that was read → on a lost race, re-read and re-decide.
 * The expected revision is the fence; the decider's idempotency turns every lost race between
 * duplicates into a replay of the winner's result. Nothing is written unless decide says so.
 */
import type { OrderCommand } from '../domain/commands.ts';
import type { CommandDecider, TypedEvent } from '../domain/decider.ts';
import type { OrderEvent } from '../domain/events.ts';
import { orderDecider } from '../domain/order.ts';
import { CorruptEventError, WrongExpectedVersionError } from '../eventstore/errors.ts';
import type { AppendResult, EventStore, EventToAppend, ExpectedRevision } from '../eventstore/port.ts';
import { commandDigestOf, decodeStream, type LedgerEvent } from '../events/codec.ts';
import { encodeDecision } from '../events/encode-decision.ts';
import type { CommandContext, EventMetadata } from '../events/metadata.ts';
import { ConcurrencyExhaustedError, KeyBindingTakenError, RevisionMismatchError } from './errors.ts';

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
}

export type CommandHandler<Command = OrderCommand, Event = OrderEvent> = (
  command: Command,
  context: CommandContext,
  options?: HandleOptions,
) => Promise<CommandOutcome<Event>>;

/** The order ledger's handler: the order decider's commands on the order streams. */
export function createCommandHandler(store: EventStore, config: CommandHandlerOptions = {}): CommandHandler {
  return createDeciderHandler(orderDecider, store, config);
}

/** A handler for any decider's commands: the decider says which stream a command is about and what it causes. */
export function createDeciderHandler<Command, Event extends TypedEvent, State>(
  decider: CommandDecider<Command, Event, State>,
  store: EventStore,
  config: CommandHandlerOptions = {},
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
    for (let attempt = 1; attempt <= maxAttempts; attempt++) {
      const history = decodeStream(await store.readStream(streamId), decider.eventSchema);
      const owner = history[0]?.metadata.clientId;
      const foreign = context.enforceOwnership && owner !== undefined && owner !== context.clientId;
      if (foreign) throw decider.foreignRejection(command);
      if (options.binding) await checkBindingPresent(store, options.binding.streamId, history);
      const state = history.reduce((s, e) => decider.evolve(s, e.event), decider.initialState());
      const decided = decider.decide(command, state);
      if (decided.length === 0) return replayOf(decider, command, streamId, history, attempt);

      const head = history[history.length - 1];
      const expected: ExpectedRevision = head ? head.revision : 'no_stream';
      if (options.ifMatch !== undefined && options.ifMatch !== head?.revision) {
        throw new RevisionMismatchError(streamId, options.ifMatch, expected);
      }
      const written = encodeDecision({
        streamId,
        head,
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
      try {
        const result = await write(
          streamId,
          written.map((w) => w.record),
          expected,
          options.binding,
          effect,
        );
        // An idempotent re-append (a twin of this very decision won the race): report the twin's result.
        if (result.duplicate) continue;
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
          attempts: attempt,
        };
      } catch (error) {
        if (!(error instanceof WrongExpectedVersionError)) throw error;
        config.onConflict?.(streamId, attempt);
        // Full jitter keeps racing writers from colliding again in lock-step.
        await sleep(random() * Math.min(50, 2 ** attempt));
      }
    }
    throw new ConcurrencyExhaustedError(streamId, maxAttempts);
  };
}

function replayOf<Command, Event extends TypedEvent, State>(
  decider: CommandDecider<Command, Event, State>,
  command: Command,
  streamId: string,
  history: readonly LedgerEvent<Event>[],
  attempts: number,
): CommandOutcome<Event> {
  const outcome = history.filter((e) => decider.isOutcomeOf(command, e.event));
  const last = outcome[outcome.length - 1];
  // decide() returned nothing, so the effect must be in the stream; anything else is a decider bug.
  if (!last)
    throw new Error(`the decider decided nothing on ${streamId}, yet the stream holds no outcome of the command`);
  return {
    streamId,
    events: outcome.map((e) => ({ id: e.id, event: e.event, metadata: e.metadata })),
    revision: last.revision,
    position: last.position,
    replayed: true,
    attempts,
  };
}

const sleep = (ms: number) => new Promise<void>((resolve) => setTimeout(resolve, ms));

/**
 * An effect naming a binding that its key's stream does not hold: the binding was committed since
 * the key was read (a race, retried as one), or it was removed from the log, and then the key must
 * not bind anew, since its first request has already taken effect.
 */
async function checkBindingPresent(
  store: EventStore,
  bindingStreamId: string,
  history: readonly LedgerEvent<TypedEvent>[],
): Promise<void> {
  const orphan = history.find((e) => e.metadata.keyBinding === bindingStreamId);
  if (!orphan) return;
  if ((await store.readStream(bindingStreamId)).length > 0) throw new KeyBindingTakenError(bindingStreamId);
  const problem = `it was written under key binding ${bindingStreamId}, which holds no event`;
  throw new CorruptEventError(orphan.streamId, orphan.revision, orphan.position, problem);
}
