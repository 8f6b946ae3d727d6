/**
 * Tells a reused Idempotency-Key (422) from a business conflict (409). The decider only sees
 * that a resource with this id exists with other details; whether that is the client reusing
 * a key for a different request depends on where the id came from.
 */
import type { OrderCommand } from '../domain/commands.ts';
import { orderStreamId } from '../domain/ids.ts';
import { isOutcomeOf } from '../domain/order.ts';
import type { DomainRejection } from '../domain/rejection.ts';
import type { EventStore } from '../eventstore/port.ts';
import { decodeStream } from '../events/codec.ts';
import type { CommandContext } from '../events/metadata.ts';

export class IdempotencyKeyReusedError extends Error {
  override readonly name = 'IdempotencyKeyReusedError';
  constructor(
    readonly idempotencyKey: string,
    readonly streamId: string,
  ) {
    super(`Idempotency-Key ${JSON.stringify(idempotencyKey)} was already used for a different request`);
  }
}

/** The rejections that mean "this id is taken by a different request". */
const ID_TAKEN_RULES = new Set(['order-already-exists', 'payment-already-captured']);

/**
 * - the id was derived from the key: the only way to collide is the same key with another payload;
 * - the id was explicit and a key was sent: a reuse when the stored effect carries this very key
 *   but a different request hash; otherwise another request took the id, a plain 409.
 */
export async function keyReuseBehind(
  rejection: DomainRejection,
  command: OrderCommand,
  context: CommandContext,
  idFromKey: boolean,
  store: EventStore,
): Promise<IdempotencyKeyReusedError | undefined> {
  const key = context.idempotencyKey;
  if (key === undefined || !ID_TAKEN_RULES.has(rejection.rule)) return undefined;
  const streamId = orderStreamId(command.orderId);
  if (idFromKey) return new IdempotencyKeyReusedError(key, streamId);
  const stored = decodeStream(await store.readStream(streamId)).find((e) => isOutcomeOf(command, e.event));
  const reused = stored?.metadata.idempotencyKey === key && stored.metadata.requestHash !== context.requestHash;
  return reused ? new IdempotencyKeyReusedError(key, streamId) : undefined;
}
