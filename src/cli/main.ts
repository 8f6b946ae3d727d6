/**
 * The `ledger` command line, on commander: `ledger <command> [options]`, and command groups such
 * as `ledger projections rebuild`. Each subcommand lives in its own module and is loaded only when
 * asked for, so a broken or missing part (the server, the projections) never stops the others.
 * Exit codes: 0 clean, 1 findings, 2 usage or store errors, 3 a failure of the ledger itself.
 * Nothing the CLI prints carries a stack trace; with --json, errors are JSON too.
 */
import { createRequire } from 'node:module';
import { pathToFileURL } from 'node:url';
import { Command, CommanderError, Option } from 'commander';
import { NdjsonError } from '../audit/ndjson.ts';
import { CorruptEventError, StoreUnavailableError } from '../eventstore/errors.ts';
import { redactSecrets } from '../redact.ts';
import { allOptions, type CliCommand, EXIT, invocation, UsageError } from './command.ts';
import { type CliIo, toJson } from './output.ts';

interface Entry {
  /** One word, or a group and a word: `replay`, `projections rebuild`. */
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

const GROUPS: Readonly<Record<string, string>> = {
  projections: 'read models: rebuild them beside the ones being served, then swap',
};

const VERSION = (createRequire(import.meta.url)('../../package.json') as { version: string }).version;

export async function main(argv: readonly string[], io: CliIo): Promise<number> {
  const json = argv.includes('--json');
  try {
    const program = await programFor(argv, io);
    let code: number = EXIT.clean;
    program.hook('postAction', (_parent, action) => {
      code = (action as Command & { exitCode?: number }).exitCode ?? EXIT.clean;
    });
    await program.parseAsync([...argv], { from: 'user' });
    return code;
  } catch (error) {
    const named = COMMANDS.find((entry) => entry.name.split(' ').every((word, i) => argv[i] === word));
    return report(error, io, json, named?.name);
  }
}

/**
 * The program with every command declared; only the commands the arguments name are loaded (all
 * of them for the overview), and one that fails to load is listed as unavailable, not fatal.
 */
async function programFor(argv: readonly string[], io: CliIo): Promise<Command> {
  const program = configure(new Command('ledger'), io)
    .version(VERSION, '-V, --version', 'print the version')
    .description('Order Ledger: audit, replay, export and serve an event-sourced payment ledger.')
    .addHelpText(
      'after',
      '\nEvery command takes --help, --json and --store <url> (default: LEDGER_STORE, else sqlite:./data/ledger.db).\n' +
        'Exit codes: 0 clean, 1 findings, 2 usage or store errors, 3 a failure of the ledger itself.',
    );
  const named = COMMANDS.filter((entry) => entry.name.split(' ').every((word, i) => argv[i] === word));
  const group = COMMANDS.filter((entry) => entry.name.startsWith(`${argv[0]} `));
  const wanted = new Set(named.length > 0 ? named : group.length > 0 ? group : COMMANDS);
  const groups = new Map<string, Command>();
  for (const entry of COMMANDS) {
    const words = entry.name.split(' ');
    const leaf = words.at(-1)!;
    let parent = program;
    if (words.length > 1) {
      const groupName = words[0]!;
      if (!groups.has(groupName)) {
        const created = configure(program.command(groupName), io).description(GROUPS[groupName] ?? '');
        groups.set(groupName, created);
      }
      parent = groups.get(groupName)!;
    }
    if (!wanted.has(entry)) {
      parent.command(leaf).description('(run it for its help)');
      continue;
    }
    const command = await entry.load().catch((error: unknown) => error as Error);
    if (command instanceof Error) {
      parent.command(leaf).description(`(unavailable: ${redactSecrets(command.message.split('\n')[0] ?? '')})`);
      continue;
    }
    declare(configure(parent.command(leaf), io), command, io);
  }
  return program;
}

function configure(command: Command, io: CliIo): Command {
  return command
    .exitOverride()
    .helpOption('-h, --help', 'show this help')
    .showHelpAfterError(false)
    .configureOutput({
      writeOut: (text) => io.stdout.write(text),
      writeErr: (text) => io.stderr.write(text),
      // Usage errors are reported once, by `report`, in words or JSON.
      outputError: () => {},
    })
    .configureHelp({ sortSubcommands: false })
    .allowExcessArguments(false);
}

function declare(target: Command, command: CliCommand, io: CliIo): void {
  target.description(command.summary);
  if (command.arguments) target.argument(command.arguments);
  const specs = allOptions(command);
  for (const [name, spec] of Object.entries(specs)) {
    const flags = `${spec.short ? `-${spec.short}, ` : ''}--${name}${spec.type === 'string' ? ` <${spec.value ?? 'value'}>` : ''}`;
    target.addOption(new Option(flags, spec.description));
  }
  if (command.details) target.addHelpText('after', `\n${command.details}`);
  target.action(async (...args: unknown[]) => {
    const self = args.at(-1) as Command;
    const parsed = self.opts() as Record<string, string | boolean | undefined>;
    // commander keys values by camel-cased attribute; the commands read them by their --names.
    const options = Object.fromEntries(
      self.options.map((option) => [option.long!.slice(2), parsed[option.attributeName()]]),
    );
    const code = await command.run(invocation(options, self.args, io));
    (self as Command & { exitCode?: number }).exitCode = code;
  });
}

/** Every way a run can end other than its command's own code, as words or as JSON; never a stack. */
function report(error: unknown, io: CliIo, json: boolean, commandName: string | undefined): number {
  if (error instanceof CommanderError) {
    // --help, --version and the overview are answers, not failures.
    if (error.code === 'commander.helpDisplayed' || error.code === 'commander.version') return EXIT.clean;
    if (error.code === 'commander.help' || error.code === 'commander.executeSubCommandAsync') return EXIT.usage;
    const which =
      error.code === 'commander.unknownCommand' || commandName === undefined
        ? "'ledger --help' for the commands"
        : `'ledger ${commandName} --help' for the options`;
    return fail(io, json, 'usage', `${error.message.replace(/^error: /, '')}\nrun ${which}`, EXIT.usage);
  }
  if (error instanceof CorruptEventError) {
    // Evidence, not a usage error: the log holds a record the command will not work from.
    const message = `${error.message}\nrun 'ledger replay' to list every record that cannot be trusted`;
    return fail(io, json, 'event-corrupt', message, EXIT.findings);
  }
  const known = explain(error);
  if (known) return fail(io, json, known.code, known.message, EXIT.usage);
  const message = error instanceof Error ? error.message : String(error);
  return fail(io, json, 'internal', `unexpected failure: ${message}`, EXIT.failure);
}

/** The errors a user can act on, in words. */
function explain(error: unknown): { code: string; message: string } | undefined {
  if (error instanceof UsageError) return { code: 'usage', message: error.message };
  if (error instanceof StoreUnavailableError) {
    const message = `the event store became unavailable (${error.reason}): ${error.message}\ncheck the store and run the command again`;
    return { code: 'store-unavailable', message };
  }
  if (error instanceof NdjsonError) {
    const message = `${error.message}\nthe file is not a ledger export (one event a line, as written by 'ledger export')`;
    return { code: 'not-an-export', message };
  }
  const fsError = error as NodeJS.ErrnoException;
  if (typeof fsError?.code === 'string' && typeof fsError.path === 'string') {
    return { code: 'file', message: `cannot use ${fsError.path}: ${FILE_ERRORS[fsError.code] ?? fsError.code}` };
  }
  return undefined;
}

const FILE_ERRORS: Readonly<Record<string, string>> = {
  ENOENT: 'no such file or directory',
  EACCES: 'permission denied',
  EPERM: 'operation not permitted',
  EISDIR: 'it is a directory',
  ENOTDIR: 'a part of the path is not a directory',
  ENOSPC: 'no space left on the device',
  EROFS: 'the file system is read-only',
  EEXIST: 'it already exists',
};

function fail(io: CliIo, json: boolean, code: string, message: string, exit: number): number {
  const text = redactSecrets(message);
  if (json) io.stdout.write(`${toJson({ error: { code, message: text, exitCode: exit } })}\n`);
  else io.stderr.write(`ledger: ${text}\n`);
  return exit;
}

/** Runs the CLI on this process's arguments and streams; the exit code is left in process.exitCode. */
export async function runFromProcess(argv: readonly string[] = process.argv.slice(2)): Promise<void> {
  const io = { stdout: process.stdout, stderr: process.stderr, env: process.env };
  try {
    // exitCode, not exit(): stdout may still be draining into a pipe.
    process.exitCode = await main(argv, io);
  } catch (error) {
    // Never 0 or 1: a crash must not read as "clean" or as "findings".
    process.exitCode = fail(
      io,
      argv.includes('--json'),
      'internal',
      `unexpected failure: ${String(error)}`,
      EXIT.failure,
    );
  }
}

if (import.meta.url === pathToFileURL(process.argv[1] ?? '').href) await runFromProcess();
