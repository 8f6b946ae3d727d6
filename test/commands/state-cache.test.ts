/**
 * The per-process cache of decided streams: its bounds (entries and approximate bytes, least
 * recently used first), and the command handler over it — a cached stream is decided on without a
 * read, a stale one (another handler, as another process would, appended since) is fenced by the
 * expected revision and reads only the tail it missed, a refusal decided on a stale entry is
 * confirmed on the stream as stored, and a corrupt tail is refused and evicts the entry.
 */
import { join } from 'node:path';
import { setFlagsFromString } from 'node:v8';
import { runInNewContext } from 'node:vm';
import Database from 'better-sqlite3';
import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import { type CommandOutcome, createCommandHandler } from '../../src/commands/handler.ts';
import { approximateBytes, StateCache } from '../../src/commands/state-cache.ts';
import { DomainRejection } from '../../src/domain/rejection.ts';
import { CorruptEventError } from '../../src/eventstore/errors.ts';
import { openMemoryStore } from '../../src/eventstore/memory-store.ts';
import { decodeStream } from '../../src/events/codec.ts';
import { openSqliteStore } from '../../src/eventstore/sqlite-store.ts';
import { capturePayment, context, createOrder } from '../support/commands.ts';
import { countedReads, readsOf } from '../support/counted-reads.ts';
import { tempDir } from '../support/temp.ts';

const test = suite('state cache');
const dir = tempDir('state-cache');
let files = 0;

test('bounded by entries: the least recently used goes first', () => {
  const cache = new StateCache({ maxEntries: 3, maxBytes: 1_000_000 });
  const part = cache.partition<string>();
  for (const key of ['a', 'b', 'c']) part.set(key, key, 10);
  assert.is(part.get('a'), 'a'); // a is now the most recently used
  part.set('d', 'd', 10);
  assert.is(cache.size, 3);
  assert.is(part.get('b'), undefined, 'b, least recently used, was evicted');
  assert.equal(
    ['a', 'c', 'd'].map((k) => part.get(k)),
    ['a', 'c', 'd'],
  );
  assert.is(cache.bytes, 30);
});

test('bounded by bytes: entries go until the rest fits; one larger than the bound is not kept', () => {
  const cache = new StateCache({ maxEntries: 100, maxBytes: 100 });
  const part = cache.partition<number>();
  for (let i = 0; i < 10; i++) part.set(`k${i}`, i, 30);
  assert.is(cache.size, 3);
  assert.ok(cache.bytes <= 100);
  assert.equal(
    [7, 8, 9].map((i) => part.get(`k${i}`)),
    [7, 8, 9],
  );
  part.set('huge', -1, 101);
  assert.is(part.get('huge'), undefined);
  assert.is(cache.size, 3);
  // Replacing an entry counts its new size only.
  part.set('k9', 9, 10);
  assert.is(cache.bytes, 70);
});

test('0 entries or 0 bytes keeps nothing; partitions do not share keys', () => {
  for (const bounds of [
    { maxEntries: 0, maxBytes: 1_000 },
    { maxEntries: 10, maxBytes: 0 },
  ]) {
    const part = new StateCache(bounds).partition<string>();
    part.set('a', 'a', 1);
    assert.is(part.get('a'), undefined);
  }
  const cache = new StateCache();
  const one = cache.partition<string>();
  const two = cache.partition<string>();
  one.set('same', 'one', 1);
  assert.is(two.get('same'), undefined);
});

