import type { ExpectedRevision } from './port.ts';

/** The stream's actual state did not match the append's expectation: the optimistic lock held. */
export class WrongExpectedVersionError extends Error {
  override readonly name = 'WrongExpectedVersionError';
  constructor(
    readonly streamId: string,
    readonly expected: ExpectedRevision,
    /** 'no_stream' or the revision of the stream's last event. */
    readonly actual: ExpectedRevision,
  ) {
    super(`stream ${streamId}: expected ${String(expected)}, actual ${String(actual)}`);
  }
}

/** The store cannot take or serve events right now (down, full, locked, I/O error). Retryable. */
export class StoreUnavailableError extends Error {
  override readonly name = 'StoreUnavailableError';
  constructor(
    message: string,
    readonly reason: 'unreachable' | 'full' | 'busy' | 'io' | 'closed',
    options?: { cause?: unknown },
  ) {
    super(message, options);
  }
}

/**
 * A revision as stored: a bigint, or, when the stored value is not a revision at all (a text or
 * a fraction where an integer belongs), that value as text, so that it can still be named.
 */
export type StoredRevision = bigint | string;

/**
 * A stored record the ledger cannot trust: the row cannot be decoded (not JSON, wrong column
 * types, a bad time or revision), it fails its schema, or it breaks its stream's hash chain.
 * It names the record by stream, revision and global position, so it can be found in the log.
 */
export class CorruptEventError extends Error {
  override readonly name = 'CorruptEventError';
  constructor(
    readonly streamId: string,
    readonly revision: StoredRevision,
    readonly position: bigint,
    readonly problem: string,
  ) {
    super(`event ${streamId}@${String(revision)} (position ${position}) is corrupt: ${problem}`);
  }
}
