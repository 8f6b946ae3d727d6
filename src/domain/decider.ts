/**
 * A decider: the pure state machine of one kind of stream. `decide` says which events a command
 * causes in a state; `evolve` folds an event into the state; `initialState` is the state of a
 * stream with no events. The command handler runs any decider, so a new command or aggregate is a
 * new value, not a new handler.
 */
import type { z } from 'zod';
import type { RejectionRule } from './rejection.ts';

export interface Decider<Command, Event, State> {
  readonly initialState: () => State;
  readonly evolve: (state: State, event: Event) => State;
  readonly decide: (command: Command, state: State) => Event[];
}

/** An event as every stream stores it: a type name and its data. */
export interface TypedEvent {
  readonly type: string;
  readonly data: object;
}

/**
 * A decider with what the command handler needs around it: which stream a command is about, the
 * schemas its commands and events are checked against, how a replay finds its original result,
 * and what makes two commands the same decision (the scope of their deterministic event ids).
 */
export interface CommandDecider<Command, Event extends TypedEvent, State> extends Decider<Command, Event, State> {
  readonly commandSchema: z.ZodType<Command>;
  readonly eventSchema: z.ZodType<Event>;
  readonly streamIdOf: (command: Command) => string;
  /** Which stored event is the effect of this command: how a replay finds its original result. */
  readonly isOutcomeOf: (command: Command, event: Event) => boolean;
  /** What makes two commands "the same decision": the scope of their deterministic event ids. */
  readonly idempotencyScope: (command: Command) => string;
  /** The answer to a command on a stream another client owns: one that does not tell the stream exists. */
  readonly foreignRejection: (command: Command) => Error;
  /** Every rule `decide` can refuse a command under: the problem types a route running it may answer. */
  readonly rejections: readonly RejectionRule[];
}
