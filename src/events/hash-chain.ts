import type { JsonObject } from '../eventstore/port.ts';
import { canonicalJson, sha256Hex } from './canonical.ts';

export interface HashableEvent {
  readonly streamId: string;
  readonly revision: bigint;
  readonly type: string;
  readonly data: JsonObject;
  /** The metadata as stored, `hash` included or not: it is left out of its own hash. */
  readonly metadata: JsonObject;
}

/** SHA-256 over the event's identity and content, chained through metadata.prevHash. */
export function eventHash(event: HashableEvent): string {
  const { hash: _ignored, ...metadata } = event.metadata;
  return sha256Hex(
    canonicalJson({
      stream: event.streamId,
      revision: event.revision.toString(),
      type: event.type,
      data: event.data,
      metadata,
    }),
  );
}
