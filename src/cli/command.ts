/**
 * What every `ledger` subcommand shares: its option table (from which the CLI entry declares it
 * to commander), the common --store/--json options, the exit codes, and usage errors that say what to do.
 */
import { existsSync } from 'node:fs';
import { ConfigSchema } from '../config.ts';
import { StoreUnavailableError } from '../eventstore/errors.ts';
import { openStore } from '../eventstore/open-store.ts';
import type { EventStore } from '../eventstore/port.ts';
import type { SqliteStoreOptions } from '../eventstore/sqlite-store.ts';
import type { StoreLocation } from '../eventstore/store-url.ts';
import { createOutput, type CliIo, type Output } from './output.ts';

/** 0 clean, 1 findings, 2 a usage or store error the user can act on, 3 a failure of the ledger itself. */
export const EXIT = { clean: 0, findings: 1, usage: 2, failure: 3 } as const;

/** A mistake in how the CLI was called, or a store it cannot use: exit 2 with what to do about it. */
export class UsageError extends Error {
  override readonly name = 'UsageError';
}

export interface OptionSpec {
  readonly type: 'string' | 'boolean';
  readonly description: string;
  /** Shown in --help as `--name <value>`. */
  readonly value?: string;
  readonly short?: string;
}

/** One run of a subcommand: its parsed arguments, where it writes, and the store it names. */
export interface CliInvocation {
  readonly options: Readonly<Record<string, string | boolean | undefined>>;
  readonly positionals: readonly string[];
  readonly out: Output;
  readonly io: CliIo;
  /** --store, else LEDGER_STORE, else the default: validated like the server's configuration. */
  readonly storeLocation: StoreLocation;
}

export interface CliCommand {
  /** One or two words: `replay`, `projections rebuild`. */
  readonly name: string;
  readonly summary: string;
  /** What follows the name in the usage line, e.g. `[name]`. */
  readonly arguments?: string;
  readonly options: Readonly<Record<string, OptionSpec>>;
  /** Paragraphs after the options in --help: exit codes, caveats. */
  readonly details?: string;
  /** False for commands that never touch a store (no --store in their help). */
  readonly usesStore?: boolean;
  run(context: CliInvocation): Promise<number>;
}

const COMMON: Readonly<Record<string, OptionSpec>> = {
  json: { type: 'boolean', description: 'machine-readable JSON on stdout, errors included (no progress bar)' },
};
const STORE: Readonly<Record<string, OptionSpec>> = {
  store: {
    type: 'string',
    value: 'url',
    description:
      'event store: sqlite:<path>, memory: or esdb://… (default: LEDGER_STORE, else sqlite:./data/ledger.db)',
  },
};

/** Options every subcommand takes besides its own; commander adds --help itself. */
export function allOptions(command: CliCommand): Record<string, OptionSpec> {
  return { ...(command.usesStore === false ? {} : STORE), ...command.options, ...COMMON };
}

/** A subcommand's run, from what commander parsed: option values keyed by their --names. */
export function invocation(
  options: Record<string, string | boolean | undefined>,
  positionals: readonly string[],
  io: CliIo,
): CliInvocation {
  const out = createOutput(io, options.json === true);
  const storeLocation = resolveStore(options.store as string | undefined, io.env);
  return { options, positionals, out, io, storeLocation };
}

function resolveStore(flag: string | undefined, env: NodeJS.ProcessEnv): StoreLocation {
  // An empty variable is an unset one (`LEDGER_STORE= ledger replay`), as shells treat it.
  const parsed = ConfigSchema.shape.LEDGER_STORE.safeParse(flag ?? (env.LEDGER_STORE || undefined));
  if (!parsed.success) {
    const from = flag !== undefined ? '--store' : 'LEDGER_STORE';
    throw new UsageError(
      `${from} ${JSON.stringify(flag ?? env.LEDGER_STORE)} ${parsed.error.issues[0]?.message ?? 'is invalid'}`,
    );
  }
  return parsed.data;
}

/**
 * Opens the store and proves it answers. `mustExist`: a SQLite path that does not exist is a
 * mistake (opening it would silently create an empty log and audit nothing).
 */
export async function openCliStore(location: StoreLocation, { mustExist, sqlite }: StoreOpening): Promise<EventStore> {
  if (mustExist && location.kind === 'sqlite' && !existsSync(location.path)) {
    throw new UsageError(`no event store at ${location.path}: pass --store sqlite:<path> or set LEDGER_STORE`);
  }
  let store: EventStore | undefined;
  try {
    store = await openStore(location, sqlite).catch((error: unknown) => {
      // A URL the driver refuses (an option it cannot parse) is the user's to fix, like one zod refuses.
      if (error instanceof StoreUnavailableError) throw error;
      throw new UsageError(
        `cannot open the event store at ${location.url}: ${error instanceof Error ? error.message : String(error)}`,
      );
    });
    await store.ping();
    return store;
  } catch (error) {
    await store?.close().catch(() => {});
    if (error instanceof StoreUnavailableError) {
      throw new UsageError(
        `cannot use the event store at ${location.url}: ${(error as Error).message}\ncheck that it is running and that --store or LEDGER_STORE points at it`,
      );
    }
    throw error;
  }
}

export interface StoreOpening {
  readonly mustExist: boolean;
  readonly sqlite?: SqliteStoreOptions;
}

/** Runs `work` with the store, closing it whatever happens. A boolean is short for { mustExist }. */
export async function withStore<T>(
  location: StoreLocation,
  opening: boolean | StoreOpening,
  work: (store: EventStore) => Promise<T>,
): Promise<T> {
  const store = await openCliStore(location, typeof opening === 'boolean' ? { mustExist: opening } : opening);
  try {
    return await work(store);
  } finally {
    await store.close();
  }
}

export function positionOption(value: string | boolean | undefined, name: string): bigint | undefined {
  if (value === undefined) return undefined;
  if (typeof value !== 'string' || !/^(0|[1-9][0-9]*)$/.test(value)) {
    throw new UsageError(`--${name} must be a global position (a non-negative integer), not ${JSON.stringify(value)}`);
  }
  return BigInt(value);
}

export function instantOption(value: string | boolean | undefined, name: string): Date | undefined {
  if (value === undefined) return undefined;
  const time = typeof value === 'string' && /^\d{4}-\d{2}-\d{2}/.test(value) ? Date.parse(value) : NaN;
  if (Number.isNaN(time)) {
    throw new UsageError(
      `--${name} must be an ISO 8601 time such as 2024-05-01T12:00:00Z, not ${JSON.stringify(value)}`,
    );
  }
  return new Date(time);
}

export function stringOption(value: string | boolean | undefined): string | undefined {
  return typeof value === 'string' ? value : undefined;
}

/** An input file option: checked up front, so a typo is a usage error and not a stack trace. */
export function inputFileOption(value: string | boolean | undefined, name: string): string | undefined {
  const path = stringOption(value);
  if (path !== undefined && !existsSync(path)) throw new UsageError(`--${name} ${path}: no such file`);
  return path;
}
