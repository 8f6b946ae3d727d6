/**
 * The ledger's PostgreSQL store beside a peer, Emmett's PostgreSQL event store
 * (@event-driven-io/emmett-postgresql 0.42.0), on one server in one run, each contender in its own
 * scratch database. The workload is the same for both: N appends of one OrderCreated event (the
 * ledger's bytes, data and metadata), each to a stream of its own and carrying its expected
 * version (the stream must not exist yet: the ledger's `no_stream`, Emmett's version 0), first one
 * at a time, then 64 at once. Rounds alternate which contender goes first; each figure is the
 * median of its rounds, and only ratios measured in this run mean anything (the machine is shared).
 *
 * Both use a pool of 10 connections (the ledger's default, and node-postgres's, which Emmett keeps).
 *
 *   npm run bench -- pg-peer            PG_URL=postgres://… picks the server
 */
import { pathToFileURL } from 'node:url';
import { getPostgreSQLEventStore } from '@event-driven-io/emmett-postgresql';
import { openPgStore } from '../src/eventstore/pg-store.ts';
import { PG_ADMIN_URL, withScratchDatabase } from '../test/support/postgres.ts';
import { orderCreated } from './append.ts';
import { fmt, perSecond, ratio } from './support.ts';

/** One store under test: appends the i-th event of the workload to its own stream. */
interface Appender {
  append(i: number): Promise<void>;
  close(): Promise<void>;
}

interface Contender {
  readonly name: string;
  open(url: string): Promise<Appender>;
}

const emmett: Contender = {
  name: 'emmett-postgresql 0.42.0',
  async open(url) {
    const store = getPostgreSQLEventStore(url);
    return {
      async append(i) {
        const { streamId, event } = orderCreated(i);
        const result = await store.appendToStream(
          streamId,
          [{ type: event.type, data: event.data, metadata: event.metadata }],
          {
            expectedStreamVersion: 0n,
          },
        );
        if (result.nextExpectedStreamVersion !== 1n)
          throw new Error(`emmett: unexpected version ${result.nextExpectedStreamVersion}`);
      },
      close: () => store.close(),
    };
  },
};

const ledger: Contender = {
  name: 'ledger pg store',
  async open(url) {
    const store = await openPgStore(url);
    return {
      async append(i) {
        const { streamId, event } = orderCreated(i);
        const result = await store.append(streamId, [event], 'no_stream');
        if (result.nextExpectedRevision !== 0n || result.duplicate)
          throw new Error(`ledger: unexpected result ${result.nextExpectedRevision}`);
      },
      close: () => store.close(),
    };
  },
};

/** The first is the baseline the others are compared with. */
export const CONTENDERS: Contender[] = [emmett, ledger];

/** Appends/s of `total` appends at `concurrency`, after a warm-up that creates the schema and the pool. */
async function rate(appender: Appender, offset: number, total: number, concurrency: number): Promise<number> {
  let next = 0;
  const started = process.hrtime.bigint();
  await Promise.all(
    Array.from({ length: concurrency }, async () => {
      while (next < total) await appender.append(offset + next++);
    }),
  );
  return perSecond(total, started);
}

async function measure(contender: Contender, sequential: number, concurrent: number) {
  return withScratchDatabase(async ({ url }) => {
    const appender = await contender.open(url);
    try {
      // Warm-up: the schema, the prepared statements and a full pool exist before the clock starts.
      await rate(appender, 10_000_000, 128, 64);
      return {
        concurrency1: await rate(appender, 0, sequential, 1),
        concurrency64: await rate(appender, sequential, concurrent, 64),
      };
    } finally {
      await appender.close();
    }
  });
}

const median = (values: number[]) => [...values].sort((a, b) => a - b)[Math.floor(values.length / 2)]!;

export interface PeerFigures {
  readonly server: string;
  readonly rounds: number;
  readonly appends: { readonly sequential: number; readonly concurrent: number };
  /** Median appends/s per contender. */
  readonly results: Record<string, { concurrency1: number; concurrency64: number }>;
}

export async function run(
  options: { sequential?: number; concurrent?: number; rounds?: number; contenders?: Contender[] } = {},
): Promise<PeerFigures> {
  const sequential = options.sequential ?? Number(process.env.LEDGER_BENCH_SEQUENTIAL ?? 1_000);
  const concurrent = options.concurrent ?? Number(process.env.LEDGER_BENCH_CONCURRENT ?? 5_000);
  const rounds = options.rounds ?? Number(process.env.LEDGER_BENCH_ROUNDS ?? 3);
  const contenders = options.contenders ?? CONTENDERS;
  const samples = new Map(
    contenders.map((c) => [c.name, { concurrency1: [] as number[], concurrency64: [] as number[] }]),
  );
  for (let round = 0; round < rounds; round++) {
    const order = round % 2 === 0 ? contenders : [...contenders].reverse();
    for (const contender of order) {
      const figures = await measure(contender, sequential, concurrent);
      const kept = samples.get(contender.name)!;
      kept.concurrency1.push(figures.concurrency1);
      kept.concurrency64.push(figures.concurrency64);
      console.log(
        `round ${round + 1} ${contender.name}: c1 ${fmt(figures.concurrency1)}/s, c64 ${fmt(figures.concurrency64)}/s`,
      );
    }
  }
  const results = Object.fromEntries(
    [...samples].map(([name, s]) => [
      name,
      { concurrency1: median(s.concurrency1), concurrency64: median(s.concurrency64) },
    ]),
  );
  console.log(`appends/s, median of ${rounds} rounds (one event per append, a new stream each, expected version)`);
  console.table(
    Object.fromEntries(
      Object.entries(results).map(([name, r]) => [
        name,
        { 'concurrency 1': fmt(r.concurrency1), 'concurrency 64': fmt(r.concurrency64) },
      ]),
    ),
  );
  const [baseline, ...others] = Object.keys(results);
  for (const name of others) {
    const ours = results[name]!;
    const theirs = results[baseline!]!;
    console.log(
      `${name} / ${baseline}: c1 ${ratio(ours.concurrency1, theirs.concurrency1)}, c64 ${ratio(ours.concurrency64, theirs.concurrency64)} (target at c64 ≥ 3×)`,
    );
  }
  return { server: new URL(PG_ADMIN_URL).host, rounds, appends: { sequential, concurrent }, results };
}

if (import.meta.url === pathToFileURL(process.argv[1] ?? '').href) await run();
