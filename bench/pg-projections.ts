/**
 * Rebuild of every projection into PostgreSQL read models beside the same rebuild into SQLite
 * read models in memory, from the same decoded events held in memory (so neither pays for reading
 * the log), alternating, in the same run: events/s and the ratio.
 *
 *   npm run bench -- pg-projections      LEDGER_BENCH_EVENTS (default 50,000), LEDGER_BENCH_ROUNDS (default 2)
 */
import Database from 'better-sqlite3';
import { openSqliteStore } from '../src/eventstore/sqlite-store.ts';
import { decodeEvent, type LedgerEvent } from '../src/events/codec.ts';
import { rebuildInto } from '../src/projections/rebuild.ts';
import { createScratchDatabase } from '../test/support/postgres.ts';
import { cachedLog } from './seed-log.ts';
import { fmt, ratio } from './support.ts';

export async function run(): Promise<unknown> {
  const count = Number(process.env.LEDGER_BENCH_EVENTS ?? 50_000);
  const rounds = Number(process.env.LEDGER_BENCH_ROUNDS ?? 2);
  const log = cachedLog(200_000);
  const store = openSqliteStore(log.path);
  const events: LedgerEvent[] = [];
  try {
    for await (const record of store.readAll({ maxCount: count })) events.push(decodeEvent(record));
  } finally {
    await store.close();
  }
  const timed = async (work: () => Promise<unknown>) => {
    const started = performance.now();
    await work();
    return events.length / ((performance.now() - started) / 1000);
  };
  const results = [];
  for (let round = 1; round <= rounds; round++) {
    const db = new Database(':memory:');
    const sqlite = await timed(() => rebuildInto(db, events));
    db.close();
    const scratch = await createScratchDatabase();
    try {
      const postgres = await timed(() => rebuildInto({ postgres: scratch.url }, events, { batchSize: 1_000 }));
      console.log(
        `round ${round}: ${fmt(events.length)} events; SQLite (memory) ${fmt(sqlite)}/s, PostgreSQL ${fmt(postgres)}/s, ${ratio(postgres, sqlite)}`,
      );
      results.push({ sqlite, postgres, ratio: postgres / sqlite });
    } finally {
      await scratch.drop();
    }
  }
  return { events: events.length, rounds: results };
}
