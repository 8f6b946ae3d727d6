/**
 * `npm run bench [-- name…]`: runs the named benchmarks (all by default), each of which measures
 * its own baseline in the same run and prints ratios against it.
 */
const benches: Record<string, () => Promise<{ run: (options?: Record<string, unknown>) => Promise<unknown> }>> = {
  append: () => import('./append.ts'),
  'pg-driver': () => import('./pg-driver.ts'),
  'pg-peer': () => import('./peer-emmett.ts'),
  'pg-projections': () => import('./pg-projections.ts'),
  http: () => import('./http.ts'),
  projections: () => import('./projections.ts'),
  replay: () => import('./replay.ts'),
  cache: () => import('./cache.ts'),
  'payment-read': () => import('./payment-read.ts'),
  buffer: () => import('./buffer.ts'),
  'scale-out': () => import('./scale-out.ts'),
};

const wanted = process.argv.slice(2).filter((a) => !a.startsWith('-'));
const unknown = wanted.filter((name) => !(name in benches));
if (unknown.length > 0) {
  console.error(`unknown benchmark(s): ${unknown.join(', ')}; choose from ${Object.keys(benches).join(', ')}`);
  process.exit(2);
}
const results: Record<string, unknown> = {};
for (const name of wanted.length > 0 ? wanted : Object.keys(benches)) {
  console.log(`\n=== ${name} ===`);
  const bench = await benches[name]!();
  results[name] = await bench.run();
}
console.log(`\n${JSON.stringify(results, (_, v) => (typeof v === 'bigint' ? v.toString() : v), 2)}`);
