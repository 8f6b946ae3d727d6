/**
 * What the PostgreSQL driver throws, in the port's terms: the one mapping every call of the
 * PostgreSQL adapter goes through. The server names its errors by SQLSTATE; the driver's own
 * connection failures carry a Node socket code or only a message.
 */
import { redactSecrets } from '../redact.ts';
import { CorruptEventError, StoreUnavailableError, WrongExpectedVersionError } from './errors.ts';
import { NETWORK_ERROR_CODES } from './network-errors.ts';

type Reason = StoreUnavailableError['reason'];

/** Worth running the whole batch again: it was rolled back, and a second attempt usually passes. */
const TRANSIENT = new Set([
  '40001', // serialization_failure
  '40P01', // deadlock_detected
  '23505', // unique_violation: an event id inserted by a concurrent transaction the append could not see yet
]);

const BY_SQLSTATE: ReadonlyMap<string, Reason> = new Map([
  ['40001', 'busy'],
  ['40P01', 'busy'],
  ['23505', 'busy'],
  ['55P03', 'busy'], // lock_not_available
  ['57014', 'busy'], // query_canceled (statement_timeout)
  ['53300', 'busy'], // too_many_connections
  ['53400', 'busy'], // configuration_limit_exceeded
  ['53100', 'full'], // disk_full
  ['53200', 'busy'], // out_of_memory
  ['57P01', 'unreachable'], // admin_shutdown (pg_terminate_backend, a fast shutdown)
  ['57P02', 'unreachable'], // crash_shutdown
  ['57P03', 'unreachable'], // cannot_connect_now (starting up, shutting down)
  ['57P04', 'unreachable'], // database_dropped
  ['3D000', 'unreachable'], // invalid_catalog_name: the database does not exist
  ['25006', 'io'], // read_only_sql_transaction: a standby, or default_transaction_read_only
  ['58030', 'io'], // io_error
  // A role the server no longer lets do what the ledger does (a privilege revoked): a store the
  // ledger cannot use as configured, as EventStoreDB's access denied is, not a fault of the program.
  ['42501', 'io'], // insufficient_privilege
]);

/** SQLSTATE classes that are all about the connection or the server, never about the request. */
const BY_CLASS: ReadonlyMap<string, Reason> = new Map([
  ['08', 'unreachable'], // connection_exception
  ['28', 'io'], // invalid_authorization_specification: a role or password no longer accepted
  ['53', 'busy'], // insufficient_resources
  ['57', 'unreachable'], // operator_intervention
  ['58', 'io'], // system_error
  ['XX', 'io'], // internal_error (e.g. data_corrupted)
]);

/** The driver's messages for a connection it lost or could not get (no code on them). */
const CONNECTION_MESSAGE =
  /Connection terminated|connection error and is not queryable|timeout exceeded when trying to connect|Client was closed|Connection ended/i;

/** 55000 is a general SQLSTATE; with this message it is a database closed to connections (ALLOW_CONNECTIONS false). */
const NOT_ACCEPTING = /is not currently accepting connections/;

const codeOf = (error: unknown): string | undefined => {
  const code = (error as { code?: unknown } | null)?.code;
  return typeof code === 'string' ? code : undefined;
};

/** A failure that rolled the batch back and that a second attempt may not meet. */
export const isTransient = (error: unknown): boolean => TRANSIENT.has(codeOf(error) ?? '');

/** The port's own errors pass unchanged; every driver error becomes a typed one. */
export function pgStoreError(error: unknown): Error {
  if (error instanceof StoreUnavailableError || error instanceof CorruptEventError) return error;
  if (error instanceof WrongExpectedVersionError) return error;
  const code = codeOf(error);
  const message = redactSecrets(error instanceof Error ? error.message : String(error));
  const reason = reasonOf(code, message);
  if (reason !== undefined) {
    const what = code === undefined ? message : `${code}: ${message}`;
    return new StoreUnavailableError(`the PostgreSQL event store is unavailable (${what})`, reason, { cause: error });
  }
  // Anything else (a syntax error, a violated check) is a fault of this program, not of the store.
  return error instanceof Error ? error : new Error(message);
}

function reasonOf(code: string | undefined, message: string): Reason | undefined {
  if (code === undefined) return CONNECTION_MESSAGE.test(message) ? 'unreachable' : undefined;
  if (NETWORK_ERROR_CODES.has(code)) return 'unreachable';
  if (code === '55000') return NOT_ACCEPTING.test(message) ? 'unreachable' : undefined;
  return BY_SQLSTATE.get(code) ?? BY_CLASS.get(code.slice(0, 2));
}
