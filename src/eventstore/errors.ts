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

/** A stored record that no longer satisfies its schema: a fact we cannot trust. */
export class CorruptEventError extends Error {
  override readonly name = 'CorruptEventError';
  constructor(
    readonly streamId: string,
    readonly revision: bigint,
    readonly problem: string,
  ) {
    super(`event ${streamId}@${revision} fails its schema: ${problem}`);
  }
}
