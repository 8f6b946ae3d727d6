/**
 * Rebuild of every projection from position 0 over a SQLite log, beside a raw scan of the same
 * events (read every row + JSON.parse) in the same run: events/s, the ratio, and peak memory.
 * The rebuild runs in a child process so its peak RSS (resourceUsage().maxRSS) is its own, and
 * RSS is sampled at 10 %, 50 % and 100 % of the log to show whether memory grows with it.
 *
 *   npx tsx bench/projections.ts [events] [--batch N] [--same-file]
 *
 * The log comes from bench/seed-log.ts (cached under .bench/, generated on first use).
 */
import { execFileSync } from 'node:child_process';
import { copyFileSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import Database from 'better-sqlite3';
import { openSqliteStore } from '../src/eventstore/sqlite-store.ts';
import { startProjections } from '../src/projections/service.ts';
import { cachedLog } from './seed-log.ts';

export interface ProjectionsBenchOptions {
  readonly events?: number;
  /** Events per transaction during the rebuild (default: the runner's rebuild default). */
  readonly batchSize?: number;
  /** Rebuild into a copy of the event file, as `sqlite:` runs; default: a read-model file of its own. */
  readonly sameFile?: boolean;
}

export interface RebuildFigures {
  readonly events: number;
  readonly seconds: number;
  readonly eventsPerSecond: number;
  readonly maxRssMb: number;
  /** RSS when 10 %, 50 % and 100 % of the log had been applied: flat means memory does not grow with the log. */
  readonly rssMbAt: Record<string, number>;
}

export interface ProjectionsBenchResult {
  readonly events: number;
  readonly seedSeconds: number;
  readonly rawScan: { readonly seconds: number; readonly eventsPerSecond: number };
  readonly rebuild: RebuildFigures;
  /** rebuild events/s ÷ raw scan events/s (target ≥ 0.5). */
  readonly ratio: number;
}

export async function run(options: ProjectionsBenchOptions = {}): Promise<ProjectionsBenchResult> {
  const events = options.events ?? Number(process.env.BENCH_EVENTS ?? 1_000_000);
  const batchSize = options.batchSize ?? 0;
  const seedStart = performance.now();
  const log = cachedLog(events);
  const seedSeconds = log.generated ? (performance.now() - seedStart) / 1000 : 0;
  console.log(`log: ${log.path} (${log.generated ? `generated in ${seedSeconds.toFixed(1)} s` : 'cached'})`);

  const rawScan = scan(log.path);
  console.log(
    `raw scan: ${events} events in ${rawScan.seconds.toFixed(2)} s = ${Math.round(rawScan.eventsPerSecond)} events/s`,
  );

  const dir = mkdtempSync(join(tmpdir(), 'ledger-bench-projections-'));
  try {
    let logPath = log.path;
    let readModels = join(dir, 'read-models.db');
    if (options.sameFile) {
      logPath = readModels = join(dir, 'ledger.db');
      copyFileSync(log.path, logPath);
    }
    // A child process: its maxRSS is the rebuild's alone, not the raw scan's or the seeder's.
    const output = execFileSync(
      process.execPath,
      [
        '--import',
        'tsx',
        fileURLToPath(import.meta.url),
        '--child',
        logPath,
        readModels,
        String(batchSize),
        String(events),
      ],
      { encoding: 'utf8', stdio: ['ignore', 'pipe', 'inherit'], maxBuffer: 1 << 20 },
    );
    const rebuild = JSON.parse(output.trim().split('\n').pop()!) as RebuildFigures;
    const ratio = rebuild.eventsPerSecond / rawScan.eventsPerSecond;
    console.log(
      `rebuild: ${rebuild.events} events in ${rebuild.seconds.toFixed(2)} s = ${Math.round(rebuild.eventsPerSecond)} events/s ` +
        `(${(ratio * 100).toFixed(0)} % of the raw scan); peak RSS ${rebuild.maxRssMb} MB; RSS at ${JSON.stringify(rebuild.rssMbAt)}`,
    );
    return { events, seedSeconds, rawScan, rebuild, ratio };
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

/** The baseline: every row read and its JSON parsed, nothing else. */
function scan(path: string): { seconds: number; eventsPerSecond: number } {
  const db = new Database(path, { readonly: true });
  try {
    const started = performance.now();
    let count = 0;
    for (const row of db.prepare('SELECT * FROM events ORDER BY position').safeIntegers(true).iterate() as Iterable<{
      data: string;
      metadata: string;
    }>) {
      JSON.parse(row.data);
      JSON.parse(row.metadata);
      count += 1;
    }
    const seconds = (performance.now() - started) / 1000;
    return { seconds, eventsPerSecond: count / seconds };
  } finally {
    db.close();
  }
}

/** In the child: rebuild every projection from position 0 through the real runner and report. */
async function rebuildChild(
  logPath: string,
  readModels: string,
  batchSize: number,
  expected: number,
): Promise<RebuildFigures> {
  const store = openSqliteStore(logPath);
  const marks = new Map([
    [0.1, '10%'],
    [0.5, '50%'],
    [1, '100%'],
  ]);
  const rssMbAt: Record<string, number> = {};
  let applied = 0;
  const started = performance.now();
  const projections = await startProjections({
    store,
    readModels,
    mode: 'rebuild',
    ...(batchSize > 0 && { batchSize }),
    afterBatch: ({ events }) => {
      applied += events;
      for (const [share, label] of marks) {
        if (applied >= share * expected && !(label in rssMbAt)) rssMbAt[label] = mb(process.memoryUsage().rss);
      }
    },
  });
  await projections.runner.done;
  const seconds = (performance.now() - started) / 1000;
  await projections.close();
  await store.close();
  return {
    events: applied,
    seconds,
    eventsPerSecond: applied / seconds,
    maxRssMb: mb(process.resourceUsage().maxRSS * 1024),
    rssMbAt,
  };
}

const mb = (bytes: number): number => Math.round(bytes / 1024 / 1024);

if (import.meta.url === pathToFileURL(process.argv[1] ?? '').href) {
  const args = process.argv.slice(2);
  if (args[0] === '--child') {
    const [, logPath, readModels, batch, expected] = args;
    console.log(JSON.stringify(await rebuildChild(logPath!, readModels!, Number(batch), Number(expected))));
  } else {
    const flag = (name: string) => {
      const at = args.indexOf(name);
      return at >= 0 ? args[at + 1] : undefined;
    };
    const events = args[0] !== undefined && /^\d+$/.test(args[0]) ? Number(args[0]) : undefined;
    const batch = flag('--batch');
    const result = await run({
      ...(events !== undefined && { events }),
      ...(batch !== undefined && { batchSize: Number(batch) }),
      sameFile: args.includes('--same-file'),
    });
    console.log(JSON.stringify(result, null, 2));
  }
}
