import { z } from 'zod';
import { EVENT_SCHEMA_VERSION } from '../domain/events.ts';

const Sha256Hex = z.string().regex(/^[0-9a-f]{64}$/);

export const EventMetadata = z.object({
  schemaVersion: z.literal(EVENT_SCHEMA_VERSION),
  recordedAt: z.iso.datetime({ offset: true }),
  clientId: z.string().min(1).max(128),
  correlationId: z.string().min(1).max(128),
  idempotencyKey: z.string().min(1).max(255).optional(),
  requestHash: Sha256Hex,
  causationId: z.string().min(1).max(128).optional(),
  /**
   * The binding stream of the Idempotency-Key this event was written under: the audit checks that
   * the binding exists and names this event. Absent on events written before keys were bound.
   */
  keyBinding: z
    .string()
    .regex(/^idempotency-[0-9a-f]{64}$/)
    .optional(),
  /** Tamper evidence: the previous event's hash in this stream ('' at revision 0) … */
  prevHash: z.union([Sha256Hex, z.literal('')]),
  /** … and this event's hash over stream, revision, type, data and the rest of the metadata. */
  hash: Sha256Hex,
});
export type EventMetadata = z.infer<typeof EventMetadata>;

/** Who asked, and why: what the caller knows about a command beyond its content. */
export interface CommandContext {
  readonly clientId: string;
  readonly correlationId: string;
  readonly idempotencyKey?: string;
  /** SHA-256 of the canonical request (the HTTP fingerprint); defaults to the command's own digest. */
  readonly requestHash?: string;
  readonly causationId?: string;
  /** Set by the key-binding layer for an effect written together with (or after) its binding. */
  readonly keyBinding?: string;
  /** Commands on another client's order are answered as if it did not exist (off when auth is off). */
  readonly enforceOwnership?: boolean;
}
