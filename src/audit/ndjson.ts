/**
 * The export format: one stored event a line, exactly as stored (an export is evidence, so it
 * is never re-encoded or judged on the way out). Revisions and positions are decimal strings.
 * The store-assigned fields (position, createdAt) come last, so that an export of an imported
 * export differs from the original only in each line's tail.
 */
import { createReadStream } from 'node:fs';
import { createInterface } from 'node:readline';
import { z } from 'zod';
import type { JsonObject, RecordedEvent } from '../eventstore/port.ts';

export function toLine(event: RecordedEvent): string {
  return JSON.stringify({
    stream: event.streamId,
    revision: event.revision.toString(),
    id: event.id,
    type: event.type,
    data: event.data,
    metadata: event.metadata,
    position: event.position.toString(),
    createdAt: event.createdAt.toISOString(),
  });
}

const Decimal = z
  .string()
  .regex(/^(0|[1-9][0-9]*)$/, 'must be a non-negative decimal integer string')
  .transform((text) => BigInt(text));
const JsonObjectValue = z.custom<JsonObject>(
  (value) => typeof value === 'object' && value !== null && !Array.isArray(value),
  'must be a JSON object',
);

const Line = z.strictObject({
  stream: z.string().min(1),
  revision: Decimal,
  id: z.string().min(1),
  type: z.string().min(1),
  data: JsonObjectValue,
  metadata: JsonObjectValue,
  position: Decimal,
  createdAt: z.iso.datetime({ offset: true }),
});

export class NdjsonError extends Error {
  override readonly name = 'NdjsonError';
  constructor(
    readonly file: string,
    readonly line: number,
    problem: string,
  ) {
    super(`${file}:${line}: ${problem}`);
  }
}

export function fromLine(text: string, file: string, lineNumber: number): RecordedEvent {
  let value: unknown;
  try {
    value = JSON.parse(text);
  } catch (error) {
    throw new NdjsonError(file, lineNumber, `not JSON (${(error as Error).message})`);
  }
  const parsed = Line.safeParse(value);
  if (!parsed.success) {
    const problems = parsed.error.issues.map((issue) => `${issue.path.join('.') || '(line)'}: ${issue.message}`);
    throw new NdjsonError(file, lineNumber, problems.join('; '));
  }
  const line = parsed.data;
  return {
    id: line.id,
    streamId: line.stream,
    revision: line.revision,
    position: line.position,
    type: line.type,
    data: line.data,
    metadata: line.metadata,
    createdAt: new Date(line.createdAt),
  };
}

/**
 * Streams the events of an export in file order, each with its line number and the byte offset
 * just past it (for progress); blank lines are skipped, a malformed one throws NdjsonError.
 */
export async function* readExport(
  file: string,
): AsyncGenerator<{ record: RecordedEvent; line: number; offset: number }> {
  const lines = createInterface({ input: createReadStream(file, 'utf8'), crlfDelay: Infinity });
  let lineNumber = 0;
  let offset = 0;
  for await (const text of lines) {
    lineNumber += 1;
    offset += Buffer.byteLength(text) + 1;
    if (text.trim() === '') continue;
    yield { record: fromLine(text, file, lineNumber), line: lineNumber, offset };
  }
}
