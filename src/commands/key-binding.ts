/**
 * Runs a command under its Idempotency-Key. The key's binding stream is read first:
 * - bound to another request: refused (422), nothing written;
 * - bound to this request: the command runs against the bound resource, which replays it (or,
 *   after a crash between reservation and effect, writes the effect the binding names);
 * - unbound: the command is decided and its effect written together with the binding; a lost race
 *   for the binding re-reads it and becomes one of the cases above. A replay of an effect written
 *   under no key binds the key to that effect. Keys of a release before bindings are bound when a
 *   server opens the store (legacy-key-bindings.ts), so every key used before is found bound here.
 * Rejections write nothing, so they bind nothing: a key whose first request was refused is free.
 */
import type { OrderCommand } from '../domain/commands.ts';
import {
  differenceFrom,
  type IdempotencyKeyBoundData,
  type KeyBindingState,
  type KeyedRequest,
  keyBindingDecider,
  keyReused,
} from '../domain/key-binding.ts';
import { orderDecider } from '../domain/order.ts';
import { WrongExpectedVersionError } from '../eventstore/errors.ts';
import type { EventStore } from '../eventstore/port.ts';
import { encodeKeyBinding, keyBindingStateOf, keyBindingStreamId } from '../events/binding-codec.ts';
import type { CommandContext } from '../events/metadata.ts';
import { ConcurrencyExhaustedError, KeyBindingTakenError } from './errors.ts';
import type { BindingPlan, BoundEffect, CommandHandler, CommandOutcome } from './handler.ts';
import { approximateBytes, StateCache } from './state-cache.ts';

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
  readonly command: (ids: ResourceIds) => OrderCommand;
}

export type RunCommand = (request: CommandRequest) => Promise<CommandOutcome>;

/** Each round reads the binding once; only a lost race for the binding starts another. */
const MAX_BINDING_ROUNDS = 4;

/** The key string and the cache's own bookkeeping, beside the binding itself. */
const BINDING_ENTRY_BYTES = 256;

export function createKeyedRunner(
  store: EventStore,
  handle: CommandHandler,
  now: () => Date = () => new Date(),
  cache: StateCache = new StateCache(),
): RunCommand {
  /**
   * Bindings already read, by stream, in the process's state cache beside the decided streams. A
   * binding never changes once written (the key is bound for ever), so a retry or a duplicate needs
   * no read of it; only unbound keys are read every time.
   */
  const bound = cache.partition<KeyBindingState>();
  async function bindingOf(streamId: string): Promise<KeyBindingState> {
    const cached = bound.get(streamId);
    if (cached) return cached;
    const state = keyBindingStateOf(await store.readStream(streamId));
    if (state.status === 'bound') bound.set(streamId, state, approximateBytes(state) + BINDING_ENTRY_BYTES);
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

      const command = request.command(request.ids);
      const plan = bindingPlan(streamId, keyed, request.ids, context.correlationId, now);
      let outcome: CommandOutcome;
      try {
        outcome = await handle(command, context, { ...handleOptions, binding: plan });
      } catch (error) {
        if (error instanceof KeyBindingTakenError) continue;
        throw error;
      }
      if (!outcome.replayed) return outcome;
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
