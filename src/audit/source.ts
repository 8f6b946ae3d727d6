/**
 * Where an audit (or an export, or a command replay) reads the log from: a live store through
 * the EventStore port, or an NDJSON export with no store at all.
 */
import { statSync } from 'node:fs';
import { CorruptEventError } from '../eventstore/errors.ts';
import { readAllEntries, type LogEntry } from '../eventstore/log-entries.ts';
import type { EventStore, RecordedEvent } from '../eventstore/port.ts';
import type { StoreLocation } from '../eventstore/store-url.ts';
import { redactSecrets } from '../redact.ts';
import { readExport } from './ndjson.ts';

export type LogSource =
  | { readonly kind: 'store'; readonly store: EventStore; readonly location: StoreLocation }
  | { readonly kind: 'file'; readonly path: string };

export interface LogScope {
  /** Only events at or below this global position. */
  readonly toPosition?: bigint;
  /** Only what was recorded at or before this instant (see the checker for the exact rule). */
  readonly asOf?: Date;
}

/** Progress in whatever unit the source measures: positions for a store, bytes for a file. */
export type ProgressListener = (done: number, total: number) => void;

export function describeSource(source: LogSource): string {
  return source.kind === 'store' ? redactSecrets(source.location.url) : `file:${source.path}`;
}

/** The last position the scope can reach, read once so that events appended meanwhile stay out. */
export async function scopeEnd(source: Extract<LogSource, { kind: 'store' }>, scope: LogScope): Promise<bigint> {
  const head = (await source.store.headPosition()) ?? 0n;
  return scope.toPosition !== undefined && scope.toPosition < head ? scope.toPosition : head;
}

/** The source's records within `toPosition`, in log order; a record that cannot be read throws. */
export async function* recordsOf(
  source: LogSource,
  scope: LogScope,
  onProgress?: ProgressListener,
): AsyncGenerator<RecordedEvent> {
  for await (const entry of entriesOf(source, scope, onProgress)) {
    if (entry instanceof CorruptEventError) throw entry;
    yield entry;
  }
}

/** The source's entries within `toPosition`, in log order, a record that cannot be read included as its error. */
export async function* entriesOf(
  source: LogSource,
  scope: LogScope,
  onProgress?: ProgressListener,
): AsyncGenerator<LogEntry> {
  if (source.kind === 'store') {
    const end = await scopeEnd(source, scope);
    if (end === 0n) return;
    for await (const entry of readAllEntries(source.store, { upTo: end })) {
      onProgress?.(Number(entry.position), Number(end));
      yield entry;
    }
    return;
  }
  const size = statSync(source.path).size;
  for await (const { record, offset } of readExport(source.path)) {
    onProgress?.(offset, size);
    if (scope.toPosition === undefined || record.position <= scope.toPosition) yield record;
  }
}
