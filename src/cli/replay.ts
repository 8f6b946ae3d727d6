/**
 * `ledger replay`: audit the log (a store, or an export with --from-file) and report counts,
 * sums, findings and the log's digest; with --compare-live, also rebuild the projections and
 * diff them against the live read models. Exit 0 clean, 1 findings or differences, 2 usage.
 */
import { availableParallelism } from 'node:os';
import { ORDER_STATUSES } from '../../projections/order-status.ts';
import { ConfigSchema } from '../config.ts';
import { audit, type AuditReport } from '../audit/audit.ts';
import { compareLive, LiveReadModelsMissingError, type LiveComparison } from '../audit/compare-live.ts';
import type { FindingSummary } from '../audit/findings.ts';
import type { LogScope, LogSource } from '../audit/source.ts';
import { readModelLocation } from '../projections/database.ts';
import type { ReadModelLocation } from '../projections/read-model-store.ts';
import type { EventStore } from '../eventstore/port.ts';
import {
  EXIT,
  UsageError,
  inputFileOption,
  instantOption,
  positionOption,
  stringOption,
  withStore,
  type CliCommand,
  type CliInvocation,
  type OptionSpec,
} from './command.ts';

/** The options that choose what log is audited; `ledger report` takes the same. */
export const AUDIT_OPTIONS: Readonly<Record<string, OptionSpec>> = {
  'from-file': {
    type: 'string',
    value: 'file.ndjson',
    description: 'audit an export (ledger export) instead of a store',
  },
  'to-position': { type: 'string', value: 'P', description: 'only the log up to global position P' },
  'as-of': {
    type: 'string',
    value: 'time',
    description: 'the state as it was at this ISO time (by metadata.recordedAt)',
  },
  workers: {
    type: 'string',
    value: 'n',
    description: 'threads that decode and re-hash events (default: one per core; 0: none)',
  },
  'pending-longer-than': {
    type: 'string',
    value: 'duration',
    description: 'list payment requests still without an outcome after this long, e.g. 15m (default 1h)',
  },
};

export interface ReplayReport extends AuditReport {
  readonly comparison?: LiveComparison;
}

/** Runs the audit the options describe; the store (if any) is handed to `more` before it is closed. */
export async function auditFromOptions(
  context: CliInvocation,
  more?: (store: EventStore) => Promise<Partial<ReplayReport>>,
): Promise<ReplayReport> {
  const { options, out } = context;
  const scope: LogScope = {
    toPosition: positionOption(options['to-position'], 'to-position'),
    asOf: instantOption(options['as-of'], 'as-of'),
  };
  const workers = workersOption(options.workers);
  const file = inputFileOption(options['from-file'], 'from-file');
  if (file !== undefined && more)
    throw new UsageError('--compare-live needs a store with live read models, not --from-file');
  const progress = out.progress(file ? 'Auditing export' : 'Auditing log');
  const pendingLongerThanMs = durationOption(options['pending-longer-than'], 'pending-longer-than');
  const run = (source: LogSource) =>
    audit({
      source,
      scope,
      workers,
      onProgress: progress.update,
      ...(pendingLongerThanMs !== undefined && { pendingLongerThanMs }),
    }).finally(() => progress.stop());
  if (file !== undefined) return run({ kind: 'file', path: file });
  return withStore(context.storeLocation, true, async (store) => {
    const report = await run({ kind: 'store', store, location: context.storeLocation });
    return { ...report, ...(await more?.(store)) };
  });
}

