/**
 * Create+capture throughput over HTTP with 1, 2 and 3 ledger servers on one PostgreSQL database
 * (a scratch database per step): each server is `npm start`'s entry in its own process on
 * 127.0.0.1, and the load (autocannon, the same connections in all, split evenly) is spread over
 * them. Two baselines of the same run: the one-server figure, and one server of the same entry on
 * the embedded SQLite store (FULL) under the same load, which says what the PostgreSQL path costs.
 * Servers, PostgreSQL and the load generator share this machine's cores, so the ratios say what
 * one machine gains from more processes, not what more machines would; beside each rate, the CPU
 * a request cost (servers and their PostgreSQL backends, from /proc), which other work on the
 * machine moves far less than the rate, and the load average while the step ran.
 *
 *   npm run bench -- scale-out          PG_URL=postgres://… picks the server
 *   BENCH_CPU_PROF=<dir>                each server writes a V8 CPU profile there when it exits
 */
import { loadavg } from 'node:os';
import { pathToFileURL } from 'node:url';
import { ServerProcess, freePort } from '../test/reliability/server-process.ts';
import { createThenCapture, type Throughput } from './http.ts';
import { withScratchDatabase } from '../test/support/postgres.ts';
import { backendCpu, cpuSince } from './pg-backend-cpu.ts';
import { processCpuMs } from './process-cpu.ts';
import { fmt, ratio, withScratchDir } from './support.ts';

export interface StepFigures extends Throughput {
  /** CPU ms per request in the server processes (all threads: HTTP, projection runner, GC). */
  readonly serverCpuMs: number | undefined;
  /** CPU ms per request in the PostgreSQL backends of the step's database (0 on SQLite). */
  readonly postgresCpuMs: number | undefined;
  /** The 1-minute load average when the step started and when it ended. */
  readonly load: readonly [number, number];
}

export interface ScaleOutFigures {
  readonly seconds: number;
  readonly connections: number;
  /** One server on the embedded SQLite store: the same entry, connections and load generator. */
  readonly sqlite: StepFigures;
  /** Per server count on PostgreSQL: requests/s summed over the servers, and the worst p50 and p99 among them. */
  readonly servers: Record<number, StepFigures>;
}

type Backend = { readonly kind: 'sqlite' } | { readonly kind: 'postgres'; readonly url: string; readonly name: string };

async function measure(backend: Backend, count: number, seconds: number, connections: number): Promise<StepFigures> {
  return withScratchDir(`scale-${backend.kind}-${count}`, async (dir) => {
    const store = backend.kind === 'sqlite' ? `sqlite:${dir}/ledger.db` : backend.url;
    const profile = process.env.BENCH_CPU_PROF;
    const servers: ServerProcess[] = [];
    try {
      for (let n = 0; n < count; n++) {
        const server = new ServerProcess({
          store,
          port: await freePort(),
          env: { LEDGER_READ_MODELS: `${dir}/read-models-${n}.db`, LEDGER_SYNCHRONOUS: 'FULL', LOG_LEVEL: 'error' },
          ...(profile && { nodeFlags: ['--cpu-prof', `--cpu-prof-dir=${profile}`] }),
        });
        // One at a time: the first one creates the schema.
        await server.start();
        servers.push(server);
      }
      const serverCpu = () => servers.map((s) => (s.pid === undefined ? undefined : processCpuMs(s.pid)));
      const postgresCpu = () => (backend.kind === 'postgres' ? backendCpu(backend.name) : new Map<number, number>());
      const load0 = loadavg()[0]!;
      const [servers0, postgres0] = [serverCpu(), postgresCpu()];
      const each = Math.floor(connections / count);
      const results = await Promise.all(
        servers.map((s, n) => createThenCapture(s.url, seconds, each + (n < connections % count ? 1 : 0), `s${n}`)),
      );
      const [servers1, postgres1] = [serverCpu(), postgresCpu()];
      const requestsPerSecond = results.reduce((sum, r) => sum + r.requestsPerSecond, 0);
      const perRequest = (ms: number | undefined) =>
        ms === undefined || requestsPerSecond === 0 ? undefined : ms / (requestsPerSecond * seconds);
      const serverMs = servers1.every((ms, i) => ms !== undefined && servers0[i] !== undefined)
        ? servers1.reduce((sum: number, ms, i) => sum + ms! - servers0[i]!, 0)
        : undefined;
      return {
        requestsPerSecond,
        p50Ms: Math.max(...results.map((r) => r.p50Ms)),
        p99Ms: Math.max(...results.map((r) => r.p99Ms)),
        non2xx: results.reduce((sum, r) => sum + r.non2xx, 0),
        errors: results.reduce((sum, r) => sum + r.errors, 0),
        serverCpuMs: perRequest(serverMs),
        postgresCpuMs: perRequest(serverMs === undefined ? undefined : cpuSince(postgres0, postgres1)),
        load: [load0, loadavg()[0]!],
      };
    } finally {
      await Promise.all(servers.map((s) => s.terminate()));
    }
  });
}

export async function run(options: { seconds?: number; connections?: number } = {}): Promise<ScaleOutFigures> {
  const seconds = options.seconds ?? Number(process.env.LEDGER_BENCH_SECONDS ?? 10);
  const connections = options.connections ?? 48;
  const sqlite = await measure({ kind: 'sqlite' }, 1, seconds, connections);
  const servers: Record<number, StepFigures> = {};
  for (const count of [1, 2, 3]) {
    servers[count] = await withScratchDatabase(({ url, name }) =>
      measure({ kind: 'postgres', url, name }, count, seconds, connections),
    );
  }
  print({ seconds, connections, sqlite, servers });
  return { seconds, connections, sqlite, servers };
}

function print({ seconds, connections, sqlite, servers }: ScaleOutFigures): void {
  const one = servers[1]!.requestsPerSecond;
  const ms = (value: number | undefined) => (value === undefined ? 'n/a' : value.toFixed(3));
  const row = (t: StepFigures, versusOne: string) => ({
    'req/s': fmt(t.requestsPerSecond),
    'worst p50 ms': t.p50Ms,
    'worst p99 ms': t.p99Ms,
    non2xx: t.non2xx,
    errors: t.errors,
    '× 1 server': versusOne,
    '× SQLite': ratio(t.requestsPerSecond, sqlite.requestsPerSecond),
    'server CPU ms/req': ms(t.serverCpuMs),
    'PG CPU ms/req': ms(t.postgresCpuMs),
    load: t.load.map((l) => l.toFixed(1)).join('→'),
  });
  console.log(`create+capture over HTTP, ${connections} connections for ${seconds} s per step`);
  console.table({
    '1 server, SQLite (FULL)': row(sqlite, ''),
    ...Object.fromEntries(
      Object.entries(servers).map(([count, t]) => [
        `${count} server${count === '1' ? '' : 's'}, one PostgreSQL`,
        row(t, ratio(t.requestsPerSecond, one)),
      ]),
    ),
  });
}

if (import.meta.url === pathToFileURL(process.argv[1] ?? '').href) await run();