test('a cached stream is decided on without reading it; a fresh process reads it whole once', async () => {
  const { store, reads } = countedReads(openMemoryStore());
  const handle = createCommandHandler(store);
  await handle(createOrder('hot', { lines: [{ sku: 'S', quantity: 1, unitPrice: 100_000 }] }), context());
  for (let i = 0; i < 20; i++) await handle(capturePayment('hot', `p-${i}`, 10), context());
  // The create was decided on the missing stream as empty, unread; nothing after it read the stream.
  assert.equal(readsOf(reads, 'order-hot'), []);
  const replay = await handle(capturePayment('hot', 'p-3', 10), context());
  assert.is(replay.replayed, true);
  assert.is(replay.revision, 4n);
  assert.is(readsOf(reads, 'order-hot').length, 0, 'a replay is answered from the cache too');

  const other = createCommandHandler(store);
  await other(capturePayment('hot', 'p-20', 10), context());
  assert.equal(readsOf(reads, 'order-hot'), [{ streamId: 'order-hot', fromRevision: 0n, records: 21 }]);
});

test('a stream this process holds nothing of is guessed new: the store refuses a wrong guess, the stream is read, the outcome is what a read would give', async () => {
  const { store, reads } = countedReads(openMemoryStore());
  const first = createCommandHandler(store);
  const created = await first(createOrder('known'), context());
  // Another process (its own cache): the same create is a replay, a different one is refused, as after a read.
  const conflicts: string[] = [];
  const other = createCommandHandler(store, { onConflict: (streamId) => conflicts.push(streamId) });
  const replay = await other(createOrder('known'), context());
  assert.equal([replay.replayed, replay.revision, replay.position], [true, 0n, created.position]);
  assert.is(replay.attempts, 1, 'a wrong guess is not a lost race');
  const refused = await other(createOrder('known', { customerId: 'someone-else' }), context()).catch((e) => e);
  assert.instance(refused, DomainRejection);
  assert.equal(conflicts, [], 'no conflict counted, no back-off');
  // One whole read after the wrong guess; the refusal on the entry it cached is confirmed by a tail read.
  assert.equal(readsOf(reads, 'order-known'), [
    { streamId: 'order-known', fromRevision: 0n, records: 1 },
    { streamId: 'order-known', fromRevision: 1n, records: 0 },
  ]);
  assert.is((await store.readStream('order-known')).length, 1, 'nothing written by the wrong guesses');

  // A command that needs the stream is refused on the guess, then confirmed on the stream as stored.
  const third = createCommandHandler(store);
  const capture = await third(capturePayment('known', 'p-1', 100), context());
  assert.equal([capture.replayed, capture.revision], [false, 1n]);
  const missing = await third(capturePayment('nowhere', 'p-1', 100), context()).catch((e) => e);
  assert.instance(missing, DomainRejection);
  assert.equal(readsOf(reads, 'order-nowhere'), [{ streamId: 'order-nowhere', fromRevision: 0n, records: 0 }]);
});

test('creates guessed new in two processes at once, on one SQLite file: one written, each other a replay or a refusal', async () => {
  const path = join(dir, `guess-race-${++files}.db`);
  const stores = [openSqliteStore(path), openSqliteStore(path)];
  const handlers = stores.map((store) => createCommandHandler(store));
  const orders = Array.from({ length: 10 }, (_, i) => `race-${i}`);
  // Per order, from each process: the same create twice and one with another customer, all at once.
  const sent = orders.flatMap((orderId) =>
    handlers.flatMap((handle) =>
      [createOrder(orderId), createOrder(orderId), createOrder(orderId, { customerId: 'other' })].map((command) => ({
        command,
        result: handle(command, context()).catch((error: unknown) => error),
      })),
    ),
  );
  const results = await Promise.all(sent.map(async ({ command, result }) => ({ command, result: await result })));
  for (const orderId of orders) {
    const stored = decodeStream(await stores[0]!.readStream(`order-${orderId}`));
    assert.is(stored.length, 1, `${orderId}: one event`);
    const [winner] = stored;
    assert.ok(winner!.event.type === 'OrderCreated');
    const mine = results.filter((r) => r.command.orderId === orderId);
    const written = mine.filter((r) => !(r.result instanceof Error) && !(r.result as CommandOutcome).replayed);
    assert.is(written.length, 1, `${orderId}: one request wrote it`);
    for (const { command, result } of mine) {
      if (command.customerId === winner!.event.data.customerId) {
        assert.not.instance(result, Error, `${orderId}: the winning body is answered`);
        assert.is((result as CommandOutcome).events[0]!.id, winner!.id);
      } else {
        assert.instance(result, DomainRejection);
        assert.is((result as DomainRejection).rule, 'order-already-exists');
      }
    }
  }
  for (const store of stores) await store.close();
});

