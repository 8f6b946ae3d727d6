/** From the client's recorded events to the port's, every record checked. */
import type { Position, RecordedEvent as EsdbRecordedEvent } from '@eventstore/db-client';
import { CorruptEventError } from './errors.ts';
import type { JsonObject, RecordedEvent } from './port.ts';

/** Orders (commit, prepare) pairs the way the server does. */
export function comparePositions(a: Position, b: Position): number {
  if (a.commit !== b.commit) return a.commit < b.commit ? -1 : 1;
  if (a.prepare !== b.prepare) return a.prepare < b.prepare ? -1 : 1;
  return 0;
}

function isJsonObject(value: unknown): value is JsonObject {
  return typeof value === 'object' && value !== null && !Array.isArray(value) && !(value instanceof Uint8Array);
}

/**
 * The client never throws on a record it cannot parse: data that is not JSON comes back as text
 * or bytes, metadata as bytes, a missing time as the epoch. Each of those is a record the ledger
 * cannot read, named the same way the SQLite adapter names an unreadable row.
 */
export function toRecorded(e: EsdbRecordedEvent): RecordedEvent {
  // Stream reads only carry positions from server 22.6 on; without them we cannot honour the port.
  if (!e.position)
    throw new Error(`EventStoreDB returned ${e.streamId}@${e.revision} without a position (server 22.6+ required)`);
  const metadata = e.metadata ?? {};
  const problems: string[] = [];
  if (!e.isJson || !isJsonObject(e.data)) problems.push('data is not a JSON object');
  if (!isJsonObject(metadata)) problems.push('metadata is not a JSON object');
  if (Number.isNaN(e.created.getTime()) || e.created.getTime() === 0) problems.push('it has no creation time');
  if (problems.length > 0) {
    const problem = `the stored record cannot be read: ${problems.join('; ')}`;
    throw new CorruptEventError(e.streamId, e.revision, e.position.commit, problem);
  }
  return {
    id: e.id,
    streamId: e.streamId,
    revision: e.revision,
    position: e.position.commit,
    type: e.type,
    data: e.data as JsonObject,
    metadata: metadata as JsonObject,
    createdAt: e.created,
  };
}