export const replayCommand: CliCommand = {
  name: 'replay',
  summary:
    'Audit the event log: schemas, revisions, hash chains, ids, payments and totals; report counts, sums, findings and the digest.',
  options: {
    ...AUDIT_OPTIONS,
    'compare-live': {
      type: 'boolean',
      description:
        'also rebuild every projection into a scratch database and diff it with the live read models; ' +
        'a live projection stopped by a failing handler is a finding',
    },
    'read-models': {
      type: 'string',
      value: 'path',
      description:
        'live read-model database for --compare-live (default: the sqlite: event file, else LEDGER_READ_MODELS)',
    },
  },
  details: [
    'exit codes: 0 clean, 1 findings (or read-model differences), 2 usage or store errors.',
    '',
    'The digest: SHA-256 over every stream, in stream-name order, of a chain folded over its events, each link',
    "made of the event's id, the hash recomputed from its stored content and its stored hash. Two audits give",
    'the same digest exactly when they saw the same streams holding the same events (ids and content) in the same',
    'order, whatever the stored hashes say: an event edited, inserted, reordered or removed changes it. Positions',
    'and store times are not part of it, so an export, and an import of that export, keep the digest.',
    '',
    'What it cannot tell by itself is what the log should hold: a log cut short, or missing a whole stream,',
    'audits clean with a digest of its own. Detecting that needs a record kept outside the ledger: write down',
    "the digest and the last position of an audit; later, 'ledger replay --to-position <that position>' must",
    'show the same digest and the same last position, else something at or before it was changed or removed.',
  ].join('\n'),
  async run(context) {
    const compare = context.options['compare-live'] === true;
    if (compare && (context.options['to-position'] !== undefined || context.options['as-of'] !== undefined)) {
      throw new UsageError(
        '--compare-live compares with the live read models, which reflect the whole log: drop --to-position and --as-of',
      );
    }
    const report = await auditFromOptions(
      context,
      compare ? (store) => compareWith(store, liveReadModels(context)) : undefined,
    );
    context.out.result(report, () => formatReport(report));
    return report.findings.total > 0 || hasComparisonFindings(report.comparison) ? EXIT.findings : EXIT.clean;
  },
};

/** Where the server keeps its read models for this store, unless --read-models says otherwise. */
function liveReadModels(context: CliInvocation): ReadModelLocation {
  return (
    stringOption(context.options['read-models']) ??
    readModelLocation(
      context.storeLocation,
      ConfigSchema.shape.LEDGER_READ_MODELS.parse(context.io.env.LEDGER_READ_MODELS),
    )
  );
}

async function compareWith(store: EventStore, readModels: ReadModelLocation): Promise<{ comparison: LiveComparison }> {
  if (readModels === ':memory:') throw new UsageError('a memory: store keeps no live read models to compare with');
  try {
    return { comparison: await compareLive({ store, readModels }) };
  } catch (error) {
    if (error instanceof LiveReadModelsMissingError)
      throw new UsageError(`${error.message}\npass --read-models <path> to name the live read-model database`);
    throw error;
  }
}

/** Milliseconds, or a number with s, m or h. */
function durationOption(value: string | boolean | undefined, name: string): number | undefined {
  if (value === undefined) return undefined;
  const match = typeof value === 'string' ? /^(\d{1,12})(ms|s|m|h)?$/.exec(value) : null;
  if (!match) throw new UsageError(`--${name} must be a duration such as 90s, 15m or 2h, not ${JSON.stringify(value)}`);
  const unit = { ms: 1, s: 1_000, m: 60_000, h: 3_600_000 }[match[2] ?? 'ms']!;
  return Number(match[1]) * unit;
}

function workersOption(value: string | boolean | undefined): number {
  if (value === undefined) return availableParallelism();
  if (typeof value !== 'string' || !/^\d{1,2}$/.test(value))
    throw new UsageError(`--workers must be a small non-negative integer, not ${JSON.stringify(value)}`);
  return Number(value);
}

const MAX_PRINTED = 50;

export function formatReport(report: ReplayReport): string {
  const { counts, findings } = report;
  const n = (value: number | string) => BigInt(value).toLocaleString('en-US');
  const lines = [
    `Audited ${report.source}${report.scope.toPosition ? ` up to position ${report.scope.toPosition}` : ''}${report.scope.asOf ? ` as of ${report.scope.asOf}` : ''}`,
    `  ${n(counts.events)} events in ${n(counts.streams)} streams, last position ${report.lastPosition ?? '-'}` +
      (counts.eventsAfterAsOf > 0 ? ` (${n(counts.eventsAfterAsOf)} later events left out)` : ''),
    `  orders: ${ORDER_STATUSES.map((status) => `${n(counts.orders[status])} ${status.replace('_', ' ')}`).join(', ')}`,
    keyLine(report.keys, n),
    ...paymentLines(report.paymentRequests, n),
    ...Object.entries(report.currencies).map(
      ([code, c]) =>
        `  ${code}: ordered ${n(c.ordered)} in ${n(c.orders)} orders, captured ${n(c.captured)} in ${n(c.payments)} ` +
        `payments, refunded ${n(c.refunded)} in ${n(c.refunds)} refunds, net ${n(c.net)} (minor units)`,
    ),
    `  digest ${report.digest}`,
    `  ${report.timing.seconds.toFixed(2)} s, ${n(report.timing.eventsPerSecond)} events/s`,
  ];
  if (findings.total === 0) lines.push('No findings.');
  else lines.push(...formatFindings(findings));
  if (report.comparison) lines.push(...formatComparison(report.comparison));
  return lines.join('\n');
}

