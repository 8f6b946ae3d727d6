/** What SQLite throws, in the port's terms: no driver error leaves the SQLite adapter untyped. */
import Database from 'better-sqlite3';
import { CorruptEventError, StoreUnavailableError, WrongExpectedVersionError } from './errors.ts';

export function isConstraintViolation(error: unknown): boolean {
  return error instanceof Database.SqliteError && error.code.startsWith('SQLITE_CONSTRAINT');
}

/**
 * Every SqliteError, whatever its code, becomes one retryable StoreUnavailableError, and a closed
 * connection says so; the port's own errors pass unchanged.
 */
export function sqliteStoreError(error: unknown): Error {
  if (error instanceof StoreUnavailableError || error instanceof CorruptEventError) return error;
  if (error instanceof WrongExpectedVersionError) return error;
  if (error instanceof Database.SqliteError) {
    const code = error.code;
    const reason =
      code === 'SQLITE_FULL'
        ? 'full'
        : code.startsWith('SQLITE_BUSY') || code.startsWith('SQLITE_LOCKED')
          ? 'busy'
          : 'io';
    return new StoreUnavailableError(`the event store cannot write (${code}): ${error.message}`, reason, {
      cause: error,
    });
  }
  if (error instanceof TypeError && /database connection is not open/.test(error.message)) {
    return new StoreUnavailableError('the event store is closed', 'closed', { cause: error });
  }
  return error instanceof Error ? error : new Error(String(error));
}
