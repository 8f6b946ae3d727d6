import { openPgStore } from '../src/eventstore/pg-store.ts';
import { withScratchDatabase } from '../test/support/postgres.ts';
import { orderCreated } from './append.ts';
await withScratchDatabase(async ({ url }) => {
  const store = await openPgStore(url, { poolSize: 16 });
  const t = performance.now();
  let next = 0;
  await Promise.all(
    Array.from({ length: 64 }, async () => {
      while (next < 400) {
        const i = next++;
        for (let r = 0; r < 3; r++)
          await store.append(`s-${i}`, [orderCreated(i * 3 + r).event], r === 0 ? 'no_stream' : BigInt(r - 1));
      }
    }),
  );
  console.log('rate', (1200 / ((performance.now() - t) / 1000)).toFixed(0));
  await store.close();
});
