/**
 * `ledger replay` over a seeded log (1,000,000 events by default), beside the raw-scan ceiling
 * measured in the same run: rows read and their JSON parsed, nothing checked. Each side runs in
 * a child process of its own so its peak memory (maxRSS, worker threads included) is its own.
 * Target: the whole audit of 1 M events in under 20 s on a 2-core machine.
 *
 *   npx tsx bench/replay.ts                  BENCH_REPLAY_EVENTS=100000 npx tsx bench/replay.ts
 */
import { execFile } from 'node:child_process';
import { mkdirSync } from 'node:fs';
import { availableParallelism } from 'node:os';
import { fileURLToPath, pathToFileURL } from 'node:url';
import Database from 'better-sqlite3';
import { main } from '../src/cli/main.ts';
import { cachedLog } from './seed-log.ts';

export interface ReplayBenchOptions {
  readonly events?: number;
  readonly seed?: number;
  /** Audit worker threads (default: one per core, as `ledger replay` does). */
  readonly workers?: number;
}

export interface Measured {
  readonly seconds: number;
  readonly eventsPerSecond: number;
  /** CPU time of the whole child process (all its threads): unlike wall time, barely moved by other load on the machine. */
  readonly cpuSeconds: number;
  readonly maxRssMB: number;
}

export interface ReplayBenchResult {
  readonly events: number;
  readonly log: string;
  readonly cores: number;
  readonly scan: Measured;
  readonly audit: Measured & {
    readonly workers: number;
    readonly findings: number;
    readonly digest: string;
    readonly exitCode: number;
  };
  /** Audit throughput as a share of the raw scan's. */
  readonly ratio: number;
  readonly target: { readonly seconds: number; readonly met: boolean | 'n/a' };
}

const TARGET_SECONDS = 20;
const TARGET_EVENTS = 1_000_000;
const SELF = fileURLToPath(import.meta.url);

export async function run(options: ReplayBenchOptions = {}): Promise<ReplayBenchResult> {
  const events = options.events ?? Number(process.env.BENCH_REPLAY_EVENTS ?? TARGET_EVENTS);
  const workers = options.workers ?? Number(process.env.BENCH_REPLAY_WORKERS ?? availableParallelism());
  mkdirSync('.bench', { recursive: true });
  const started = performance.now();
  const { path, generated } = cachedLog(events, options.seed ?? 1);
  if (generated)
    console.log(`generated ${events} events into ${path} in ${((performance.now() - started) / 1000).toFixed(1)} s`);
  else console.log(`reusing ${path}`);

  const scan = JSON.parse(await child(['scan', path])) as Measured & { events: number };
  const audit = JSON.parse(await child(['audit', path, String(workers)])) as ReplayBenchResult['audit'];
  const result: ReplayBenchResult = {
    events,
    log: path,
    cores: availableParallelism(),
    scan: {
      seconds: scan.seconds,
      eventsPerSecond: scan.eventsPerSecond,
      cpuSeconds: scan.cpuSeconds,
      maxRssMB: scan.maxRssMB,
    },
    audit,
    ratio: audit.eventsPerSecond / scan.eventsPerSecond,
    target: { seconds: TARGET_SECONDS, met: events === TARGET_EVENTS ? audit.seconds < TARGET_SECONDS : 'n/a' },
  };
  const row = (label: string, m: Measured) =>
    `${label.padEnd(34)} ${m.seconds.toFixed(2).padStart(7)} s ${Math.round(m.eventsPerSecond).toLocaleString('en-US').padStart(10)} events/s ` +
    `${m.cpuSeconds.toFixed(1).padStart(6)} s CPU ${String(m.maxRssMB).padStart(6)} MB peak`;
  console.log(row('raw scan (read rows + JSON.parse)', result.scan));
  console.log(row(`ledger replay --workers ${workers}`, result.audit));
  console.log(
    `audit / raw scan: ${(result.ratio * 100).toFixed(0)} %; findings ${audit.findings}; exit ${audit.exitCode}`,
  );
  if (result.target.met !== 'n/a')
    console.log(`target: 1 M events in < ${TARGET_SECONDS} s: ${result.target.met ? 'met' : 'MISSED'}`);
  return result;
}

/** Runs this file in a child process in one of its measuring modes; resolves with its stdout. */
function child(args: readonly string[]): Promise<string> {
  return new Promise((resolve, reject) => {
    execFile(
      process.execPath,
      ['--import', 'tsx', SELF, '--child', ...args],
      { maxBuffer: 16 * 1024 * 1024 },
      (error, stdout, stderr) => {
        if (error) reject(new Error(`${args[0]} child failed: ${stderr || error.message}`));
        else resolve(stdout);
      },
    );
  });
}

const maxRssMB = () => Math.round(process.resourceUsage().maxRSS / 1024);
const cpuSince = (start: NodeJS.CpuUsage) => {
  const used = process.cpuUsage(start);
  return (used.user + used.system) / 1e6;
};

/** The ceiling: every row in position order, its data and metadata parsed, nothing else. */
function scanChild(path: string): void {
  const db = new Database(path, { readonly: true });
  const cpu = process.cpuUsage();
  const started = performance.now();
  let events = 0;
  for (const row of db
    .prepare('SELECT position, id, stream, revision, type, data, metadata, created_at FROM events ORDER BY position')
    .iterate() as Iterable<{
    data: string;
    metadata: string;
  }>) {
    JSON.parse(row.data);
    JSON.parse(row.metadata);
    events += 1;
  }
  const seconds = (performance.now() - started) / 1000;
  db.close();
  process.stdout.write(
    JSON.stringify({
      events,
      seconds,
      eventsPerSecond: events / seconds,
      cpuSeconds: cpuSince(cpu),
      maxRssMB: maxRssMB(),
    }),
  );
}

/** The real `ledger replay --json`, in this process, timed from the command line's start to its report. */
async function auditChild(path: string, workers: string): Promise<void> {
  let stdout = '';
  const cpu = process.cpuUsage();
  const started = performance.now();
  const exitCode = await main(['replay', '--store', `sqlite:${path}`, '--json', '--workers', workers], {
    stdout: { write: (text: string) => (stdout += text) },
    stderr: process.stderr,
    env: process.env,
  });
  const seconds = (performance.now() - started) / 1000;
  const report = JSON.parse(stdout) as { counts: { events: number }; findings: { total: number }; digest: string };
  process.stdout.write(
    JSON.stringify({
      seconds,
      eventsPerSecond: report.counts.events / seconds,
      cpuSeconds: cpuSince(cpu),
      maxRssMB: maxRssMB(),
      workers: Number(workers),
      findings: report.findings.total,
      digest: report.digest,
      exitCode,
    }),
  );
}

if (import.meta.url === pathToFileURL(process.argv[1] ?? '').href) {
  const [flag, mode, path, workers] = process.argv.slice(2);
  if (flag === '--child' && mode === 'scan' && path) scanChild(path);
  else if (flag === '--child' && mode === 'audit' && path) await auditChild(path, workers ?? '0');
  else await run();
}
