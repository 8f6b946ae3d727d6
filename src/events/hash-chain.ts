import { CorruptEventError } from '../eventstore/errors.ts';
import type { JsonObject, RecordedEvent } from '../eventstore/port.ts';
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

/**
 * Stored hashes this process has recomputed and found right: recomputing costs a canonical
 * serialisation and a SHA-256 per event, and a stream is read on every command, so each event is
 * hashed once per process. The key is everything the stored record is addressed by plus its
 * stored hash; a record whose content is changed afterwards with its hash left alone, while this
 * process runs, is not seen again (the audit sees it). Bounded: the oldest entries go first.
 */
class VerifiedHashes {
  private readonly keys = new Set<string>();
  constructor(private readonly capacity: number) {}

  has(key: string): boolean {
    return this.keys.has(key);
  }

  add(key: string): void {
    if (this.keys.size >= this.capacity) this.keys.delete(this.keys.values().next().value!);
    this.keys.add(key);
  }
}

const verified = new VerifiedHashes(100_000);

/** A verified event a chain continues from: its revision and its hash. */
export interface ChainHead {
  readonly revision: bigint;
  readonly hash: string;
}

/**
 * A stream as the command path must find it before deciding on it: revisions 0, 1, 2…, each
 * event's content matching its hash, each prevHash the hash of the event before. The first
 * record that breaks this is a CorruptEventError. With `after`, the records are the tail that
 * follows an event already verified: the first must be the next revision and link to its hash.
 */
export function verifyChain(records: readonly RecordedEvent[], after?: ChainHead): void {
  let prevHash = after?.hash ?? '';
  const first = after ? after.revision + 1n : 0n;
  records.forEach((record, index) => {
    const fail = (problem: string) => new CorruptEventError(record.streamId, record.revision, record.position, problem);
    const expected = first + BigInt(index);
    if (record.revision !== expected) {
      throw fail(`revision ${record.revision} where ${expected} was expected: an event is missing or out of place`);
    }
    const hash = record.metadata.hash;
    const linked = record.metadata.prevHash;
    if (linked !== prevHash) {
      throw fail(
        expected === 0n
          ? 'the first event of the stream links to a previous one'
          : `prevHash is not the hash of revision ${expected - 1n}: an event was rewritten, inserted or reordered`,
      );
    }
    if (typeof hash !== 'string') throw fail('it carries no hash');
    const key = `${record.streamId}\n${record.revision}\n${record.position}\n${record.id}\n${hash}`;
    if (!verified.has(key)) {
      if (eventHash(record) !== hash) {
        throw fail('its content no longer matches its hash: it was altered after it was written');
      }
      verified.add(key);
    }
    prevHash = hash;
  });
}
