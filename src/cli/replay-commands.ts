/**
 * `ledger replay-commands`: rebuild every recorded command from its event and run it through
 * the real command handler against a scratch copy of the log; each must be a replay that
 * writes nothing. The live store is only read.
 */
import { replayCommands, type CommandReplayResult } from '../audit/command-replay.ts';
import type { LogSource } from '../audit/source.ts';
import { EXIT, inputFileOption, withStore, type CliCommand, type CliInvocation } from './command.ts';
import { formatFindings } from './replay.ts';

/** Runs the replay with a progress bar for each phase (copying, replaying). */
function replayWithProgress(context: CliInvocation, source: LogSource): Promise<CommandReplayResult> {
  const copy = context.out.progress('Copying log');
  const replay = context.out.progress('Replaying commands');
  const onProgress = (done: number, total: number) => {
    copy.stop(); // one bar on the terminal at a time
    replay.update(done, total);
  };
  return replayCommands({ source, onCopyProgress: copy.update, onProgress }).finally(() => {
    copy.stop();
    replay.stop();
  });
}

export const replayCommandsCommand: CliCommand = {
  name: 'replay-commands',
  summary:
    'Run every recorded command again through the command handler on a scratch copy: each must be a replay that writes nothing.',
  options: {
    'from-file': {
      type: 'string',
      value: 'file.ndjson',
      description: 'replay the commands of an export instead of a store',
    },
  },
  details: 'exit codes: 0 every command replayed as a no-op, 1 findings, 2 usage or store errors.',
  async run(context) {
    const file = inputFileOption(context.options['from-file'], 'from-file');
    const report =
      file !== undefined
        ? await replayWithProgress(context, { kind: 'file', path: file })
        : await withStore(context.storeLocation, true, (store) =>
            replayWithProgress(context, { kind: 'store', store, location: context.storeLocation }),
          );
    context.out.result(report, () => formatCommandReplay(report));
    return report.findings.total > 0 || report.newEvents > 0 ? EXIT.findings : EXIT.clean;
  },
};

function formatCommandReplay(report: CommandReplayResult): string {
  const lines = [
    `Replayed ${report.commands} commands from ${report.source}: ${report.replays} replays, ${report.newEvents} new events (${report.timing.seconds.toFixed(2)} s)`,
  ];
  if (report.findings.total === 0) lines.push('No findings: every command is a no-op replay.');
  else lines.push(...formatFindings(report.findings));
  return lines.join('\n');
}