test('a stale entry: the append is fenced, only the missed tail is read, nothing lost or doubled', async () => {
  const path = join(dir, `stale-${++files}.db`);
  const a = countedReads(openSqliteStore(path));
  const b = openSqliteStore(path);
  const first = createCommandHandler(a.store);
  const second = createCommandHandler(b);
  await first(createOrder('shared'), context());
  await first(capturePayment('shared', 'a-1', 100), context());
  // The other "process" writes three captures the first one's entry does not know about.
  for (const id of ['b-1', 'b-2', 'b-3']) await second(capturePayment('shared', id, 100), context());
  const before = a.reads.length;
  const outcome = await first(capturePayment('shared', 'a-2', 100), context());
  assert.is(outcome.revision, 5n);
  assert.is(outcome.attempts, 2, 'the stale append lost to the fence once');
  assert.equal(a.reads.slice(before), [{ streamId: 'order-shared', fromRevision: 2n, records: 3 }]);
  // A duplicate of the other side's capture is a replay decided from the refreshed entry.
  const replay = await first(capturePayment('shared', 'b-2', 100), context());
  assert.equal([replay.replayed, replay.revision], [true, 3n]);
  const stored = (await b.readStream('order-shared')).filter((e) => e.type === 'PaymentCaptured');
  assert.equal(
    stored.map((e) => e.data.paymentId),
    ['a-1', 'b-1', 'b-2', 'b-3', 'a-2'],
  );
  await a.store.close();
  await b.close();
});

test('a refusal decided on a stale entry is checked on the stream as stored before it is given', async () => {
  const store = openMemoryStore();
  const first = createCommandHandler(store);
  const second = createCommandHandler(store);
  await first(createOrder('refund-then-capture'), context()); // total 1000
  await first(capturePayment('refund-then-capture', 'all', 1_000), context());
  // The first handler's entry says nothing is outstanding; the other refunds 400 of it.
  await second(
    { type: 'RefundPayment', orderId: 'refund-then-capture', paymentId: 'all', refundId: 'r', amount: 400 },
    context(),
  );
  const outcome = await first(capturePayment('refund-then-capture', 'more', 400), context());
  assert.is(outcome.revision, 3n);
  // A refusal that still holds on the stored stream is given.
  const refused = await first(capturePayment('refund-then-capture', 'too-much', 1), context()).catch((e) => e);
  assert.instance(refused, DomainRejection);
  assert.is((refused as DomainRejection).rule, 'capture-exceeds-outstanding');
});

test('a corrupt tail is refused as event-corrupt, evicts the entry, and nothing is written', async () => {
  for (const [name, set, problem] of [
    ['a field of the wrong type', `data = json_set(data, '$.amount', 1.5)`, /amount/],
    ['an amount edited with its hash left alone', `data = json_set(data, '$.amount', 50)`, /no longer matches/],
    ['a link to another head', `metadata = json_set(metadata, '$.prevHash', '${'0'.repeat(64)}')`, /prevHash/],
  ] as const) {
    const path = join(dir, `corrupt-${++files}.db`);
    const a = countedReads(openSqliteStore(path));
    const b = openSqliteStore(path);
    const first = createCommandHandler(a.store);
    await first(createOrder('rot'), context());
    await first(capturePayment('rot', 'p-1', 100), context());
    await createCommandHandler(b)(capturePayment('rot', 'p-2', 100), context());
    const raw = new Database(path);
    raw.prepare(`UPDATE events SET ${set} WHERE stream = 'order-rot' AND revision = 2`).run();
    raw.close();
    const count = (await b.readStream('order-rot')).length;
    for (const round of [1, 2]) {
      const error = await first(capturePayment('rot', `p-3-${round}`, 100), context()).catch((e) => e);
      assert.instance(error, CorruptEventError, name);
      assert.equal([(error as CorruptEventError).streamId, (error as CorruptEventError).revision], ['order-rot', 2n]);
      assert.match((error as CorruptEventError).problem, problem, name);
    }
    // The second refusal read the stream whole: the entry had been evicted.
    const rotReads = readsOf(a.reads, 'order-rot');
    assert.equal(
      rotReads.slice(-2).map((r) => r.fromRevision),
      [2n, 0n],
      name,
    );
    assert.is((await b.readStream('order-rot')).length, count, `${name}: nothing written`);
    await a.store.close();
    await b.close();
  }
});

