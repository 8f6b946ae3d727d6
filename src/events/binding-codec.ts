/**
 * Idempotency-Key binding events on their way in and out of the store: zod-validated both ways,
 * hash-chained like every event, with ids that make a retried binding an idempotent re-append.
 */
import {
  IdempotencyKeyBound,
  KEY_BINDING_STREAM_PREFIX,
  type KeyBindingState,
  keyBindingDecider,
} from '../domain/key-binding.ts';
import { EVENT_SCHEMA_VERSION } from '../domain/events.ts';
import { CorruptEventError } from '../eventstore/errors.ts';
import type { EventToAppend, JsonObject, RecordedEvent } from '../eventstore/port.ts';
import { canonicalJson, sha256Hex } from './canonical.ts';
import { deterministicEventId } from './codec.ts';
import { eventHash } from './hash-chain.ts';
import { EventMetadata } from './metadata.ts';

export const KEY_BOUND_TYPE = 'IdempotencyKeyBound';

/** Hashed, so that any printable key makes a valid stream name and no key is readable in one. */
export function keyBindingStreamId(clientId: string, idempotencyKey: string): string {
  return `${KEY_BINDING_STREAM_PREFIX}${sha256Hex(canonicalJson([clientId, idempotencyKey]))}`;
}

export function isKeyBindingStream(streamId: string): boolean {
  return streamId.startsWith(KEY_BINDING_STREAM_PREFIX);
}

export interface BindingContext {
  readonly correlationId: string;
  readonly recordedAt: Date;
}

const MetadataWithoutHash = EventMetadata.omit({ hash: true });

/**
 * The binding is its stream's first and only event. Its id covers the request and the effect, so
 * the same binding sent twice is one event, and two bindings to different resources conflict.
 */
export function encodeKeyBinding(streamId: string, bound: IdempotencyKeyBound, context: BindingContext): EventToAppend {
  const event = IdempotencyKeyBound.parse(bound);
  const { effect, fingerprint, clientId } = event.data;
  const data = event.data as unknown as JsonObject;
  const metadata = MetadataWithoutHash.parse({
    schemaVersion: EVENT_SCHEMA_VERSION,
    recordedAt: context.recordedAt.toISOString(),
    clientId,
    correlationId: context.correlationId,
    requestHash: fingerprint,
    prevHash: '',
  }) as unknown as JsonObject;
  const hash = eventHash({ streamId, revision: 0n, type: event.type, data, metadata });
  const scope = `bind:${effect.streamId}:${effect.eventId}:${effect.requestHash}`;
  const id = deterministicEventId(streamId, scope, fingerprint, 0);
  return { id, type: event.type, data, metadata: { ...metadata, hash } };
}

/** The binding's schema and its place (the stream of its client and key), without the hash check. */
export function parseKeyBinding(record: RecordedEvent): IdempotencyKeyBound {
  const event = IdempotencyKeyBound.safeParse({ type: record.type, data: record.data });
  if (!event.success) throw new CorruptEventError(record.streamId, record.revision, record.position, `binding: ${event.error.message}`);
  const metadata = EventMetadata.safeParse(record.metadata);
  if (!metadata.success) {
    throw new CorruptEventError(record.streamId, record.revision, record.position, `binding metadata: ${metadata.error.message}`);
  }
  if (record.streamId !== keyBindingStreamId(event.data.data.clientId, event.data.data.idempotencyKey)) {
    throw new CorruptEventError(record.streamId, record.revision, record.position, 'the binding names another client or key');
  }
  return event.data;
}

/** A binding a command may trust: its schema, its place, and its hash. */
export function decodeKeyBinding(record: RecordedEvent): IdempotencyKeyBound {
  const binding = parseKeyBinding(record);
  if (eventHash(record) !== record.metadata.hash || (record.revision === 0n && record.metadata.prevHash !== '')) {
    throw new CorruptEventError(record.streamId, record.revision, record.position, 'the binding no longer matches its hash');
  }
  return binding;
}

/** A binding stream, as a command must see it before trusting it: every record checked. */
export function keyBindingStateOf(records: readonly RecordedEvent[]): KeyBindingState {
  return records.map(decodeKeyBinding).reduce(keyBindingDecider.evolve, keyBindingDecider.initialState());
}
