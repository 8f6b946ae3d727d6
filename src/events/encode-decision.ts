/**
 * A decision's events as the records that store it: each with the command's metadata, linked to
 * the one before it by the hash chain, and with an id derived from what was decided, so that the
 * same decision appended twice is recognised by the store as one.
 */
import type { z } from 'zod';
import type { TypedEvent } from '../domain/decider.ts';
import { EVENT_SCHEMA_VERSION } from '../domain/events.ts';
import type { EventToAppend } from '../eventstore/port.ts';
import { deterministicEventId, encodeEvent } from './codec.ts';
import type { CommandContext } from './metadata.ts';

export interface EncodeDecisionOptions<Event extends TypedEvent> {
  readonly streamId: string;
  /** The stream's last event, which the first new one follows and links to; absent on a new stream. */
  readonly head?: { readonly revision: bigint; readonly metadata: { readonly hash: string } } | undefined;
  readonly events: readonly Event[];
  readonly schema: z.ZodType<Event>;
  /** The decision's scope and the command's digest: what the deterministic ids are derived from. */
  readonly scope: string;
  readonly commandDigest: string;
  readonly context: CommandContext;
  readonly recordedAt: Date;
}

export interface EncodedEvent<Event> {
  readonly event: Event;
  readonly record: EventToAppend;
}

export function encodeDecision<Event extends TypedEvent>(options: EncodeDecisionOptions<Event>): EncodedEvent<Event>[] {
  const { streamId, head, context, commandDigest, scope, schema } = options;
  let prevHash = head?.metadata.hash ?? '';
  let revision = head ? head.revision + 1n : 0n;
  const recordedAt = options.recordedAt.toISOString();
  return options.events.map((event, index) => {
    const metadata = {
      schemaVersion: EVENT_SCHEMA_VERSION,
      recordedAt,
      clientId: context.clientId,
      correlationId: context.correlationId,
      ...(context.idempotencyKey !== undefined && { idempotencyKey: context.idempotencyKey }),
      requestHash: context.requestHash ?? commandDigest,
      ...(context.causationId !== undefined && { causationId: context.causationId }),
      ...(context.keyBinding !== undefined && { keyBinding: context.keyBinding }),
      prevHash,
    };
    const id = deterministicEventId(streamId, scope, commandDigest, index);
    const record = encodeEvent({ streamId, revision, id, event, metadata, schema });
    prevHash = record.metadata.hash as string;
    revision += 1n;
    return { event, record };
  });
}