test('the handler keeps at most the bounds: entries, and approximate bytes', async () => {
  const byEntries = new StateCache({ maxEntries: 10, maxBytes: 1e9 });
  const byBytes = new StateCache({ maxEntries: 1_000, maxBytes: 40_000 });
  const store = openMemoryStore();
  for (const cache of [byEntries, byBytes]) {
    const handle = createCommandHandler(store, { stateCache: cache });
    let peakBytes = 0;
    for (let i = 0; i < 200; i++) {
      await handle(createOrder(`bound-${cache === byBytes}-${i}`), context());
      await handle(capturePayment(`bound-${cache === byBytes}-${i}`, 'p', 100), context());
      peakBytes = Math.max(peakBytes, cache.bytes);
      assert.ok(cache.size <= cache.bounds.maxEntries);
    }
    assert.ok(peakBytes <= cache.bounds.maxBytes, `${peakBytes} bytes held`);
  }
  assert.is(byEntries.size, 10);
  assert.ok(byBytes.size > 1 && byBytes.size < 200, `${byBytes.size} entries in 40 kB`);
});

test('the byte estimate errs high: the heap a full cache holds is below what it counts', async () => {
  setFlagsFromString('--expose-gc');
  const gc = runInNewContext('gc') as () => void;
  const cache = new StateCache({ maxEntries: 1e9, maxBytes: 1e12 });
  const store = openMemoryStore();
  const handle = createCommandHandler(store, { stateCache: cache });
  // Orders first (in the store, not yet cached), so the measured growth is the cache's alone.
  const orders = 3_000;
  const writer = createCommandHandler(store, { stateCache: new StateCache({ maxEntries: 0, maxBytes: 0 }) });
  for (let i = 0; i < orders; i++) {
    await writer(createOrder(`heap-${i}`), context());
    await writer(capturePayment(`heap-${i}`, 'p-1', 100), context());
  }
  gc();
  const before = process.memoryUsage().heapUsed;
  for (let i = 0; i < orders; i++) await handle(capturePayment(`heap-${i}`, 'p-2', 100), context());
  gc();
  const grown = process.memoryUsage().heapUsed - before;
  assert.is(cache.size, orders);
  // Each capture also appended an event to the memory store: that growth is counted against the cache too.
  assert.ok(grown < cache.bytes, `heap grew ${grown} bytes, the cache counts ${cache.bytes}`);
  // The upper side is loose: in the whole suite's process other tests' garbage moves heapUsed both ways.
  assert.ok(cache.bytes < grown * 10, `the estimate (${cache.bytes}) is not wildly above the heap (${grown})`);
});

test('approximateBytes grows with content', () => {
  assert.ok(approximateBytes({ a: 'x'.repeat(1_000) }) > 2_000);
  assert.ok(approximateBytes(new Map([['k', { v: 1 }]])) > approximateBytes({}));
  assert.ok(approximateBytes([1, 2, 3]) > approximateBytes([]));
});

test.run();
