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
import pg from 'pg';
import { openPgStore } from '../src/eventstore/pg-store.ts';
import { PG_ADMIN_URL, withScratchDatabase } from '../test/support/postgres.ts';
import { orderCreated } from './append.ts';
import { backendCpu, cpuSince } from './pg-backend-cpu.ts';
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
    // The pool Emmett would make itself (node-postgres, 10 connections), but the bench's own: Emmett's
    // pools are shared by URL and counted, one was once left open after close, and dropping the
    // scratch database then killed its connection, an error nobody listened to, ending the run.
    const pool = new pg.Pool({ connectionString: url });
    pool.on('error', () => {});
    const store = getPostgreSQLEventStore(url, { connectionOptions: { pooled: true, pool } });
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
      async close() {
        await store.close();
        await pool.end();
      },
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

interface Figures {
  concurrency1: number;
  concurrency64: number;
  /** At concurrency 64: CPU µs per append in the database's backends, and in this (the client) process. */
  serverCpuUs: number;
  clientCpuUs: number;
}

async function measure(contender: Contender, sequential: number, concurrent: number): Promise<Figures> {
  return withScratchDatabase(async ({ url, name }) => {
    const appender = await contender.open(url);
    try {
      // Warm-up: the schema, the prepared statements and a full pool exist before the clock starts.
      await rate(appender, 10_000_000, 128, 64);
      const concurrency1 = await rate(appender, 0, sequential, 1);
      const [server, client] = [backendCpu(name), process.cpuUsage()];
      const concurrency64 = await rate(appender, sequential, concurrent, 64);
      const { user, system } = process.cpuUsage(client);
      return {
        concurrency1,
        concurrency64,
        serverCpuUs: (cpuSince(server, backendCpu(name)) * 1000) / concurrent,
        clientCpuUs: (user + system) / concurrent,
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
  /** Medians per contender: appends/s, and CPU µs per append at concurrency 64. */
  readonly results: Record<string, Figures>;
}

export async function run(
  options: { sequential?: number; concurrent?: number; rounds?: number; contenders?: Contender[] } = {},
): Promise<PeerFigures> {
  const sequential = options.sequential ?? Number(process.env.LEDGER_BENCH_SEQUENTIAL ?? 1_000);
  const concurrent = options.concurrent ?? Number(process.env.LEDGER_BENCH_CONCURRENT ?? 5_000);
  const rounds = options.rounds ?? Number(process.env.LEDGER_BENCH_ROUNDS ?? 3);
  const contenders = options.contenders ?? CONTENDERS;
  const samples = new Map(contenders.map((c) => [c.name, [] as Figures[]]));
  for (let round = 0; round < rounds; round++) {
    const order = round % 2 === 0 ? contenders : [...contenders].reverse();
    for (const contender of order) {
      const figures = await measure(contender, sequential, concurrent);
      samples.get(contender.name)!.push(figures);
      console.log(
        `round ${round + 1} ${contender.name}: c1 ${fmt(figures.concurrency1)}/s, c64 ${fmt(figures.concurrency64)}/s, ` +
          `c64 CPU µs/append server ${fmt(figures.serverCpuUs)} client ${fmt(figures.clientCpuUs)}`,
      );
    }
  }
  const results = Object.fromEntries(
    [...samples].map(([name, s]): [string, Figures] => {
      const of = (key: keyof Figures) => median(s.map((f) => f[key]));
      const [concurrency1, concurrency64] = [of('concurrency1'), of('concurrency64')];
      return [name, { concurrency1, concurrency64, serverCpuUs: of('serverCpuUs'), clientCpuUs: of('clientCpuUs') }];
    }),
  );
  console.log(`appends/s, median of ${rounds} rounds (one event per append, a new stream each, expected version)`);
  console.table(
    Object.fromEntries(
      Object.entries(results).map(([name, r]) => [
        name,
        {
          'concurrency 1': fmt(r.concurrency1),
          'concurrency 64': fmt(r.concurrency64),
          'c64 server CPU µs/append': fmt(r.serverCpuUs),
          'c64 client CPU µs/append': fmt(r.clientCpuUs),
        },
      ]),
    ),
  );
  const [baseline, ...others] = Object.keys(results);
  for (const name of others) {
    const ours = results[name]!;
    const theirs = results[baseline!]!;
    console.log(
      `${name} / ${baseline}: c1 ${ratio(ours.concurrency1, theirs.concurrency1)}, c64 ${ratio(ours.concurrency64, theirs.concurrency64)} (target at c64 ≥ 3×); ` +
        `server CPU per append at c64 ${ratio(ours.serverCpuUs, theirs.serverCpuUs)}`,
    );
    const rounds = samples.get(name)!.map((f, i) => ratio(f.concurrency64, samples.get(baseline!)![i]!.concurrency64));
    console.log(`${name} / ${baseline} at c64, round by round: ${rounds.join(', ')}`);
  }
  return { server: new URL(PG_ADMIN_URL).host, rounds, appends: { sequential, concurrent }, results };
}

if (import.meta.url === pathToFileURL(process.argv[1] ?? '').href) await run();
