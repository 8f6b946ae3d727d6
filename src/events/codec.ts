/**
 * Between domain events and stored records. Events are facts: validated on the way in and
 * again on the way out, so a record altered at rest is caught, named, and never decided upon.
 */
import { createHash } from 'node:crypto';
import { v5 as uuidv5 } from 'uuid';
import type { z } from 'zod';
import type { TypedEvent } from '../domain/decider.ts';
import { OrderEvent } from '../domain/events.ts';
import { CorruptEventError } from '../eventstore/errors.ts';
import type { EventToAppend, JsonObject, RecordedEvent } from '../eventstore/port.ts';
import { canonicalJson, sha256Hex } from './canonical.ts';
import { type ChainHead, eventHash, verifyChain } from './hash-chain.ts';
import { EventMetadata } from './metadata.ts';

/** Fixed namespace for the ledger's UUID v5 event ids. Changing it would break idempotent re-appends. */
const EVENT_ID_NAMESPACE = '3f0c1a52-8f0e-4c8a-9d67-0b6b1f4f3a10';

/** A stored event decoded: an order event unless another stream's schema decoded it. */
export interface LedgerEvent<Event extends TypedEvent = OrderEvent> {
  readonly id: string;
  readonly streamId: string;
  readonly revision: bigint;
  readonly position: bigint;
  readonly event: Event;
  readonly metadata: EventMetadata;
  readonly createdAt: Date;
}

/**
 * Same stream, same decision scope, same command content, same index → same id, so the store
 * recognises a retried append; a different command in the same scope gets a different id and
 * therefore conflicts instead of being mistaken for a retry.
 */
export function deterministicEventId(streamId: string, scope: string, commandDigest: string, index: number): string {
  const name = `${streamId}|${scope}|${commandDigest}|${index}`;
  return ASCII.test(name) ? asciiUuidV5(name) : uuidv5(name, EVENT_ID_NAMESPACE);
}

// biome-ignore lint/suspicious/noControlCharactersInRegex: the whole 7-bit range is what 'ASCII' means here
const ASCII = /^[\x00-\x7f]*$/;
const EVENT_ID_NAMESPACE_BYTES = Buffer.from(EVENT_ID_NAMESPACE.replaceAll('-', ''), 'hex');

/**
 * RFC 4122 v5 (SHA-1 of namespace and name) for an ASCII name, the same bits as the uuid package
 * at a third of its cost (it re-parses the namespace and re-encodes the name on every call; ids
 * are derived on every command). Anything else goes through the package, whose UTF-8 handling
 * (it throws on a lone surrogate) is thereby kept exactly.
 */
function asciiUuidV5(name: string): string {
  const bytes = createHash('sha1').update(EVENT_ID_NAMESPACE_BYTES).update(name, 'latin1').digest();
  bytes[6] = (bytes[6]! & 0x0f) | 0x50;
  bytes[8] = (bytes[8]! & 0x3f) | 0x80;
  const hex = bytes.toString('hex', 0, 16);
  return `${hex.slice(0, 8)}-${hex.slice(8, 12)}-${hex.slice(12, 16)}-${hex.slice(16, 20)}-${hex.slice(20)}`;
}

export interface EncodeInput<Event extends TypedEvent = OrderEvent> {
  readonly streamId: string;
  readonly revision: bigint;
  readonly id: string;
  readonly event: Event;
  readonly metadata: Omit<EventMetadata, 'hash'>;
  /** The schema the event must meet; the order events' when absent. */
  readonly schema?: z.ZodType<Event>;
}

// Built once: zod v4 compiles a parser on a schema's first use, so deriving it per call costs a compile per event.
const MetadataWithoutHash = EventMetadata.omit({ hash: true });

export function encodeEvent<Event extends TypedEvent = OrderEvent>(input: EncodeInput<Event>): EventToAppend {
  const schema: z.ZodType<TypedEvent> = input.schema ?? OrderEvent;
  const event = schema.parse(input.event);
  const data = event.data as unknown as JsonObject;
  const withoutHash = MetadataWithoutHash.parse(input.metadata) as unknown as JsonObject;
  const hash = eventHash({
    streamId: input.streamId,
    revision: input.revision,
    type: event.type,
    data,
    metadata: withoutHash,
  });
  return { id: input.id, type: event.type, data, metadata: { ...withoutHash, hash } };
}

export function decodeEvent(record: RecordedEvent): LedgerEvent;
export function decodeEvent<Event extends TypedEvent>(
  record: RecordedEvent,
  schema: z.ZodType<Event>,
): LedgerEvent<Event>;
export function decodeEvent(
  record: RecordedEvent,
  schema: z.ZodType<TypedEvent> = OrderEvent,
): LedgerEvent<TypedEvent> {
  const event = schema.safeParse({ type: record.type, data: record.data });
  const { streamId, revision, position } = record;
  const corrupt = (problem: string) => new CorruptEventError(streamId, revision, position, problem);
  if (!event.success) throw corrupt(describe(event.error));
  const metadata = EventMetadata.safeParse(record.metadata);
  if (!metadata.success) throw corrupt(`metadata: ${describe(metadata.error)}`);
  return {
    id: record.id,
    streamId: record.streamId,
    revision: record.revision,
    position: record.position,
    event: event.data,
    metadata: metadata.data,
    createdAt: record.createdAt,
  };
}

/**
 * A whole stream, as the command path must see it before deciding on it: every record decoded,
 * and the stream's hash chain intact (see verifyChain). The one entry point for "the history of
 * a stream", so whatever decides on a history decides only on one that can be trusted. With
 * `after`, the records are the tail following an event already verified (a cached stream's head).
 */
export function decodeStream(records: readonly RecordedEvent[]): LedgerEvent[];
export function decodeStream<Event extends TypedEvent>(
  records: readonly RecordedEvent[],
  schema: z.ZodType<Event>,
  after?: ChainHead,
): LedgerEvent<Event>[];
export function decodeStream(
  records: readonly RecordedEvent[],
  schema: z.ZodType<TypedEvent> = OrderEvent,
  after?: ChainHead,
): LedgerEvent<TypedEvent>[] {
  const events = records.map((record) => decodeEvent(record, schema));
  verifyChain(records, after);
  return events;
}

export function commandDigestOf(command: unknown): string {
  return sha256Hex(canonicalJson(command));
}

function describe(error: z.ZodError): string {
  return error.issues.map((issue) => `${issue.path.join('.') || '(root)'}: ${issue.message}`).join('; ');
}
