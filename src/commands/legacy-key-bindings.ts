/**
 * Binds the keys of a log written before keys were bound (release 0.1.0), once, when a server
 * opens the store: each (client, key) whose keyed events carry no binding gets the binding of its
 * first effect, so that from then on the key answers exactly like a key bound by this release.
 * Every append is `no_stream` with a deterministic id, so two processes backfilling at once, or a
 * start that stopped half-way, write each binding once. Events written by this release carry their
 * binding's stream in their metadata, so a log without old keys binds nothing.
 *
 * The scan ends at the log's first binding: a binding is always written before its effect, and this
 * release writes none before the old keys are bound (commands wait for it, and the backfill appends
 * its own bindings after the old events), so everything the backfill must see comes before it. A
 * start on a log that is already bound therefore reads only up to there, not the whole log. (A
 * server of the earlier release still writing beside this one would go unseen: stop those first.)
 */
import type { IdempotencyKeyBound, KeyedRequest } from '../domain/key-binding.ts';
import { keyBindingDecider } from '../domain/key-binding.ts';
import type { OrderEvent } from '../domain/events.ts';
import { CorruptEventError, StoreUnavailableError, WrongExpectedVersionError } from '../eventstore/errors.ts';
import { decorateStore } from '../eventstore/instrumented-store.ts';
import { readAllEntries } from '../eventstore/log-entries.ts';
import type { EventStore } from '../eventstore/port.ts';
import { encodeKeyBinding, KEY_BOUND_TYPE, keyBindingStreamId } from '../events/binding-codec.ts';
import { type LedgerEvent, decodeEvent } from '../events/codec.ts';
import { type FingerprintInput, legacyRequestHash, requestFingerprint } from './idempotency-key.ts';

export interface LegacyKeyGate {
  /** The store commands write through: it refuses appends until the old keys are bound. */
  readonly store: EventStore;
  /** Stops retrying (on close). */
  stop(): void;
}

/** How long a start that found the store unreachable waits before it tries to bind the old keys again. */
const RETRY_MS = 1_000;

/**
 * Binds the old keys before the server listens. A store unreachable at start (EventStoreDB down)
 * must not keep the server from answering /health and /ready, so then the binding is retried in
 * the background, and until it succeeds every command is refused as the store being unavailable:
 * no request can reuse an old key before it is bound.
 */
export async function bindLegacyKeysBeforeCommands(
  store: EventStore,
  onRetry: (error: StoreUnavailableError) => void,
): Promise<LegacyKeyGate> {
  try {
    await bindLegacyKeys(store);
    return { store, stop: () => {} };
  } catch (error) {
    if (!(error instanceof StoreUnavailableError)) throw error;
    onRetry(error);
  }
  let bound = false;
  let timer: NodeJS.Timeout | undefined;
  const retry = () => {
    timer = setTimeout(() => {
      bindLegacyKeys(store).then(
        () => (bound = true),
        (error: unknown) => {
          if (error instanceof StoreUnavailableError) onRetry(error);
          retry();
        },
      );
    }, RETRY_MS);
    timer.unref();
  };
  retry();
  const refuse = () =>
    new StoreUnavailableError(
      'the store was unreachable at start: old Idempotency-Keys are not bound yet',
      'unreachable',
    );
  const atomic = store.appendAtomically?.bind(store);
  const gated = decorateStore(store, {
    append: (streamId, events, expected) =>
      bound ? store.append(streamId, events, expected) : Promise.reject(refuse()),
    ...(atomic && { appendAtomically: (writes) => (bound ? atomic(writes) : Promise.reject(refuse())) }),
  });
  return { store: gated, stop: () => clearTimeout(timer) };
}

/** Returns how many bindings this call wrote (another process may have written the rest). */
export async function bindLegacyKeys(store: EventStore, now: () => Date = () => new Date()): Promise<number> {
  const firstEffects = new Map<string, LedgerEvent>();
  // Unreadable rows are the audit's findings; the command path refuses their streams anyway.
  for await (const record of readAllEntries(store)) {
    if (record instanceof CorruptEventError) continue;
    if (record.type === KEY_BOUND_TYPE) break;
    if (record.metadata.idempotencyKey === undefined || record.metadata.keyBinding !== undefined) continue;
    let event: LedgerEvent;
    try {
      event = decodeEvent(record);
    } catch (error) {
      if (error instanceof CorruptEventError) continue;
      throw error;
    }
    const { clientId, idempotencyKey } = event.metadata;
    const streamId = keyBindingStreamId(clientId, idempotencyKey!);
    if (!firstEffects.has(streamId)) firstEffects.set(streamId, event);
  }
  let bound = 0;
  for (const [streamId, effect] of firstEffects) {
    const binding = legacyBinding(effect);
    const recordedAt = now();
    try {
      const result = await store.append(
        streamId,
        [encodeKeyBinding(streamId, binding, { correlationId: 'legacy-keys', recordedAt })],
        'no_stream',
      );
      // A binding already written by an earlier start (same id) is recognised by the store, not rewritten.
      if (!result.duplicate) bound++;
    } catch (error) {
      if (!(error instanceof WrongExpectedVersionError)) throw error;
    }
  }
  return bound;
}

/** The request each route of that release would have received for this effect. */
function candidateRequests(event: OrderEvent): FingerprintInput[] {
  if (event.type === 'OrderCreated') {
    const { orderId, customerId, currency, lines } = event.data;
    const body = {
      customerId,
      currency,
      lines: lines.map(({ sku, quantity, unitPrice }) => ({ sku, quantity, unitPrice })),
    };
    return [
      { method: 'PUT', route: '/orders/:orderId', params: { orderId }, body },
      { method: 'POST', route: '/orders', params: {}, body },
    ];
  }
  if (event.type === 'PaymentCaptured') {
    const { orderId, paymentId, amount, currency } = event.data;
    const route = '/orders/:orderId/payments';
    return [
      { method: 'POST', route, params: { orderId }, body: { paymentId, amount, currency } },
      { method: 'POST', route, params: { orderId }, body: { amount, currency } },
    ];
  }
  return [];
}

/**
 * The binding of an effect to the request whose old-formula hash it recorded. Where no route
 * reproduces that hash, the key is bound to a fingerprint no request has (the recorded hash), so
 * that it refuses every request rather than let a second effect through.
 */
function legacyBinding(effect: LedgerEvent): IdempotencyKeyBound {
  const { clientId, idempotencyKey, requestHash } = effect.metadata;
  const candidates = candidateRequests(effect.event);
  const original = candidates.find((c) => legacyRequestHash(c) === requestHash) ?? candidates[0];
  const fingerprint = original
    ? requestFingerprint(original)
    : { method: 'POST', route: '/orders', params: {}, bodyHash: requestHash, fingerprint: requestHash };
  const matched = original !== undefined && legacyRequestHash(original) === requestHash;
  const request: KeyedRequest = {
    clientId,
    idempotencyKey: idempotencyKey!,
    ...fingerprint,
    ...(!matched && { fingerprint: requestHash }),
  };
  const data = effect.event.data as { orderId: string; paymentId?: string };
  const command = {
    request,
    orderId: data.orderId,
    ...(effect.event.type === 'PaymentCaptured' && { paymentId: data.paymentId }),
    effect: { streamId: effect.streamId, eventId: effect.id, requestHash },
  };
  return keyBindingDecider.decide(command, keyBindingDecider.initialState())[0]!;
}
