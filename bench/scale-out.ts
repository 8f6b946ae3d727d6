/**
 * Create+capture throughput over HTTP with 1, 2 and 3 ledger servers on one PostgreSQL database
 * (a scratch database per step): each server is `npm start`'s entry in its own process on
 * 127.0.0.1, and the load (autocannon, the same connections in all, split evenly) is spread over
 * them. The one-server figure is the baseline of the same run. Servers, PostgreSQL and the load
 * generator share this machine's cores, so the ratios say what one machine gains from more
 * processes, not what more machines would.
 *
 *   npm run bench -- scale-out          PG_URL=postgres://… picks the server
 */
import { pathToFileURL } from 'node:url';
import { ServerProcess, freePort } from '../test/reliability/server-process.ts';
import { createThenCapture, type Throughput } from './http.ts';
import { withScratchDatabase } from '../test/support/postgres.ts';
import { fmt, ratio, withScratchDir } from './support.ts';

export interface ScaleOutFigures {
  readonly seconds: number;
  readonly connections: number;
  /** Per server count: requests/s summed over the servers, and the worst p99 among them. */
  readonly servers: Record<number, Throughput>;
}

async function measure(count: number, seconds: number, connections: number): Promise<Throughput> {
  return withScratchDatabase(({ url: store }) =>
    withScratchDir(`scale-${count}`, async (dir) => {
      const servers: ServerProcess[] = [];
      try {
        for (let n = 0; n < count; n++) {
          const server = new ServerProcess({
            store,
            port: await freePort(),
            env: { LEDGER_READ_MODELS: `${dir}/read-models-${n}.db`, LOG_LEVEL: 'error' },
          });
          // One at a time: the first one creates the schema.
          await server.start();
          servers.push(server);
        }
        const each = Math.floor(connections / count);
        const results = await Promise.all(
          servers.map((s, n) => createThenCapture(s.url, seconds, each + (n < connections % count ? 1 : 0), `s${n}`)),
        );
        return {
          requestsPerSecond: results.reduce((sum, r) => sum + r.requestsPerSecond, 0),
          p50Ms: Math.max(...results.map((r) => r.p50Ms)),
          p99Ms: Math.max(...results.map((r) => r.p99Ms)),
          non2xx: results.reduce((sum, r) => sum + r.non2xx, 0),
          errors: results.reduce((sum, r) => sum + r.errors, 0),
        };
      } finally {
        await Promise.all(servers.map((s) => s.terminate()));
      }
    }),
  );
}

export async function run(options: { seconds?: number; connections?: number } = {}): Promise<ScaleOutFigures> {
  const seconds = options.seconds ?? Number(process.env.LEDGER_BENCH_SECONDS ?? 10);
  const connections = options.connections ?? 48;
  const servers: Record<number, Throughput> = {};
  for (const count of [1, 2, 3]) servers[count] = await measure(count, seconds, connections);
  console.log(`create+capture over HTTP, ${connections} connections for ${seconds} s, servers on one PostgreSQL`);
  console.table(
    Object.fromEntries(
      Object.entries(servers).map(([count, t]) => [
        `${count} server${count === '1' ? '' : 's'}`,
        {
          'req/s': fmt(t.requestsPerSecond),
          'worst p50 ms': t.p50Ms,
          'worst p99 ms': t.p99Ms,
          non2xx: t.non2xx,
          errors: t.errors,
          '× 1 server': ratio(t.requestsPerSecond, servers[1]!.requestsPerSecond),
        },
      ]),
    ),
  );
  return { seconds, connections, servers };
}

if (import.meta.url === pathToFileURL(process.argv[1] ?? '').href) await run();
