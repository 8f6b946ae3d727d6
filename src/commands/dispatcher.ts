/**
 * What a transport calls to run a command: the handler, plus the behaviour every caller wants
 * around it — identical in-flight commands coalesced, reused idempotency keys told apart from
 * business conflicts, and each outcome counted.
 */
import type { OrderCommand } from '../domain/commands.ts';
import { orderStreamId } from '../domain/ids.ts';
import { idempotencyScope } from '../domain/order.ts';
import { DomainRejection } from '../domain/rejection.ts';
import type { EventStore } from '../eventstore/port.ts';
import { canonicalJson } from '../events/canonical.ts';
import { commandDigestOf } from '../events/codec.ts';
import type { CommandContext } from '../events/metadata.ts';
import { RevisionMismatchError } from './errors.ts';
import type { CommandHandler, CommandOutcome } from './handler.ts';
import { keyReuseBehind } from './key-reuse.ts';
import { createSingleFlight } from './single-flight.ts';

export type CommandOutcomeKind = 'created' | 'replayed' | 'rejected' | 'failed';

export interface DispatchOptions {
  readonly ifMatch?: bigint;
  /** The resource id was derived from the Idempotency-Key (POST /orders, payments without paymentId). */
  readonly idFromKey?: boolean;
}

export type Dispatch = (command: OrderCommand, context: CommandContext, options?: DispatchOptions) => Promise<CommandOutcome>;

export function createDispatcher(store: EventStore, handle: CommandHandler, observe: (kind: CommandOutcomeKind) => void = () => {}): Dispatch {
  const flights = createSingleFlight<CommandOutcome>();

  return async function dispatch(command, context, options = {}) {
    const handleOptions = options.ifMatch === undefined ? {} : { ifMatch: options.ifMatch };
    try {
      const { value, shared } = await flights.run(flightKey(command, context, options), () => handle(command, context, handleOptions));
      // A command that joined another's flight wrote nothing itself: to its client it is a replay.
      const outcome = shared && !value.replayed ? { ...value, replayed: true } : value;
      observe(outcome.replayed ? 'replayed' : 'created');
      return outcome;
    } catch (error) {
      const rejected = error instanceof DomainRejection || error instanceof RevisionMismatchError;
      observe(rejected ? 'rejected' : 'failed');
      if (error instanceof DomainRejection) {
        throw (await keyReuseBehind(error, command, context, options.idFromKey ?? false, store)) ?? error;
      }
      throw error;
    }
  };
}

/** Two commands share a flight only when everything that could change their outcome is equal. */
function flightKey(command: OrderCommand, context: CommandContext, options: DispatchOptions): string {
  return canonicalJson([
    orderStreamId(command.orderId),
    idempotencyScope(command),
    context.requestHash ?? commandDigestOf(command),
    context.clientId,
    context.idempotencyKey ?? null,
    options.ifMatch?.toString() ?? null,
  ]);
}
