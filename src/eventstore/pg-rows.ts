/**
 * From a row of `ledger_events` to a RecordedEvent. The column types already hold most of the
 * line (json is valid JSON, revision a bigint), but a row edited by hand may carry a JSON value
 * that is not an object: that is a CorruptEventError naming the event, never a TypeError later.
 */
import { CorruptEventError } from './errors.ts';
import type { JsonObject, RecordedEvent } from './port.ts';

/** Big integers come as text (a JavaScript number cannot hold them), JSON as the stored text. */
export interface PgEventRow {
  readonly position: string;
  readonly id: string;
  readonly stream_id: string;
  readonly revision: string;
  readonly type: string;
  readonly data: string;
  readonly metadata: string;
  readonly created_at: Date;
}

/** The select list that yields a PgEventRow. */
export const EVENT_COLUMNS =
  'position::text AS position, id, stream_id, revision::text AS revision, type, data::text AS data, ' +
  'metadata::text AS metadata, created_at';

export function toRecorded(row: PgEventRow): RecordedEvent {
  const position = BigInt(row.position);
  const revision = BigInt(row.revision);
  const problems: string[] = [];
  const data = objectOf(row.data, 'data', problems);
  const metadata = objectOf(row.metadata, 'metadata', problems);
  if (!data || !metadata) {
    throw new CorruptEventError(
      row.stream_id,
      revision,
      position,
      `the stored row cannot be read: ${problems.join('; ')}`,
    );
  }
  return {
    id: row.id,
    streamId: row.stream_id,
    revision,
    position,
    type: row.type,
    data,
    metadata,
    createdAt: row.created_at,
  };
}

function objectOf(text: string, column: string, problems: string[]): JsonObject | undefined {
  const value: unknown = JSON.parse(text);
  if (value !== null && typeof value === 'object' && !Array.isArray(value)) return value as JsonObject;
  problems.push(`${column} is not a JSON object`);
  return undefined;
}
