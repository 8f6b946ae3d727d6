/**
 * `ledger export --out file.ndjson`: the log, one stored event a line, in position order. The
 * file is written beside its name and renamed when complete, so an interrupted export never
 * passes for a whole one.
 */
import { createWriteStream, renameSync, rmSync } from 'node:fs';
import { once } from 'node:events';
import type { Writable } from 'node:stream';
import { toLine } from '../audit/ndjson.ts';
import { recordsOf } from '../audit/source.ts';
import type { EventStore } from '../eventstore/port.ts';
import { EXIT, UsageError, positionOption, stringOption, withStore, type CliCommand } from './command.ts';
import type { Stream } from './output.ts';

export interface ExportSummary {
  readonly out: string;
  readonly events: number;
  readonly lastPosition: string | undefined;
  readonly seconds: number;
}

/** Lines are gathered into chunks of about this size: one write per chunk, not per event. */
const CHUNK_CHARS = 1 << 20;

export async function exportLog(
  store: EventStore,
  url: string,
  target: Writable | Stream,
  options: { toPosition?: bigint; onProgress?: (done: number, total: number) => void } = {},
): Promise<{ events: number; lastPosition: bigint | undefined }> {
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
  for await (const record of recordsOf({ kind: 'store', store, url }, scope, options.onProgress)) {
    const line = `${toLine(record)}\n`;
    chunk.push(line);
    size += line.length;
    events += 1;
    lastPosition = record.position;
    if (size >= CHUNK_CHARS) await flush();
  }
  await flush();
  return { events, lastPosition };
}

export const exportCommand: CliCommand = {
  name: 'export',
  summary: 'Write the log as NDJSON, one stored event a line (revisions and positions as strings).',
  options: {
    out: { type: 'string', value: 'file', description: "where to write ('-' for stdout); required" },
    'to-position': { type: 'string', value: 'P', description: 'only the log up to global position P' },
  },
  details: 'Each line: {stream, revision, id, type, data, metadata, position, createdAt}; the last two are assigned by the store.',
  async run(context) {
    const out = stringOption(context.options.out);
    if (out === undefined) throw new UsageError("--out <file> is required ('-' writes to stdout)");
    if (out === '-' && context.out.json) throw new UsageError('--json would mix the summary into the export on stdout: use --out <file>');
    const toPosition = positionOption(context.options['to-position'], 'to-position');
    const started = performance.now();
    const result = await withStore(context.storeUrl, true, async (store) => {
      if (out === '-') return exportLog(store, context.storeUrl, context.io.stdout, { ...(toPosition !== undefined && { toPosition }) });
      const progress = context.out.progress('Exporting');
      const partial = `${out}.partial`;
      const file = createWriteStream(partial);
      try {
        const written = await exportLog(store, context.storeUrl, file, { ...(toPosition !== undefined && { toPosition }), onProgress: progress.update });
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
    const summary: ExportSummary = { out, events: result.events, lastPosition: result.lastPosition?.toString(), seconds: (performance.now() - started) / 1000 };
    if (out === '-') context.out.note(`exported ${summary.events} events`);
    else context.out.result(summary, () => `Exported ${summary.events} events (up to position ${summary.lastPosition ?? '-'}) to ${out}`);
    return EXIT.clean;
  },
};
