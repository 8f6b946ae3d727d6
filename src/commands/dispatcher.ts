/**
 * What a transport calls to run a command: the key-binding runner, plus the behaviour every caller
 * wants around it — identical in-flight requests coalesced, and each outcome counted.
 */
import { IdempotencyKeyReused } from '../domain/key-binding.ts';
import { orderDecider } from '../domain/order.ts';
import { DomainRejection } from '../domain/rejection.ts';
import { canonicalJson } from '../events/canonical.ts';
import { commandDigestOf } from '../events/codec.ts';
import { RevisionMismatchError } from './errors.ts';
import type { CommandOutcome } from './handler.ts';
import type { CommandRequest, RunCommand } from './key-binding.ts';
import { createSingleFlight } from './single-flight.ts';

export type CommandOutcomeKind = 'created' | 'replayed' | 'rejected' | 'failed';

export type Dispatch = (request: CommandRequest) => Promise<CommandOutcome>;

export function createDispatcher(run: RunCommand, observe: (kind: CommandOutcomeKind) => void = () => {}): Dispatch {
  const flights = createSingleFlight<CommandOutcome>();

  return async function dispatch(request) {
    try {
      const { value, shared } = await flights.run(flightKey(request), () => run(request));
      // A command that joined another's flight wrote nothing itself: to its client it is a replay.
      const outcome = shared && !value.replayed ? { ...value, replayed: true } : value;
      observe(outcome.replayed ? 'replayed' : 'created');
      return outcome;
    } catch (error) {
      const rejected = [DomainRejection, RevisionMismatchError, IdempotencyKeyReused].some((t) => error instanceof t);
      observe(rejected ? 'rejected' : 'failed');
      throw error;
    }
  };
}

/**
 * Two requests share a flight only when everything that could change their outcome is equal. A
 * keyed request is named by its key and fingerprint, not by its ids: a first request's fresh ids
 * differ from one copy to the next, and the binding decides which of them the key gets.
 */
function flightKey(request: CommandRequest): string {
  const { context, keyed } = request;
  const ifMatch = request.ifMatch?.toString() ?? null;
  const ownership = context.enforceOwnership ?? false;
  if (keyed) {
    return canonicalJson(['keyed', keyed.clientId, keyed.idempotencyKey, keyed.fingerprint, ifMatch, ownership]);
  }
  const command = request.command(request.ids);
  return canonicalJson([
    orderDecider.streamIdOf(command),
    orderDecider.idempotencyScope(command),
    context.requestHash ?? commandDigestOf(command),
    context.clientId,
    ifMatch,
    ownership,
  ]);
}
