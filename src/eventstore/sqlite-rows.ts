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
  // Every row of a whole log passes here: the usual case is checked in one go, the diagnosis is for the rest.
  const { id, stream, revision, type } = row;
  if (isText(id) && isText(stream) && typeof revision === 'bigint' && revision >= 0n && isText(type)) {
    const data = objectOf(row.data);
    const metadata = objectOf(row.metadata);
    const createdAt = timeOf(row.created_at);
    if (data && metadata && createdAt) {
      return { id, streamId: stream, revision, position: row.position, type, data, metadata, createdAt };
    }
  }
  throw unreadable(row, row.position);
}

/** Why the row cannot be read, every column that is wrong named. */
function unreadable(row: EventRow, position: bigint): CorruptEventError {
  const problems: string[] = [];
  const streamId = isText(row.stream) ? row.stream : describe(row.stream);
  if (streamId !== row.stream) problems.push(`stream is ${streamId}, not a non-empty text`);
  const revision = revisionOf(row.revision, problems);
  for (const column of ['id', 'type'] as const) {
    if (!isText(row[column])) problems.push(`${column} is ${describe(row[column])}, not a non-empty text`);
  }
  for (const column of ['data', 'metadata'] as const) {
    const value = row[column];
    if (typeof value !== 'string') problems.push(`${column} is ${describe(value)}, not JSON text`);
    else if (!objectOf(value)) problems.push(`${column} is not a JSON object`);
  }
  if (!timeOf(row.created_at)) problems.push(`created_at is ${describe(row.created_at)}, not an ISO 8601 time`);
  const problem = `the stored row cannot be read: ${problems.join('; ')}`;
  return new CorruptEventError(streamId, revision, position, problem);
}

const isText = (value: unknown): value is string => typeof value === 'string' && value !== '';

function revisionOf(value: unknown, problems: string[]): StoredRevision {
  if (typeof value === 'bigint' && value >= 0n) return value;
  problems.push(`revision is ${describe(value)}, not a non-negative integer`);
  return typeof value === 'bigint' ? value : describe(value);
}

function objectOf(value: unknown): JsonObject | undefined {
  if (typeof value !== 'string') return undefined;
  let parsed: unknown;
  try {
    parsed = JSON.parse(value);
  } catch {
    return undefined;
  }
  return parsed !== null && typeof parsed === 'object' && !Array.isArray(parsed) ? (parsed as JsonObject) : undefined;
}

function timeOf(value: unknown): Date | undefined {
  const time = typeof value === 'string' && ISO_TIME.test(value) ? new Date(value) : undefined;
  return time && !Number.isNaN(time.getTime()) ? time : undefined;
}

/** A stored value in words, short: enough to recognise it, never a whole (possibly huge) column. */
function describe(value: unknown): string {
  if (value === null || value === undefined) return 'NULL';
  if (Buffer.isBuffer(value)) return `a blob of ${value.length} bytes`;
  if (typeof value === 'string') return JSON.stringify(value.length > 40 ? `${value.slice(0, 40)}…` : value);
  return String(value);
}
