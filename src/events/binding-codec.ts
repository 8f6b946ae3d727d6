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
import type { EventToAppend, RecordedEvent } from '../eventstore/port.ts';
import { canonicalJson, sha256Hex } from './canonical.ts';
import { deterministicEventId, encodeEvent } from './codec.ts';
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

/**
 * The binding is its stream's first and only event. Its id covers the request and the effect, so
 * the same binding sent twice is one event, and two bindings to different resources conflict.
 */
export function encodeKeyBinding(streamId: string, bound: IdempotencyKeyBound, context: BindingContext): EventToAppend {
  const { effect, fingerprint, clientId } = bound.data;
  const metadata = {
    schemaVersion: EVENT_SCHEMA_VERSION,
    recordedAt: context.recordedAt.toISOString(),
    clientId,
    correlationId: context.correlationId,
    requestHash: fingerprint,
    prevHash: '',
  };
  const scope = `bind:${effect.streamId}:${effect.eventId}:${effect.requestHash}`;
  const id = deterministicEventId(streamId, scope, fingerprint, 0);
  return encodeEvent({ streamId, revision: 0n, id, event: bound, metadata, schema: IdempotencyKeyBound });
}

/** The binding's schema and its place (the stream of its client and key), without the hash check. */
export function parseKeyBinding(record: RecordedEvent): IdempotencyKeyBound {
  const event = IdempotencyKeyBound.safeParse({ type: record.type, data: record.data });
  if (!event.success)
    throw new CorruptEventError(record.streamId, record.revision, record.position, `binding: ${event.error.message}`);
  const metadata = EventMetadata.safeParse(record.metadata);
  if (!metadata.success) {
    throw new CorruptEventError(
      record.streamId,
      record.revision,
      record.position,
      `binding metadata: ${metadata.error.message}`,
    );
  }
  if (record.streamId !== keyBindingStreamId(event.data.data.clientId, event.data.data.idempotencyKey)) {
    throw new CorruptEventError(
      record.streamId,
      record.revision,
      record.position,
      'the binding names another client or key',
    );
  }
  return event.data;
}

/** A binding a command may trust: its schema, its place, and its hash. */
export function decodeKeyBinding(record: RecordedEvent): IdempotencyKeyBound {
  const binding = parseKeyBinding(record);
  if (eventHash(record) !== record.metadata.hash || (record.revision === 0n && record.metadata.prevHash !== '')) {
    throw new CorruptEventError(
      record.streamId,
      record.revision,
      record.position,
      'the binding no longer matches its hash',
    );
  }
  return binding;
}

/** A binding stream, as a command must see it before trusting it: every record checked. */
export function keyBindingStateOf(records: readonly RecordedEvent[]): KeyBindingState {
  return records.map(decodeKeyBinding).reduce(keyBindingDecider.evolve, keyBindingDecider.initialState());
}
