/** What the EventStoreDB client throws, in the port's terms. */
import {
  CancelledError,
  DeadlineExceededError,
  NO_STREAM,
  NotLeaderError,
  StreamNotFoundError,
  TimeoutError,
  UnavailableError,
  WrongExpectedVersionError as EsdbWrongExpectedVersionError,
  isCommandError,
} from '@eventstore/db-client';
import { StoreUnavailableError, WrongExpectedVersionError } from './errors.ts';
import { NETWORK_ERROR_CODES } from './network-errors.ts';
import type { ExpectedRevision } from './port.ts';

// gRPC status codes seen as raw errors (the first call on a dead channel is not converted by the client).
const GRPC_CANCELLED = 1;
const GRPC_DEADLINE_EXCEEDED = 4;
const GRPC_ABORTED = 10;
const GRPC_UNAVAILABLE = 14;

/**
 * Translates whatever the client threw into the port's typed errors. Pure, so it can be
 * tested with the client's own error classes. Errors that are not the client's come back unchanged.
 * `streamId`/`expected` describe the append that failed; without them a wrong expected
 * version keeps the client's stream name and (when expressible) expectation.
 */
export function esdbStoreError(err: unknown, streamId?: string, expected?: ExpectedRevision): Error {
  if (err instanceof StoreUnavailableError || err instanceof WrongExpectedVersionError) return err;
  if (err instanceof EsdbWrongExpectedVersionError) {
    const exp =
      expected ??
      (err.expectedVersion === NO_STREAM || typeof err.expectedVersion === 'bigint' ? err.expectedVersion : undefined);
    // 'any' / 'stream_exists' cannot occur in our appends; if they do, keep the client's error rather than lie.
    return exp === undefined ? err : new WrongExpectedVersionError(streamId ?? err.streamName, exp, err.actualVersion);
  }
  if (!(err instanceof Error)) return new Error(`EventStoreDB call failed: ${String(err)}`);
  const unavailable = (reason: 'unreachable' | 'busy') =>
    new StoreUnavailableError(
      `EventStoreDB ${reason === 'busy' ? 'is busy' : 'is unreachable'}: ${err.message}`,
      reason,
      { cause: err },
    );
  // Retryable "try again": a follower answered a leader-only call (the client reconnects to the leader),
  // or the server timed the write out internally (ABORTED) under load.
  if (err instanceof NotLeaderError || err instanceof TimeoutError) return unavailable('busy');
  if (err instanceof UnavailableError || err instanceof DeadlineExceededError || err instanceof CancelledError) {
    return unavailable('unreachable');
  }
  const code = (err as { code?: unknown }).code;
  if (code === GRPC_ABORTED) return unavailable('busy');
  if (code === GRPC_UNAVAILABLE || code === GRPC_DEADLINE_EXCEEDED || code === GRPC_CANCELLED)
    return unavailable('unreachable');
  if (typeof code === 'string' && NETWORK_ERROR_CODES.has(code)) return unavailable('unreachable');
  // Cluster discovery gives up with a plain Error after maxDiscoverAttempts.
  if (/^Failed to discover after \d+ attempts/.test(err.message)) return unavailable('unreachable');
  // Any other refusal by the server (access denied, a deleted stream, an append too large) is a
  // store the ledger cannot use as configured: typed, never the client's own class at the port.
  // A missing stream stays itself: the reads answer it as an empty stream.
  if (isCommandError(err) && !(err instanceof StreamNotFoundError)) {
    return new StoreUnavailableError(`EventStoreDB refused the call: ${err.message}`, 'io', { cause: err });
  }
  return err;
}
