/**
 * `ledger import --in file.ndjson`: load an export into an empty store, through the EventStore
 * port with an exact expected revision on every append (so it works on any store, and nothing
 * can interleave unnoticed). It refuses a store that holds anything, and it reads the whole file
 * once before writing, so a malformed export is refused without writing a single event.
 */
import { copyLog } from '../audit/copy-log.ts';
import { IdSet } from '../audit/id-set.ts';
import { NdjsonError, readExport } from '../audit/ndjson.ts';
import { recordsOf } from '../audit/source.ts';
import type { EventStore } from '../eventstore/port.ts';
import { EXIT, UsageError, inputFileOption, withStore, type CliCommand } from './command.ts';
import type { Progress } from './output.ts';

export interface ImportSummary {
  readonly in: string;
  readonly events: number;
  readonly streams: number;
  readonly seconds: number;
}

export class StoreNotEmptyError extends Error {
  override readonly name = 'StoreNotEmptyError';
}

export async function importLog(store: EventStore, file: string, progress?: Progress): Promise<{ events: number; streams: number }> {
  const head = await store.headPosition();
  if (head !== undefined) throw new StoreNotEmptyError(`the target store is not empty (its log reaches position ${head})`);
  const { events, streams } = await validate(file);
  await copyLog(recordsOf({ kind: 'file', path: file }, {}, progress?.update), store);
  return { events, streams };
}

/** Every line well formed, each stream's revisions 0, 1, 2… in file order, no id twice. */
async function validate(file: string): Promise<{ events: number; streams: number }> {
  const next = new Map<string, bigint>();
  const ids = new IdSet();
  let events = 0;
  for await (const { record, line } of readExport(file)) {
    const expected = next.get(record.streamId) ?? 0n;
    if (record.revision !== expected) {
      throw new NdjsonError(file, line, `${record.streamId} revision ${record.revision} where ${expected} was expected: an export holds every stream whole and in order`);
    }
    if (!ids.add(record.id)) throw new NdjsonError(file, line, `event id ${record.id} appears twice`);
    next.set(record.streamId, expected + 1n);
    events += 1;
  }
  return { events, streams: next.size };
}

export const importCommand: CliCommand = {
  name: 'import',
  summary: 'Load an export into an empty store (refuses a store that holds any event).',
  options: {
    in: { type: 'string', value: 'file', description: 'the export to load; required' },
  },
  details: 'exit codes: 0 imported; 2 usage, a malformed export, or a non-empty target store (nothing is written in those cases).',
  async run(context) {
    const file = inputFileOption(context.options.in, 'in');
    if (file === undefined) throw new UsageError('--in <file> is required');
    const started = performance.now();
    // NORMAL: an interrupted import is redone into a fresh store anyway, and closing checkpoints
    // (and syncs) the whole file; FULL would fsync every group commit.
    const result = await withStore(context.storeUrl, { mustExist: false, sqlite: { synchronous: 'NORMAL' } }, async (store) => {
      const progress = context.out.progress('Importing');
      try {
        return await importLog(store, file, progress);
      } catch (error) {
        if (error instanceof StoreNotEmptyError) throw new UsageError(`${error.message}: nothing was written\nimport only into an empty store: choose a new --store path`);
        throw error;
      } finally {
        progress.stop();
      }
    });
    const summary: ImportSummary = { in: file, ...result, seconds: (performance.now() - started) / 1000 };
    context.out.result(summary, () => `Imported ${summary.events} events in ${summary.streams} streams from ${file} into ${context.storeUrl}`);
    return EXIT.clean;
  },
};
