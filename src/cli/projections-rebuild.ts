/**
 * `ledger projections rebuild [name]`: builds a fresh generation of one projection (or all)
 * from position 0 beside the one being served, then swaps it in — the same path a version bump
 * takes, so a running server keeps answering from the old generation until the swap and then
 * follows the new one. Safe to run while servers run: every batch is compare-and-set.
 */
import { projections } from '../../projections/index.ts';
import { ConfigSchema } from '../config.ts';
import { readModelLocation } from '../projections/database.ts';
import { startProjections } from '../projections/service.ts';
import type { ProjectionStatus } from '../projections/status.ts';
import { EXIT, UsageError, stringOption, withStore, type CliCommand } from './command.ts';
import type { CliIo } from './output.ts';

export const projectionsRebuildCommand: CliCommand = {
  name: 'projections rebuild',
  summary: 'Rebuild read models from the log beside the served ones, then swap them in.',
  arguments: '[name]',
  options: {
    'read-models': {
      type: 'string',
      value: 'path',
      description:
        'read-model database (default: the event file for sqlite:, else LEDGER_READ_MODELS or ./data/read-models.db)',
    },
  },
  details: [
    `Projections: ${projections.map((p) => p.name).join(', ')} (all when no name is given).`,
    'Exit codes: 0 every projection rebuilt and swapped in; 1 a projection handler failed (the old read model keeps serving); 2 usage or store errors.',
  ].join('\n'),
  async run({ positionals, options, out, io, storeLocation }) {
    const [name, ...extra] = positionals;
    if (extra.length > 0) throw new UsageError(`one projection at most, not ${positionals.join(' ')}`);
    const chosen = name === undefined ? projections : projections.filter((p) => p.name === name);
    if (chosen.length === 0)
      throw new UsageError(
        `no projection named ${JSON.stringify(name)}; choose from ${projections.map((p) => p.name).join(', ')}`,
      );
    if (storeLocation.kind === 'memory')
      out.note('note: a memory: store starts empty in every process; this rebuild sees no events');
    const location =
      stringOption(options['read-models']) ??
      readModelLocation(
        storeLocation,
        ConfigSchema.shape.LEDGER_READ_MODELS.parse(io.env.LEDGER_READ_MODELS || undefined),
      );

    return withStore(storeLocation, true, async (store) => {
      const head = (await store.headPosition()) ?? 0n;
      const progress = out.progress(`rebuilding ${name ?? 'all projections'}`);
      const started = performance.now();
      let events = 0;
      const rebuild = await startProjections({
        store,
        readModels: location,
        projections: chosen,
        mode: 'rebuild',
        afterBatch: (batch) => {
          // Output.progress is called once per event (it throttles the redraws itself).
          for (let i = 0; i < batch.events; i++) progress.update(Number(batch.position), Number(head));
          events += batch.events;
        },
      });
      let statuses: ProjectionStatus[];
      try {
        await rebuild.runner.done;
        statuses = await rebuild.status();
      } finally {
        progress.stop();
        await rebuild.close();
      }
      const seconds = (performance.now() - started) / 1000;
      const report = statuses.map((s) => ({
        name: s.name,
        state: s.state,
        version: s.serving?.version,
        generation: s.serving?.generation,
        checkpoint: s.serving?.checkpoint,
        failure: s.rebuilding?.failure,
      }));
      const failed = report.filter((r) => r.failure !== undefined);
      out.result({ events, seconds, projections: report }, () =>
        [
          `read ${events} events in ${seconds.toFixed(1)} s`,
          ...report.map((r) =>
            r.failure
              ? `${r.name}: FAILED at ${r.failure.streamId}@${r.failure.revision} (position ${r.failure.position}): ${r.failure.message}; the previous read model keeps serving`
              : `${r.name}: rebuilt (version ${r.version}, generation ${r.generation}, checkpoint ${r.checkpoint ?? 'none'})`,
          ),
        ].join('\n'),
      );
      return failed.length > 0 ? EXIT.findings : EXIT.clean;
    });
  },
};

/** `ledger projections rebuild …` without the CLI entry: `argv` is what follows `projections rebuild`. */
export async function run(argv: readonly string[], io: CliIo): Promise<number> {
  const { main } = await import('./main.ts');
  return main(['projections', 'rebuild', ...argv], io);
}
