/**
 * `ledger import --in file.ndjson`: load an export into an empty store, through the EventStore
 * port with an exact expected revision on every append (so it works on any store, and nothing
 * can interleave unnoticed). It refuses a store that holds anything, and it audits the whole
 * file first, exactly as `ledger replay --from-file` does (schemas, revisions, ids, hash chains,
 * payments, totals): a file with any finding is refused without writing a single event, because
 * an import is the one way into a store that bypasses the command handler's decisions.
 */
import { constants } from 'node:fs';
import { copyFile, mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { audit } from '../audit/audit.ts';
import { copyLog } from '../audit/copy-log.ts';
import type { FindingSummary } from '../audit/findings.ts';
import { recordsOf } from '../audit/source.ts';
import type { EventStore } from '../eventstore/port.ts';
import { redactSecrets } from '../redact.ts';
import { EXIT, UsageError, inputFileOption, withStore, type CliCommand } from './command.ts';
import type { Progress } from './output.ts';
import { formatFindings } from './replay.ts';

export interface ImportSummary {
  readonly in: string;
  readonly events: number;
  readonly streams: number;
  readonly seconds: number;
}

export class StoreNotEmptyError extends Error {
  override readonly name = 'StoreNotEmptyError';
}

/** The file's audit found something: nothing was written. */
export class ImportRefusedError extends Error {
  override readonly name = 'ImportRefusedError';
  constructor(
    readonly file: string,
    readonly findings: FindingSummary,
  ) {
    super(`${file} does not audit clean (${findings.total} finding(s)): nothing was imported`);
  }
}

export async function importLog(
  store: EventStore,
  file: string,
  progress?: Progress,
): Promise<{ events: number; streams: number }> {
  const head = await store.headPosition();
  if (head !== undefined)
    throw new StoreNotEmptyError(`the target store is not empty (its log reaches position ${head})`);
  // The audit and the write read one private copy: a file replaced after the audit is not what is written.
  const dir = await mkdtemp(join(tmpdir(), 'ledger-import-'));
  try {
    const copy = join(dir, 'import.ndjson');
    await copyFile(file, copy, constants.COPYFILE_EXCL);
    const source = { kind: 'file', path: copy } as const;
    const report = await audit({ source, workers: 0, ...(progress && { onProgress: progress.update }) });
    if (report.findings.total > 0) throw new ImportRefusedError(file, report.findings);
    await copyLog(recordsOf(source, {}, progress?.update), store);
    return { events: report.counts.events, streams: report.counts.streams };
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
}

export const importCommand: CliCommand = {
  name: 'import',
  summary: 'Load an export into an empty store (refuses a store that holds any event).',
  options: {
    in: { type: 'string', value: 'file', description: 'the export to load; required' },
  },
  details: [
    'The whole file is audited first (as ledger replay --from-file does); any finding refuses it.',
    'exit codes: 0 imported; 1 the file has findings (listed);',
    '2 usage, a malformed export, or a non-empty target store.',
    'Nothing is written unless the exit code is 0.',
  ].join('\n'),
  async run(context) {
    const file = inputFileOption(context.options.in, 'in');
    if (file === undefined) throw new UsageError('--in <file> is required');
    const started = performance.now();
    // NORMAL: an interrupted import is redone into a fresh store anyway, and closing checkpoints
    // (and syncs) the whole file; FULL would fsync every group commit.
    const result = await withStore(
      context.storeLocation,
      { mustExist: false, sqlite: { synchronous: 'NORMAL' } },
      async (store) => {
        const progress = context.out.progress('Importing');
        try {
          return await importLog(store, file, progress);
        } catch (error) {
          if (error instanceof StoreNotEmptyError)
            throw new UsageError(
              `${error.message}: nothing was written\nimport only into an empty store: choose a new --store path`,
            );
          if (error instanceof ImportRefusedError) return error;
          throw error;
        } finally {
          progress.stop();
        }
      },
    );
    if (result instanceof ImportRefusedError) {
      const refusal = { in: file, imported: false, findings: result.findings };
      context.out.result(refusal, () => [result.message, ...formatFindings(result.findings)].join('\n'));
      return EXIT.findings;
    }
    const summary: ImportSummary = { in: file, ...result, seconds: (performance.now() - started) / 1000 };
    context.out.result(
      summary,
      () =>
        `Imported ${summary.events} events in ${summary.streams} streams from ${file} into ${redactSecrets(context.storeLocation.url)}`,
    );
    return EXIT.clean;
  },
};
