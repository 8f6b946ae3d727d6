/**
 * An Idempotency-Key's binding: the log's own unique index. Each (client, key) has one stream
 * whose single event records the first request that used the key and the resource it produced.
 * The stream is appended with `no_stream`, so the store's expectation check is what makes the
 * first request win; nothing expires, and there is no in-progress state to get stuck in.
 */
import { z } from 'zod';
import type { Decider } from './decider.ts';
import { EntityId } from './ids.ts';

const Sha256Hex = z.string().regex(/^[0-9a-f]{64}$/);

export const KEY_BINDING_STREAM_PREFIX = 'idempotency-';

/** What a request is, for the key it carries: the parts the fingerprint covers, kept apart to say which differs. */
export const KeyedRequest = z.strictObject({
  clientId: z.string().min(1).max(128),
  idempotencyKey: z.string().min(1).max(255),
  method: z.string().regex(/^[A-Z]{1,16}$/),
  /** The route template, e.g. `/orders/:orderId/payments`. */
  route: z.string().min(1).max(256),
  params: z.record(z.string(), z.string().max(256)),
  bodyHash: Sha256Hex,
  /** SHA-256 of the canonical {method, route, params, body}: the request's identity. */
  fingerprint: Sha256Hex,
});
export type KeyedRequest = z.infer<typeof KeyedRequest>;

export const IdempotencyKeyBoundData = KeyedRequest.extend({
  /** The resource the key names: the order, and the payment for a capture. */
  orderId: EntityId,
  paymentId: EntityId.optional(),
  /** The refund the key names, for a refund. */
  refundId: EntityId.optional(),
  /** The event that is the request's effect, and the request hash its metadata carries. */
  effect: z.strictObject({ streamId: z.string().min(1).max(300), eventId: z.uuid(), requestHash: Sha256Hex }),
});
export type IdempotencyKeyBoundData = z.infer<typeof IdempotencyKeyBoundData>;

export const IdempotencyKeyBound = z.strictObject({
  type: z.literal('IdempotencyKeyBound'),
  data: IdempotencyKeyBoundData,
});
export type IdempotencyKeyBound = z.infer<typeof IdempotencyKeyBound>;

export type KeyBindingState =
  | { readonly status: 'absent' }
  | { readonly status: 'bound'; readonly binding: IdempotencyKeyBoundData };

const unboundKey = (): KeyBindingState => ({ status: 'absent' });

/** Bound once, bound for ever: a later event in the stream cannot rebind the key. */
function evolveKeyBinding(state: KeyBindingState, event: IdempotencyKeyBound): KeyBindingState {
  return state.status === 'bound' ? state : { status: 'bound', binding: event.data };
}

export type KeyDifference = 'route' | 'resource' | 'body';

/** A key sent with a request other than the one it is bound to. */
export class IdempotencyKeyReused extends Error {
  override readonly name = 'IdempotencyKeyReused';
  constructor(
    readonly idempotencyKey: string,
    readonly differs: KeyDifference,
    detail: string,
  ) {
    super(detail);
  }
}

/** Which part of the request differs from the one the key is bound to, if any. */
export function differenceFrom(binding: KeyedRequest, request: KeyedRequest): KeyDifference | undefined {
  if (binding.method !== request.method || binding.route !== request.route) return 'route';
  const names = new Set([...Object.keys(binding.params), ...Object.keys(request.params)]);
  if ([...names].some((name) => binding.params[name] !== request.params[name])) return 'resource';
  if (binding.bodyHash !== request.bodyHash || binding.fingerprint !== request.fingerprint) return 'body';
  return undefined;
}

/** The rejection for a request that differs from the one its key is bound to. */
export function keyReused(binding: KeyedRequest, request: KeyedRequest, differs: KeyDifference): IdempotencyKeyReused {
  const key = JSON.stringify(request.idempotencyKey);
  const first = `${binding.method} ${binding.route}`;
  const detail =
    differs === 'route'
      ? `Idempotency-Key ${key} is bound to a request to another route (${first}); use a new key for this one`
      : differs === 'resource'
        ? `Idempotency-Key ${key} is bound to a request on another resource (${describeParams(binding.params)})`
        : `Idempotency-Key ${key} is bound to a request with a different body; resend that body, or use a new key`;
  return new IdempotencyKeyReused(request.idempotencyKey, differs, detail);
}

function describeParams(params: Readonly<Record<string, string>>): string {
  return Object.entries(params)
    .map(([name, value]) => `${name} ${value}`)
    .join(', ');
}

export interface BindKey {
  readonly request: KeyedRequest;
  readonly orderId: string;
  readonly paymentId?: string;
  readonly refundId?: string;
  readonly effect: IdempotencyKeyBoundData['effect'];
}

function decideKeyBinding(command: BindKey, state: KeyBindingState): IdempotencyKeyBound[] {
  if (state.status === 'bound') {
    const differs = differenceFrom(state.binding, command.request);
    if (differs) throw keyReused(state.binding, command.request, differs);
    return [];
  }
  const { request, orderId, paymentId, refundId, effect } = command;
  const data = {
    ...request,
    orderId,
    ...(paymentId !== undefined && { paymentId }),
    ...(refundId !== undefined && { refundId }),
    effect,
  };
  return [{ type: 'IdempotencyKeyBound', data }];
}

/**
 * The decider of the index: an unbound key is bound to this request; a key bound to the same
 * request decides nothing (a retry); a key bound to another request is refused.
 */
export const keyBindingDecider: Decider<BindKey, IdempotencyKeyBound, KeyBindingState> = {
  initialState: unboundKey,
  evolve: evolveKeyBinding,
  decide: decideKeyBinding,
};
