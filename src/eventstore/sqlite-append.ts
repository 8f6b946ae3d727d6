/** One stream's part of a group commit, inside the batch's open transaction. */
import { WrongExpectedVersionError } from './errors.ts';
import { resolveExpectation, type StoredRef } from './expectation.ts';
import type { AppendResult, StreamWrite } from './port.ts';
import { isConstraintViolation } from './sqlite-errors.ts';
import type { SqliteStatements } from './sqlite-statements.ts';

/** Throws WrongExpectedVersionError when the stream is not where the write expects it. */
export function writeStream(statements: SqliteStatements, write: StreamWrite, createdAt: string): AppendResult {
  const head = (statements.head.get(write.streamId) as bigint | undefined) ?? 'no_stream';
  const outcome = resolveExpectation(
    write.streamId,
    write.expected,
    head,
    write.events.map((e) => e.id),
    (first, count) => statements.refsFrom.all(write.streamId, first, count) as StoredRef[],
  );
  if (outcome.kind === 'duplicate') {
    return { nextExpectedRevision: outcome.last.revision, position: outcome.last.position, duplicate: true };
  }
  let revision = outcome.firstRevision;
  let position = 0n;
  try {
    for (const e of write.events) {
      const info = statements.insert.run(
        e.id,
        write.streamId,
        revision,
        e.type,
        JSON.stringify(e.data),
        JSON.stringify(e.metadata),
        createdAt,
      );
      position = BigInt(info.lastInsertRowid);
      revision += 1n;
    }
  } catch (error) {
    // A row the log refuses (an event id already stored elsewhere) means the log is not what the
    // write was decided on: the writer's own failure, as an expectation, never a driver error.
    if (isConstraintViolation(error)) throw new WrongExpectedVersionError(write.streamId, write.expected, head);
    throw error;
  }
  return { nextExpectedRevision: revision - 1n, position, duplicate: false };
}
