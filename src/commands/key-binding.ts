/**
 * Runs a command under its Idempotency-Key. The key's binding stream is read first:
 * - bound to another request: refused (422), nothing written;
 * - bound to this request: the command runs against the bound resource, which replays it (or,
 *   after a crash between reservation and effect, writes the effect the binding names);
 * - unbound: the command is decided and its effect written together with the binding; a lost race
 *   for the binding re-reads it and becomes one of the cases above. A replay of an effect written
 *   before keys were bound (or under no key) binds the key to that effect.
 * Rejections write nothing, so they bind nothing: a key whose first request was refused is free.
 */
import type { OrderCommand } from '../domain/commands.ts';
import {
  differenceFrom,
  type IdempotencyKeyBoundData,
  type IdempotencyKeyReused,
  type KeyBindingState,
  type KeyedRequest,
  keyBindingDecider,
  keyReused,
} from '../domain/key-binding.ts';
import { orderDecider } from '../domain/order.ts';
import { DomainRejection } from '../domain/rejection.ts';
import { WrongExpectedVersionError } from '../eventstore/errors.ts';
import type { EventStore } from '../eventstore/port.ts';
import { encodeKeyBinding, keyBindingStateOf, keyBindingStreamId } from '../events/binding-codec.ts';
import { decodeStream } from '../events/codec.ts';
import type { CommandContext, EventMetadata } from '../events/metadata.ts';
import { ConcurrencyExhaustedError, KeyBindingTakenError } from './errors.ts';
import type { BindingPlan, BoundEffect, CommandHandler, CommandOutcome } from './handler.ts';

export interface ResourceIds {
  readonly orderId: string;
  readonly paymentId?: string;
  readonly refundId?: string;
}

export interface CommandRequest {
  readonly context: CommandContext;
  readonly ifMatch?: bigint;
  /** The request as its Idempotency-Key binds it; absent when the request carries no key. */
  readonly keyed?: KeyedRequest;
  /** The ids of a first request: the request's own, or fresh random ones where the key names the resource. */
  readonly ids: ResourceIds;
  /** Where the release before key bindings derived the ids from the key (to find its resources again). */
  readonly legacyIds?: ResourceIds;
  /** The request hash that release recorded for this same request. */
  readonly legacyRequestHash?: string;
  readonly command: (ids: ResourceIds) => OrderCommand;
}

export type RunCommand = (request: CommandRequest) => Promise<CommandOutcome>;

/** Each round reads the binding once; only a lost race for the binding starts another. */
const MAX_BINDING_ROUNDS = 4;

/**
 * Bindings already read, by stream. A binding never changes once written (the key is bound for
 * ever), so a retry or a duplicate needs no read of it; only unbound keys are read every time.
 */
const BOUND_CACHE_SIZE = 10_000;

export function createKeyedRunner(
  store: EventStore,
  handle: CommandHandler,
  now: () => Date = () => new Date(),
): RunCommand {
  const bound = new Map<string, KeyBindingState>();
  async function bindingOf(streamId: string): Promise<KeyBindingState> {
    const cached = bound.get(streamId);
    if (cached) return cached;
    const state = keyBindingStateOf(await store.readStream(streamId));
    if (state.status === 'bound') {
      if (bound.size >= BOUND_CACHE_SIZE) bound.delete(bound.keys().next().value!);
      bound.set(streamId, state);
    }
    return state;
  }

  return async function run(request) {
    const { keyed, ifMatch } = request;
    const handleOptions = ifMatch === undefined ? {} : { ifMatch };
    if (!keyed) return handle(request.command(request.ids), request.context, handleOptions);

    const streamId = keyBindingStreamId(keyed.clientId, keyed.idempotencyKey);
    const context: CommandContext = { ...request.context, keyBinding: streamId };
    for (let round = 1; round <= MAX_BINDING_ROUNDS; round++) {
      const state = await bindingOf(streamId);
      if (state.status === 'bound') {
        const differs = differenceFrom(state.binding, keyed);
        if (differs) throw keyReused(state.binding, keyed, differs);
        return handle(request.command(idsOf(state.binding)), context, handleOptions);
      }

      const ids = (await legacyResource(store, request)) ?? request.ids;
      const command = request.command(ids);
      const plan = bindingPlan(streamId, keyed, ids, context.correlationId, now);
      let outcome: CommandOutcome;
      try {
        outcome = await handle(command, context, { ...handleOptions, binding: plan });
      } catch (error) {
        if (error instanceof KeyBindingTakenError) continue;
        if (error instanceof DomainRejection) throw (await legacyReuse(store, error, command, request)) ?? error;
        throw error;
      }
      if (!outcome.replayed) return outcome;
      checkLegacyEffect(outcome, request);
      try {
        await store.append(plan.streamId, [plan.encode(effectOf(outcome, command))], 'no_stream');
      } catch (error) {
        if (error instanceof WrongExpectedVersionError) continue;
        throw error;
      }
      return outcome;
    }
    throw new ConcurrencyExhaustedError(streamId, MAX_BINDING_ROUNDS);
  };
}

