/**
 * `ledger export --out file.ndjson`: the log, one stored event a line, in position order. The
 * file is written beside its name and renamed when complete, so an interrupted export never
 * passes for a whole one. A record that cannot be read or fails its schema cannot be carried
 * into an export faithfully: the export stops there and names it, or, with --skip-corrupt,
 * leaves it out and lists it.
 */
import { createWriteStream, renameSync, rmSync } from 'node:fs';
import { once } from 'node:events';
import type { Writable } from 'node:stream';
import { toLine } from '../audit/ndjson.ts';
import { entriesOf } from '../audit/source.ts';
import { CorruptEventError } from '../eventstore/errors.ts';
import type { EventStore, RecordedEvent } from '../eventstore/port.ts';
import type { StoreLocation } from '../eventstore/store-url.ts';
import { KEY_BOUND_TYPE, parseKeyBinding } from '../events/binding-codec.ts';
import { decodeEvent } from '../events/codec.ts';
import { EXIT, UsageError, positionOption, stringOption, withStore, type CliCommand } from './command.ts';
import type { Stream } from './output.ts';

export interface SkippedRecord {
  readonly stream: string;
  readonly revision: string;
  readonly position: string;
  readonly problem: string;
}

export interface ExportSummary {
  readonly out: string;
  readonly events: number;
  readonly lastPosition: string | undefined;
  /** Records left out by --skip-corrupt, in log order. */
  readonly skipped: readonly SkippedRecord[];
  readonly seconds: number;
}

/** Lines are gathered into chunks of about this size: one write per chunk, not per event. */
const CHUNK_CHARS = 1 << 20;

export async function exportLog(
  store: EventStore,
  location: StoreLocation,
  target: Writable | Stream,
  options: { toPosition?: bigint; skipCorrupt?: boolean; onProgress?: (done: number, total: number) => void } = {},
): Promise<{ events: number; lastPosition: bigint | undefined; skipped: SkippedRecord[] }> {
  const skipped: SkippedRecord[] = [];
  let events = 0;
  let lastPosition: bigint | undefined;
  let chunk: string[] = [];
  let size = 0;
  const flush = async () => {
    if (chunk.length === 0) return;
    const drained = target.write(chunk.join(''));
    chunk = [];
    size = 0;
    if (drained === false && 'once' in target) await once(target, 'drain');
  };
  const scope = options.toPosition === undefined ? {} : { toPosition: options.toPosition };
  for await (const entry of entriesOf({ kind: 'store', store, location }, scope, options.onProgress)) {
    const record = trusted(entry);
    if (record instanceof CorruptEventError) {
      if (!options.skipCorrupt) throw record;
      const { streamId, revision, position, problem } = record;
      skipped.push({ stream: streamId, revision: String(revision), position: position.toString(), problem });
      continue;
    }
    const line = `${toLine(record)}\n`;
    chunk.push(line);
    size += line.length;
    events += 1;
    lastPosition = record.position;
    if (size >= CHUNK_CHARS) await flush();
  }
  await flush();
  return { events, lastPosition, skipped };
}

/** The record as stored when it can be read and passes its schema (it is exported as stored, never re-encoded). */
function trusted(entry: RecordedEvent | CorruptEventError): RecordedEvent | CorruptEventError {
  if (entry instanceof CorruptEventError) return entry;
  try {
    if (entry.type === KEY_BOUND_TYPE) parseKeyBinding(entry);
    else decodeEvent(entry);
    return entry;
  } catch (error) {
    if (error instanceof CorruptEventError) return error;
    throw error;
  }
}

export const exportCommand: CliCommand = {
  name: 'export',
  summary: 'Write the log as NDJSON, one stored event a line (revisions and positions as strings).',
  options: {
    out: { type: 'string', value: 'file', description: "where to write ('-' for stdout); required" },
    'to-position': { type: 'string', value: 'P', description: 'only the log up to global position P' },
    'skip-corrupt': {
      type: 'boolean',
      description: 'leave out records that cannot be read or fail their schema, and list them',
    },
  },
  details: [
    'Each line: {stream, revision, id, type, data, metadata, position, createdAt};',
    'the last two are assigned by the store.',
    'Exit codes: 0 exported; 1 the log holds a record that cannot be read or fails its schema:',
    'without --skip-corrupt the export stops at it, names it and writes no file; with it, the rest',
    'is exported and the records left out are listed; 2 usage or store errors.',
  ].join('\n'),
  async run(context) {
    const out = stringOption(context.options.out);
    if (out === undefined) throw new UsageError("--out <file> is required ('-' writes to stdout)");
    if (out === '-' && context.out.json)
      throw new UsageError('--json would mix the summary into the export on stdout: use --out <file>');
    const toPosition = positionOption(context.options['to-position'], 'to-position');
    const skipCorrupt = context.options['skip-corrupt'] === true;
    const scope = { ...(toPosition !== undefined && { toPosition }), skipCorrupt };
    const started = performance.now();
    const result = await withStore(context.storeLocation, true, async (store) => {
      if (out === '-') return exportLog(store, context.storeLocation, context.io.stdout, scope);
      const progress = context.out.progress('Exporting');
      const partial = `${out}.partial`;
      const file = createWriteStream(partial);
      try {
        const written = await exportLog(store, context.storeLocation, file, { ...scope, onProgress: progress.update });
        file.end();
        await once(file, 'finish');
        renameSync(partial, out);
        return written;
      } catch (error) {
        file.destroy();
        rmSync(partial, { force: true });
        throw error;
      } finally {
        progress.stop();
      }
    });
    const summary: ExportSummary = {
      out,
      events: result.events,
      lastPosition: result.lastPosition?.toString(),
      skipped: result.skipped,
      seconds: (performance.now() - started) / 1000,
    };
    const skippedLines = summary.skipped.map(
      (r) => `  skipped ${r.stream}@${r.revision} (position ${r.position}): ${r.problem}`,
    );
    if (out === '-') context.out.note([`exported ${summary.events} events`, ...skippedLines].join('\n'));
    else {
      const done = `Exported ${summary.events} events (up to position ${summary.lastPosition ?? '-'}) to ${out}`;
      context.out.result(summary, () => [done, ...skippedLines].join('\n'));
    }
    return summary.skipped.length > 0 ? EXIT.findings : EXIT.clean;
  },
};
