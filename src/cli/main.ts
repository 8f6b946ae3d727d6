/**
 * The `ledger` command line: `ledger <command> [options]`. Each subcommand lives in its own
 * module and is loaded only when asked for, so a broken or missing part (the server, the
 * projections) never stops the others. Exit codes: 0 clean, 1 findings, 2 usage or store errors.
 */
import { pathToFileURL } from 'node:url';
import { NdjsonError } from '../audit/ndjson.ts';
import { CorruptEventError, StoreUnavailableError } from '../eventstore/errors.ts';
import { redactSecrets } from '../redact.ts';
import { EXIT, UsageError, prepare, type CliCommand } from './command.ts';
import type { CliIo } from './output.ts';

interface Entry {
  readonly name: string;
  load(): Promise<CliCommand>;
}

const COMMANDS: readonly Entry[] = [
  { name: 'serve', load: async () => (await import('./serve.ts')).serveCommand },
  { name: 'replay', load: async () => (await import('./replay.ts')).replayCommand },
  { name: 'replay-commands', load: async () => (await import('./replay-commands.ts')).replayCommandsCommand },
  { name: 'export', load: async () => (await import('./export.ts')).exportCommand },
  { name: 'import', load: async () => (await import('./import.ts')).importCommand },
  { name: 'report', load: async () => (await import('./report-html.ts')).reportCommand },
  { name: 'process-payments', load: async () => (await import('./process-payments.ts')).processPaymentsCommand },
  // The projections' own subcommand, written beside the projections.
  {
    name: 'projections rebuild',
    load: async () => (await import('./projections-rebuild.ts')).projectionsRebuildCommand,
  },
];

export async function main(argv: readonly string[], io: CliIo): Promise<number> {
  try {
    const entry = COMMANDS.find((c) => startsWith(argv, c.name.split(' ')));
    if (!entry) return await topLevel(argv, io);
    const command = await entry.load();
    const context = prepare(command, argv.slice(entry.name.split(' ').length), io);
    return context ? await command.run(context) : EXIT.clean;
  } catch (error) {
    if (error instanceof CorruptEventError) {
      // Evidence, not a usage error: the log holds a record the command will not work from.
      io.stderr.write(`ledger: ${error.message}\nrun 'ledger replay' to list every record that cannot be trusted\n`);
      return EXIT.findings;
    }
    const message = explain(error);
    if (message === undefined) throw error;
    io.stderr.write(`ledger: ${redactSecrets(message)}\n`);
    return EXIT.usage;
  }
}

/** The errors a user can act on, in words; anything else is a bug and keeps its stack. */
function explain(error: unknown): string | undefined {
  if (error instanceof UsageError) return error.message;
  if (error instanceof StoreUnavailableError)
    return `the event store became unavailable (${error.reason}): ${error.message}\ncheck the store and run the command again`;
  if (error instanceof NdjsonError)
    return `${error.message}\nthe file is not a ledger export (one event a line, as written by 'ledger export')`;
  return undefined;
}

async function topLevel(argv: readonly string[], io: CliIo): Promise<number> {
  const [first] = argv;
  if (first === undefined || first === '--help' || first === '-h' || first === 'help') {
    io.stdout.write(await overview());
    return first === undefined ? EXIT.usage : EXIT.clean;
  }
  throw new UsageError(
    `unknown command ${JSON.stringify(argv.slice(0, 2).join(' '))}\nrun 'ledger --help' for the commands`,
  );
}

async function overview(): Promise<string> {
  // One part that does not load (a server module mid-change) must not hide the others' help.
  const summaries = await Promise.all(
    COMMANDS.map((entry) =>
      entry.load().then(
        (command) => command.summary,
        (error: unknown) => `(unavailable: ${error instanceof Error ? error.message.split('\n')[0] : String(error)})`,
      ),
    ),
  );
  const width = Math.max(...COMMANDS.map((c) => c.name.length));
  return [
    'usage: ledger <command> [options]',
    '',
    'commands:',
    ...COMMANDS.map((c, i) => `  ${c.name.padEnd(width)}  ${summaries[i]}`),
    '',
    'Every command takes --help, --json and --store <url> (default: LEDGER_STORE, else sqlite:./data/ledger.db).',
    'Exit codes: 0 clean, 1 findings, 2 usage or store errors.',
    '',
  ].join('\n');
}

function startsWith(argv: readonly string[], words: readonly string[]): boolean {
  return words.every((word, i) => argv[i] === word);
}

/** Runs the CLI on this process's arguments and streams; the exit code is left in process.exitCode. */
export async function runFromProcess(argv: readonly string[] = process.argv.slice(2)): Promise<void> {
  try {
    // exitCode, not exit(): stdout may still be draining into a pipe.
    process.exitCode = await main(argv, { stdout: process.stdout, stderr: process.stderr, env: process.env });
  } catch (error) {
    // Never 0 or 1: a crash must not read as "clean" or as "findings".
    const text = error instanceof Error ? (error.stack ?? error.message) : String(error);
    process.stderr.write(`ledger: unexpected failure: ${redactSecrets(text)}\n`);
    process.exitCode = EXIT.usage;
  }
}

if (import.meta.url === pathToFileURL(process.argv[1] ?? '').href) await runFromProcess();
