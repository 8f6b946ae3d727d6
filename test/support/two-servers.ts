/**
 * Two server processes on one SQLite file, for tests of what only the expected revision and the
 * decider can keep right when each process serialises only its own requests.
 */
import { join } from 'node:path';
import type { uvu } from 'uvu';
import { freePort, ServerProcess, sleep } from '../reliability/server-process.ts';
import type { Sent } from './http.ts';
import { tempDir } from './temp.ts';

export interface TwoServers {
  servers: ServerProcess[];
  path: string;
}

/** Starts the two servers before the suite (one after the other: the first creates the schema), stops them after. */
export function onTwoServers(test: uvu.Test<TwoServers>, name: string): void {
  test.before(async (context) => {
    context.path = join(tempDir(name), 'ledger.db');
    context.servers = await Promise.all(
      [0, 1].map(async () => new ServerProcess({ store: `sqlite:${context.path}`, port: await freePort() })),
    );
    for (const server of context.servers) await server.start();
  });
  test.after(async ({ servers }) => {
    await Promise.all(servers.map((s) => s.terminate()));
  });
}

/** Sends again on 503 (a writer that lost the race for the stream too often), as a client must. */
export async function resendingOn503(sendOnce: () => Promise<Sent>, on503?: (response: Sent) => void): Promise<Sent> {
  for (let attempt = 0; ; attempt++) {
    const response = await sendOnce();
    if (response.status !== 503 || attempt === 50) return response;
    on503?.(response);
    await sleep(5 + Math.random() * 20);
  }
}
