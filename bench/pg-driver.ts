/**
 * Which PostgreSQL driver, and whether group commit pays: the same workload (appends with an
 * expected revision, through the store's own append function, three per stream: no_stream, 0, 1)
 * sequentially and 64 at a time, with `pg` and with `postgres` (porsager), then through the store
 * itself with and without group commit, all in one run on one server, each on a scratch database.
 * Both drivers get the same pool size and prepared statements; synchronous_commit is on throughout.
 */
import { pathToFileURL } from 'node:url';
import pg from 'pg';
import postgres from 'postgres';
import { openPgStore, pgConnectionConfig } from '../src/eventstore/pg-store.ts';
import type { EventToAppend } from '../src/eventstore/port.ts';
import { withScratchDatabase } from '../test/support/postgres.ts';
import { orderCreated } from './append.ts';
import { fmt, perSecond, ratio } from './support.ts';

/** Connections per pool: the same for every variant, and modest (the server is shared). */
const POOL = 16;
const APPENDS_PER_STREAM = 3;

/** Sends one batch and answers its outcomes' text. */
type Append = (batch: string) => Promise<string>;

/** A raw append that was refused would make its variant look fast: every outcome is checked. */
function assertAppended(outcomes: string): void {
  if (!outcomes.startsWith('[{"ok": true')) throw new Error(`append refused: ${outcomes}`);
}

interface Driver {
  readonly append: Append;
  end(): Promise<void>;
}

/** The batch text of one append: one unit, one write, as the store sends it. */
function batchOf(streamId: string, event: EventToAppend, expected: bigint): string {
  const events = [{ id: event.id, type: event.type, data: JSON.stringify(event.data), metadata: '{}' }];
  return JSON.stringify([[{ stream: streamId, expected: expected.toString(), events }]]);
}

/** `count` appends, `concurrency` at a time; each worker owns its streams, so no append conflicts. */
async function rate(
  append: (streamId: string, event: EventToAppend, expected: bigint) => Promise<unknown>,
  count: number,
  concurrency: number,
) {
  const streams = Math.ceil(count / APPENDS_PER_STREAM);
  let next = 0;
  const started = process.hrtime.bigint();
  await Promise.all(
    Array.from({ length: concurrency }, async () => {
      while (next < streams) {
        const i = next++;
        for (let r = 0; r < APPENDS_PER_STREAM; r++) {
          const { event } = orderCreated(i * APPENDS_PER_STREAM + r);
          await append(`order-bench-${i}`, event, BigInt(r) - 1n);
        }
      }
    }),
  );
  return perSecond(streams * APPENDS_PER_STREAM, started);
}

const drivers: Record<string, (url: string, pool: number) => Driver> = {
  pg(url, max) {
    const pool = new pg.Pool({ ...pgConnectionConfig(url), max });
    pool.on('error', () => {});
    return {
      append: async (batch) =>
        (await pool.query({ name: 'append', text: 'SELECT ledger_append($1::jsonb)::text AS o', values: [batch] }))
          .rows[0].o,
      end: () => pool.end(),
    };
  },
  postgres(url, max) {
    const sql = postgres(url, { max, connection: { synchronous_commit: 'on' }, onnotice: () => {} });
    return {
      append: async (batch) => (await sql`SELECT ledger_append(${batch}::text::jsonb)::text AS o`)[0]!.o,
      end: () => sql.end(),
    };
  },
};

async function driverRate(name: string, count: number, concurrency: number): Promise<number> {
  return withScratchDatabase(async ({ url }) => {
    await (await openPgStore(url)).close(); // creates the schema
    const driver = drivers[name]!(url, concurrency === 1 ? 1 : POOL);
    try {
      return await rate(async (s, e, x) => assertAppended(await driver.append(batchOf(s, e, x))), count, concurrency);
    } finally {
      await driver.end();
    }
  });
}

async function storeRate(count: number, concurrency: number, groupCommit: boolean): Promise<number> {
  return withScratchDatabase(async ({ url }) => {
    const store = await openPgStore(url, { poolSize: POOL, groupCommit });
    try {
      return await rate((s, e, x) => store.append(s, [e], x < 0n ? 'no_stream' : x), count, concurrency);
    } finally {
      await store.close();
    }
  });
}

export interface PgDriverFigures {
  readonly pgSequential: number;
  readonly postgresSequential: number;
  readonly pg64: number;
  readonly postgres64: number;
  readonly storeGroupCommit64: number;
  readonly storeOneCommitEach64: number;
  readonly storeSequential: number;
}

/** Each variant runs this often, the rounds interleaved, and keeps its best: load on a shared machine drifts. */
const ROUNDS = 2;

export async function run(options: { appends?: number; rounds?: number } = {}): Promise<PgDriverFigures> {
  const many = options.appends ?? 6_000;
  const few = Math.min(many, 900);
  const variants: Record<keyof PgDriverFigures, () => Promise<number>> = {
    pgSequential: () => driverRate('pg', few, 1),
    postgresSequential: () => driverRate('postgres', few, 1),
    pg64: () => driverRate('pg', many, 64),
    postgres64: () => driverRate('postgres', many, 64),
    storeSequential: () => storeRate(few, 1, true),
    storeOneCommitEach64: () => storeRate(many, 64, false),
    storeGroupCommit64: () => storeRate(many, 64, true),
  };
  const best = Object.fromEntries(Object.keys(variants).map((k) => [k, 0])) as Record<keyof PgDriverFigures, number>;
  for (let round = 0; round < (options.rounds ?? ROUNDS); round++) {
    const order = Object.keys(variants) as (keyof PgDriverFigures)[];
    if (round % 2 === 1) order.reverse();
    for (const name of order) best[name] = Math.max(best[name], await variants[name]());
  }
  const figures: PgDriverFigures = best;
  console.log(`appends/s with expected revisions (PostgreSQL, synchronous_commit=on, pool ${POOL}, best of rounds)`);
  console.table({
    'pg, sequential': { 'appends/s': fmt(figures.pgSequential) },
    'postgres, sequential': { 'appends/s': fmt(figures.postgresSequential) },
    'pg, 64 concurrent': { 'appends/s': fmt(figures.pg64) },
    'postgres, 64 concurrent': { 'appends/s': fmt(figures.postgres64) },
    'store (pg), sequential': { 'appends/s': fmt(figures.storeSequential) },
    'store (pg), 64 concurrent, one commit each': { 'appends/s': fmt(figures.storeOneCommitEach64) },
    'store (pg), 64 concurrent, group commit': { 'appends/s': fmt(figures.storeGroupCommit64) },
  });
  console.log(
    `postgres / pg: sequential ${ratio(figures.postgresSequential, figures.pgSequential)}, ` +
      `64 concurrent ${ratio(figures.postgres64, figures.pg64)}`,
  );
  console.log(
    `group commit / one commit each (64 concurrent): ${ratio(figures.storeGroupCommit64, figures.storeOneCommitEach64)}`,
  );
  return figures;
}

if (import.meta.url === pathToFileURL(process.argv[1] ?? '').href) await run();
