/**
 * From a row of the SQLite `events` table to a RecordedEvent. SQLite keeps whatever a column is
 * given (a text in an INTEGER column, a blob in a TEXT one), and a file can be edited by any
 * tool, so nothing about a row is assumed: every column is checked, and a row that does not
 * hold a readable event is a CorruptEventError naming it, never a stray TypeError later.
 */
import { CorruptEventError, type StoredRevision } from './errors.ts';
import type { JsonObject, RecordedEvent } from './port.ts';

/** A row as better-sqlite3 returns it with safeIntegers: anything may be in any column. */
export interface EventRow {
  readonly position: unknown;
  readonly id: unknown;
  readonly stream: unknown;
  readonly revision: unknown;
  readonly type: unknown;
  readonly data: unknown;
  readonly metadata: unknown;
  readonly created_at: unknown;
}

/** What the store itself writes (Date.toISOString), and any other ISO 8601 time with a zone. */
const ISO_TIME = /^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}(:\d{2}(\.\d{1,9})?)?(Z|[+-]\d{2}:\d{2})$/;

export function toRecorded(row: EventRow): RecordedEvent {
  // The position is the rowid (INTEGER PRIMARY KEY): SQLite refuses anything but an integer there.
  if (typeof row.position !== 'bigint') {
    throw new TypeError(`events row without an integer position: ${describe(row.position)}`);
  }
  const problems: string[] = [];
  const text = (column: string, value: unknown): string => {
    if (typeof value === 'string' && value !== '') return value;
    problems.push(`${column} is ${describe(value)}, not a non-empty text`);
    return '';
  };
  const streamId = typeof row.stream === 'string' && row.stream !== '' ? row.stream : describe(row.stream);
  if (streamId !== row.stream) problems.push(`stream is ${streamId}, not a non-empty text`);
  const revision = revisionOf(row.revision, problems);
  const id = text('id', row.id);
  const type = text('type', row.type);
  const data = jsonObject('data', row.data, problems);
  const metadata = jsonObject('metadata', row.metadata, problems);
  const createdAt = timeOf(row.created_at, problems);
  if (problems.length > 0 || typeof revision !== 'bigint') {
    const problem = `the stored row cannot be read: ${problems.join('; ')}`;
    throw new CorruptEventError(streamId, revision, row.position, problem);
  }
  const position = row.position;
  return { id, streamId, revision, position, type, data: data!, metadata: metadata!, createdAt: createdAt! };
}

function revisionOf(value: unknown, problems: string[]): StoredRevision {
  if (typeof value === 'bigint' && value >= 0n) return value;
  problems.push(`revision is ${describe(value)}, not a non-negative integer`);
  return typeof value === 'bigint' ? value : describe(value);
}

function jsonObject(column: string, value: unknown, problems: string[]): JsonObject | undefined {
  if (typeof value !== 'string') {
    problems.push(`${column} is ${describe(value)}, not JSON text`);
    return undefined;
  }
  let parsed: unknown;
  try {
    parsed = JSON.parse(value);
  } catch {
    problems.push(`${column} is not JSON`);
    return undefined;
  }
  if (parsed !== null && typeof parsed === 'object' && !Array.isArray(parsed)) return parsed as JsonObject;
  problems.push(`${column} is JSON but not an object`);
  return undefined;
}

function timeOf(value: unknown, problems: string[]): Date | undefined {
  const time = typeof value === 'string' && ISO_TIME.test(value) ? new Date(value) : undefined;
  if (time && !Number.isNaN(time.getTime())) return time;
  problems.push(`created_at is ${describe(value)}, not an ISO 8601 time`);
  return undefined;
}

/** A stored value in words, short: enough to recognise it, never a whole (possibly huge) column. */
function describe(value: unknown): string {
  if (value === null || value === undefined) return 'NULL';
  if (Buffer.isBuffer(value)) return `a blob of ${value.length} bytes`;
  if (typeof value === 'string') return JSON.stringify(value.length > 40 ? `${value.slice(0, 40)}…` : value);
  return String(value);
}