function idsOf(binding: IdempotencyKeyBoundData): ResourceIds {
  const { orderId, paymentId, refundId } = binding;
  return { orderId, ...(paymentId !== undefined && { paymentId }), ...(refundId !== undefined && { refundId }) };
}

function bindingPlan(
  streamId: string,
  request: KeyedRequest,
  ids: ResourceIds,
  correlationId: string,
  now: () => Date,
): BindingPlan {
  return {
    streamId,
    encode: (effect) => {
      const [bound] = keyBindingDecider.decide({ request, ...ids, effect }, keyBindingDecider.initialState());
      return encodeKeyBinding(streamId, bound!, { correlationId, recordedAt: now() });
    },
  };
}

function effectOf(outcome: CommandOutcome, command: OrderCommand): BoundEffect {
  const effect = outcome.events.find((e) => orderDecider.isOutcomeOf(command, e.event));
  if (!effect) throw new Error(`command outcome on ${outcome.streamId} holds no effect of ${command.type}`);
  return { streamId: outcome.streamId, eventId: effect.id, requestHash: effect.metadata.requestHash };
}

/**
 * Ids derived from the key by the release before bindings: its resource is found again only when
 * its stored effect was written by this client under this very key.
 */
async function legacyResource(store: EventStore, request: CommandRequest): Promise<ResourceIds | undefined> {
  const { legacyIds, keyed } = request;
  if (!legacyIds || !keyed) return undefined;
  const command = request.command(legacyIds);
  const records = await store.readStream(orderDecider.streamIdOf(command));
  // Most keys are new: only a stream holding the derived payment (or order) is worth decoding.
  const { paymentId } = legacyIds;
  const candidate = paymentId === undefined ? records.length > 0 : records.some((r) => r.data.paymentId === paymentId);
  if (!candidate) return undefined;
  const effect = decodeStream(records).find((e) => orderDecider.isOutcomeOf(command, e.event));
  return effect && writtenUnderKey(effect.metadata, keyed) ? legacyIds : undefined;
}

/**
 * A replayed effect written under this key before keys were bound must have been written by this
 * same request: its recorded hash is the one that release computed for it.
 */
function checkLegacyEffect(outcome: CommandOutcome, request: CommandRequest): void {
  const keyed = request.keyed!;
  for (const { metadata } of outcome.events) {
    if (!writtenUnderKey(metadata, keyed) || metadata.keyBinding !== undefined) continue;
    if (metadata.requestHash !== keyed.fingerprint && metadata.requestHash !== request.legacyRequestHash) {
      throw keyReused(keyed, keyed, 'body');
    }
  }
}

/**
 * A rejection because the id is taken, where the taking effect was written under this key by
 * this client before keys were bound: the key was reused with another request.
 */
async function legacyReuse(
  store: EventStore,
  rejection: DomainRejection,
  command: OrderCommand,
  request: CommandRequest,
): Promise<IdempotencyKeyReused | undefined> {
  const keyed = request.keyed!;
  if (rejection.rule !== 'order-already-exists' && rejection.rule !== 'payment-already-captured') return undefined;
  const stored = await storedEffect(store, command);
  return stored && writtenUnderKey(stored.metadata, keyed) ? keyReused(keyed, keyed, 'body') : undefined;
}

async function storedEffect(store: EventStore, command: OrderCommand) {
  const history = decodeStream(await store.readStream(orderDecider.streamIdOf(command)));
  return history.find((e) => orderDecider.isOutcomeOf(command, e.event));
}

const writtenUnderKey = (metadata: EventMetadata, keyed: KeyedRequest): boolean =>
  metadata.clientId === keyed.clientId && metadata.idempotencyKey === keyed.idempotencyKey;