/** A pending binding is a crash between reservation and effect: the key's retry completes it. */
function keyLine(keys: ReplayReport['keys'], n: (value: number) => string): string {
  const pending =
    keys.pending > 0 ? `, ${n(keys.pending)} pending (effect not written yet; the key's retry writes it)` : '';
  const legacy = keys.legacyKeyedEvents > 0 ? `, ${n(keys.legacyKeyedEvents)} keyed events from before bindings` : '';
  return `  Idempotency-Key bindings: ${n(keys.bindings)}${pending}${legacy}`;
}

/** Requests pending too long are for an operator to look at; being pending is no finding. */
function paymentLines(requests: ReplayReport['paymentRequests'], n: (value: number) => string): string[] {
  if (requests.requested === 0) return [];
  const late = requests.pendingTooLong;
  const lines = [
    `  payment requests through the PSP: ${n(requests.requested)}, ${n(requests.pending)} pending` +
      (late.length > 0 ? `, ${n(late.length)} of them pending too long:` : ''),
  ];
  for (const r of late.slice(0, MAX_PRINTED)) {
    lines.push(`    ${r.orderId}/${r.paymentId}  ${r.amount} minor units, requested ${r.requestedAt}`);
  }
  return lines;
}

export function formatFindings(findings: FindingSummary): string[] {
  const codes = Object.entries(findings.byCode).map(([code, count]) => `${code} ×${count}`);
  const lines = [`${findings.total} finding(s): ${codes.join(', ')}`];
  for (const f of findings.listed.slice(0, MAX_PRINTED))
    lines.push(`  ${f.code}  ${f.stream}@${f.revision} (position ${f.position}): ${f.message}`);
  if (findings.total > MAX_PRINTED)
    lines.push(`  … ${findings.total - MAX_PRINTED} more (--json lists up to ${findings.listed.length})`);
  return lines;
}

/** Differences, a projection that could not be rebuilt, or a live one stopped by its handler. */
function hasComparisonFindings(comparison: LiveComparison | undefined): boolean {
  if (!comparison) return false;
  return comparison.total > 0 || comparison.failures.length > 0 || comparison.liveFailures.length > 0;
}

function formatComparison(comparison: LiveComparison): string[] {
  const lines = [`Live read models (${comparison.readModels}):`];
  for (const f of comparison.liveFailures) {
    const where = `${f.stream}@${f.revision} (position ${f.position})`;
    lines.push(`  live ${f.projection} is failed: stopped at ${where}: ${f.message}`);
  }
  const failed = new Set(comparison.liveFailures.map((f) => f.projection));
  for (const p of comparison.projections) {
    const verdict = p.differences === 0 ? 'identical' : `${p.differences} difference(s)`;
    const stopped = failed.has(p.name) ? ' up to where it stopped (failed)' : '';
    lines.push(`  ${p.name} at position ${p.position ?? '-'}: ${verdict}${stopped}`);
  }
  for (const f of comparison.failures)
    lines.push(
      `  rebuild of ${f.projection} failed at ${f.stream}@${f.revision} (position ${f.position}): ${f.message}`,
    );
  for (const d of comparison.differences.slice(0, MAX_PRINTED)) {
    lines.push(
      `  ${d.projection} ${d.collection}/${d.key} ${d.field}: live ${JSON.stringify(d.live) ?? 'absent'}, replayed ${JSON.stringify(d.replayed) ?? 'absent'}`,
    );
  }
  if (comparison.total > MAX_PRINTED)
    lines.push(
      `  … ${comparison.total - MAX_PRINTED} more differences (--json lists up to ${comparison.differences.length})`,
    );
  return lines;
}
