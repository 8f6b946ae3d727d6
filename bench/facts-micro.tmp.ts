import { createRequire } from 'node:module';
import { openSqliteStore } from '../src/eventstore/sqlite-store.ts';
import { factsOf } from '../src/audit/facts.ts';
import { canonicalJson } from '../src/events/canonical.ts';
import { decodeEvent } from '../src/events/codec.ts';
import { eventHash } from '../src/events/hash-chain.ts';
const pkg = createRequire(import.meta.url)('canonicalize');
const store = openSqliteStore('/tmp/h14b/log200k.db');
const records: any[] = [];
for await (const r of store.readAll({ maxCount: 50_000 })) records.push(r);
const time = (label: string, f: (r: any) => unknown) => {
  let best = Infinity;
  for (let k = 0; k < 5; k++) { const t = performance.now(); for (const r of records) f(r); best = Math.min(best, performance.now() - t); }
  console.log(`${label.padEnd(20)} ${(best * 1000 / records.length).toFixed(2)} µs/event`);
};
time('package canon', (r) => pkg({ data: r.data, metadata: r.metadata }));
time('fast canon', (r) => canonicalJson({ data: r.data, metadata: r.metadata }));
time('eventHash', (r) => eventHash(r));
time('decodeEvent', (r) => decodeEvent(r));
time('factsOf', (r) => factsOf(r));
time('JSON.parse x2', (r) => { JSON.parse(JSON.stringify(r.data)); });
await store.close();
