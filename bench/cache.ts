/**
 * Memory under the state cache: the server's command handler (with the cache built from the same
 * configuration the server reads) touches 1,000,000 distinct orders on a SQLite file, 256 commands in
 * flight; the process's RSS is sampled as it goes. The figure is the growth over the RSS measured
 * just before (store open, code loaded), against the configured bound: it must stay within it, whatever
 * the number of orders, because the cache evicts. No projections run here: their read models live in
 * SQLite, not in this heap.
 *
 *   npx tsx bench/cache.ts [orders, default 1000000]    (or BENCH_CACHE_ORDERS=… npm run bench -- cache)
 */
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import { createCommandHandler } from '../src/commands/handler.ts';
import { StateCache } from '../src/commands/state-cache.ts';
import { ConfigSchema } from '../src/config.ts';
import { openSqliteStore } from '../src/eventstore/sqlite-store.ts';
import { fmt, perSecond, withScratchDir } from './support.ts';

export interface CacheFigures {
  readonly orders: number;
  readonly boundEntries: number;
  readonly boundMB: number;
  readonly baselineRssMB: number;
  readonly peakRssMB: number;
  readonly rssAfter1MOrders: number;
  /** Peak RSS growth over the baseline, divided by the configured bound (≤ 1 means within it). */
  readonly growthToBound: number;
  readonly cacheEntries: number;
  readonly cacheMB: number;
  readonly ordersPerSecond: number;
}

const IN_FLIGHT = 256;
const mb = (bytes: number) => Math.round((bytes / 2 ** 20) * 10) / 10;

export async function run(options: { orders?: number } = {}): Promise<CacheFigures> {
  const orders = options.orders ?? Number(process.env.BENCH_CACHE_ORDERS ?? 1_000_000);
  const config = ConfigSchema.parse(process.env);
  const cache = new StateCache({
    maxEntries: config.LEDGER_STATE_CACHE_ENTRIES,
    maxBytes: Math.floor(config.LEDGER_STATE_CACHE_MB * 2 ** 20),
  });
  return withScratchDir('cache', async (dir) => {
    // NORMAL: this measures memory, not durability; the cache does not depend on the fsync mode.
    const store = openSqliteStore(join(dir, 'ledger.db'), { synchronous: 'NORMAL' });
    const handle = createCommandHandler(store, { stateCache: cache });
    const context = { clientId: 'bench', correlationId: 'bench-cache' };
    const create = (i: number) =>
      handle(
        {
          type: 'CreateOrder',
          orderId: `touched-${i}`,
          customerId: `customer-${i % 1_000}`,
          currency: 'EUR',
          lines: [{ sku: `SKU-${i % 97}`, quantity: 1 + (i % 5), unitPrice: 1_999 }],
        },
        context,
      );
    for (let i = 0; i < 1_000; i++) await create(orders + i); // warm the code paths before the baseline
    globalThis.gc?.();
    const baseline = process.memoryUsage().rss;
    let peak = baseline;
    let next = 0;
    const started = process.hrtime.bigint();
    const worker = async () => {
      while (next < orders) {
        const done = ++next;
        await create(done - 1);
        if (done % 10_000 !== 0) continue;
        const rss = process.memoryUsage().rss;
        peak = Math.max(peak, rss);
        if (done % 100_000 === 0) console.log(`${fmt(done)} orders: RSS ${mb(rss)} MB, cache ${mb(cache.bytes)} MB`);
      }
    };
    await Promise.all(Array.from({ length: IN_FLIGHT }, worker));
    const ordersPerSecond = perSecond(orders, started);
    globalThis.gc?.();
    const after = process.memoryUsage().rss;
    peak = Math.max(peak, after);
    await store.close();
    const boundMB = config.LEDGER_STATE_CACHE_MB;
    const figures: CacheFigures = {
      orders,
      boundEntries: config.LEDGER_STATE_CACHE_ENTRIES,
      boundMB,
      baselineRssMB: mb(baseline),
      peakRssMB: mb(peak),
      rssAfter1MOrders: mb(after),
      growthToBound: boundMB === 0 ? 0 : mb(peak - baseline) / boundMB,
      cacheEntries: cache.size,
      cacheMB: mb(cache.bytes),
      ordersPerSecond,
    };
    print(figures);
    return figures;
  });
}

function print(f: CacheFigures): void {
  console.log(
    `${fmt(f.orders)} distinct orders touched (${fmt(f.ordersPerSecond)}/s), cache bound ` +
      `${fmt(f.boundEntries)} entries / ${f.boundMB} MB`,
  );
  console.table({
    'RSS before': { MB: f.baselineRssMB },
    'RSS peak': { MB: f.peakRssMB },
    'RSS after': { MB: f.rssAfter1MOrders },
    'cache (estimated)': { MB: f.cacheMB, entries: f.cacheEntries },
  });
  console.log(`peak growth / configured bound: ${f.growthToBound.toFixed(2)} (≤ 1 is within the bound)`);
}

if (process.argv[1] && import.meta.url === pathToFileURL(process.argv[1]).href) {
  const orders = process.argv[2] === undefined ? undefined : Number(process.argv[2]);
  console.log(JSON.stringify(await run(orders === undefined ? {} : { orders }), null, 2));
}
