import { execFile } from 'node:child_process';
import { join } from 'node:path';
import { promisify } from 'node:util';
import Database from 'better-sqlite3';
import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import { ConcurrencyExhaustedError, RevisionMismatchError } from '../../src/commands/errors.ts';
import { createCommandHandler } from '../../src/commands/handler.ts';
import { DomainRejection } from '../../src/domain/rejection.ts';
import { CorruptEventError, StoreUnavailableError } from '../../src/eventstore/errors.ts';
import { openMemoryStore } from '../../src/eventstore/memory-store.ts';
import type { EventStore } from '../../src/eventstore/port.ts';
import { openSqliteStore } from '../../src/eventstore/sqlite-store.ts';
import { decodeEvent } from '../../src/events/codec.ts';
import { eventHash } from '../../src/events/hash-chain.ts';
import { capturePayment, context, createOrder, workload } from '../support/commands.ts';
import { tempDir } from '../support/temp.ts';

const run = promisify(execFile);
const dir = tempDir('handler');
let files = 0;
const freshSqlite = () => openSqliteStore(join(dir, `h-${++files}.db`));

async function allEvents(store: EventStore) {
  const events = [];
  for await (const e of store.readAll()) events.push(e);
  return events;
}

const test = suite('command handler');

test('200 concurrent identical captures on SQLite: one event, 200 identical results, one not a replay', async () => {
  const store = freshSqlite();
  const handle = createCommandHandler(store);
  await handle(createOrder('race'), context());
  const outcomes = await Promise.all(
    Array.from({ length: 200 }, () => handle(capturePayment('race', 'pay-1', 600), context())),
  );
  const captured = (await allEvents(store)).filter((e) => e.type === 'PaymentCaptured');
  assert.is(captured.length, 1);
  assert.is(outcomes.filter((o) => !o.replayed).length, 1);
  const results = new Set(
    outcomes.map((o) =>
      JSON.stringify({ events: o.events, revision: String(o.revision), position: String(o.position) }),
    ),
  );
  assert.is(results.size, 1, 'every caller sees the same result');
  assert.is(outcomes[0]!.revision, 1n);
  assert.is(outcomes[0]!.position, captured[0]!.position);
  await store.close();
});

test('200 concurrent identical creates: one OrderCreated', async () => {
  const store = freshSqlite();
  const handle = createCommandHandler(store);
  const outcomes = await Promise.all(Array.from({ length: 200 }, () => handle(createOrder('dup'), context())));
  assert.is((await store.readStream('order-dup')).length, 1);
  assert.is(outcomes.filter((o) => !o.replayed).length, 1);
  await store.close();
});

test('concurrent different captures never over-capture: conflicts are re-decided', async () => {
  const store = freshSqlite();
  const handle = createCommandHandler(store, { maxAttempts: 200 });
  await handle(createOrder('split'), context()); // total 1000
  const settled = await Promise.allSettled(
    Array.from({ length: 40 }, (_, i) => handle(capturePayment('split', `p-${i}`, 100), context())),
  );
  const accepted = settled.filter((s) => s.status === 'fulfilled');
  const rejected = settled.filter((s) => s.status === 'rejected');
  assert.is(accepted.length, 10);
  for (const r of rejected)
    assert.is(((r as PromiseRejectedResult).reason as DomainRejection).rule, 'capture-exceeds-outstanding');
  const stream = await store.readStream('order-split');
  assert.equal(
    stream.map((e) => e.revision),
    Array.from({ length: 11 }, (_, i) => BigInt(i)),
  );
  await store.close();
});

test('the retry bound is honoured: a stream that always moves ends in ConcurrencyExhaustedError', async () => {
  const inner = openMemoryStore();
  const handle = createCommandHandler(inner);
  await handle(createOrder('busy'), context());
  let sneaks = 0;
  const meddling: EventStore = {
    ...inner,
    async readStream(streamId) {
      const events = await inner.readStream(streamId);
      // Another writer lands between every read and append.
      await createCommandHandler(inner)(capturePayment('busy', `sneak-${++sneaks}`, 1), context());
      return events;
    },
  };
  const error = await createCommandHandler(meddling, { maxAttempts: 3 })(
    capturePayment('busy', 'mine', 5),
    context(),
  ).catch((e) => e);
  assert.instance(error, ConcurrencyExhaustedError);
  assert.is((await inner.readStream('order-busy')).filter((e) => e.data.paymentId === 'mine').length, 0);
});

test('a rejected command writes nothing', async () => {
  const store = freshSqlite();
  const handle = createCommandHandler(store);
  await assertRejects(handle(capturePayment('ghost', 'p', 1), context()), 'order-not-found');
  await handle(createOrder('r'), context());
  await assertRejects(handle(capturePayment('r', 'p', 1, 'USD'), context()), 'currency-mismatch');
  await assertRejects(handle(capturePayment('r', 'p', 1001), context()), 'capture-exceeds-outstanding');
  await assertRejects(handle(createOrder('r', { customerId: 'someone-else' }), context()), 'order-already-exists');
  assert.is((await allEvents(store)).length, 1);
  await store.close();
});

test('If-Match: stale → RevisionMismatchError; a replay still answers with its original result', async () => {
  const store = openMemoryStore();
  const handle = createCommandHandler(store);
  await handle(createOrder('m'), context());
  const first = await handle(capturePayment('m', 'p-1', 100), context(), { ifMatch: 0n });
  assert.is(first.revision, 1n);
  const stale = await handle(capturePayment('m', 'p-2', 100), context(), { ifMatch: 0n }).catch((e) => e);
  assert.instance(stale, RevisionMismatchError);
  assert.is((stale as RevisionMismatchError).actual, 1n);
  const replay = await handle(capturePayment('m', 'p-1', 100), context(), { ifMatch: 0n });
  assert.ok(replay.replayed);
  assert.equal(replay.events, first.events);
  assert.is((await store.readStream('order-m')).length, 2);
});

test('events carry metadata and a hash chain that verifies', async () => {
  const store = openMemoryStore();
  const handle = createCommandHandler(store);
  await handle(createOrder('h'), context({ idempotencyKey: 'key-1', causationId: 'cause' }));
  await handle(capturePayment('h', 'p-1', 100), context());
  const [first, second] = await store.readStream('order-h');
  const a = decodeEvent(first!);
  const b = decodeEvent(second!);
  assert.is(a.metadata.schemaVersion, 1);
  assert.is(a.metadata.idempotencyKey, 'key-1');
  assert.is(a.metadata.causationId, 'cause');
  assert.is(a.metadata.prevHash, '');
  assert.is(a.metadata.hash, eventHash(first!));
  assert.is(b.metadata.prevHash, a.metadata.hash);
  assert.is(b.metadata.hash, eventHash(second!));
  assert.match(a.metadata.requestHash, /^[0-9a-f]{64}$/);
});

test('a stored record that fails its schema is a typed error naming stream and revision; other streams work', async () => {
  const path = join(dir, 'corrupt.db');
  const store = openSqliteStore(path);
  const handle = createCommandHandler(store);
  await handle(createOrder('bad'), context());
  await handle(capturePayment('bad', 'p-1', 100), context());
  await handle(createOrder('good'), context());
  const raw = new Database(path);
  raw
    .prepare(`UPDATE events SET data = json_set(data, '$.amount', 1.5) WHERE stream = 'order-bad' AND revision = 1`)
    .run();
  raw.close();
  // Each process verifies an event once, when it first reads it: the record is met by a process that
  // has not read it yet (a restarted server, or another one on the file).
  const later = createCommandHandler(store);
  const error = await later(capturePayment('bad', 'p-2', 100), context()).catch((e) => e);
  assert.instance(error, CorruptEventError);
  assert.is((error as CorruptEventError).streamId, 'order-bad');
  assert.is((error as CorruptEventError).revision, 1n);
  const ok = await later(capturePayment('good', 'p-1', 100), context());
  assert.is(ok.revision, 1n);
  await store.close();
});

test('a storage failure in a group commit fails every append of the batch and writes none of it', async () => {
  const store = freshSqlite();
  const handle = createCommandHandler(store);
  await handle(createOrder('seed'), context());
  const before = (await allEvents(store)).length;
  store.limitGrowth(true);
  // Enough data in one batch to need new pages; they all arrive in the same turn, so share a commit.
  const big = Array.from({ length: 40 }, (_, i) =>
    handle(
      createOrder(`full-${i}`, {
        lines: Array.from({ length: 100 }, (_, l) => ({
          sku: `SKU-${l}-${'x'.repeat(50)}`,
          quantity: 1,
          unitPrice: 1,
        })),
      }),
      context(),
    ),
  );
  const settled = await Promise.allSettled(big);
  assert.ok(
    settled.every((s) => s.status === 'rejected'),
    'no append of a failed batch may be acknowledged',
  );
  for (const s of settled) {
    const reason = (s as PromiseRejectedResult).reason;
    assert.instance(reason, StoreUnavailableError);
    assert.is((reason as StoreUnavailableError).reason, 'full', (reason as Error).message);
  }
  assert.is((await allEvents(store)).length, before);
  store.limitGrowth(false);
  const after = await handle(createOrder('full-0', { lines: [{ sku: 'A', quantity: 1, unitPrice: 1 }] }), context());
  assert.is(after.replayed, false);
  await store.close();
});

test('two OS processes sending the same 500 commands to one SQLite file: each effect exactly once', async () => {
  const path = join(dir, 'two-processes.db');
  openSqliteStore(path).close(); // create the schema before the race
  const child = () =>
    run(process.execPath, ['--import', 'tsx', 'test/commands/fixtures/send-commands.ts', path, '100'], {
      timeout: 120_000,
    });
  const [a, b] = await Promise.all([child(), child()]);
  const counts = [JSON.parse(a.stdout), JSON.parse(b.stdout)] as Array<{
    written: number;
    replayed: number;
    failed: number;
  }>;
  assert.equal(
    counts.map((c) => c.failed),
    [0, 0],
  );
  assert.is(counts[0]!.written + counts[1]!.written, 500, 'each command written by exactly one process');
  assert.is(counts[0]!.written + counts[0]!.replayed, 500);
  assert.is(counts[1]!.written + counts[1]!.replayed, 500);
  const store = openSqliteStore(path);
  const events = await allEvents(store);
  assert.is(events.length, 500);
  const commands = workload(100).flat();
  for (const command of commands) {
    const stream = events.filter((e) => e.streamId === `order-${command.orderId}`);
    const matching =
      command.type === 'CreateOrder'
        ? stream.filter((e) => e.type === 'OrderCreated')
        : stream.filter((e) => e.data.paymentId === command.paymentId);
    assert.is(matching.length, 1, `${command.type} ${command.orderId}`);
  }
  const revisions = new Map<string, bigint[]>();
  for (const e of events) revisions.set(e.streamId, [...(revisions.get(e.streamId) ?? []), e.revision]);
  assert.is(revisions.size, 100);
  for (const [stream, list] of revisions) assert.equal(list, [0n, 1n, 2n, 3n, 4n], stream);
  await store.close();
});

async function assertRejects(promise: Promise<unknown>, rule: string) {
  const error = await promise.catch((e) => e);
  assert.instance(error, DomainRejection);
  assert.is((error as DomainRejection).rule, rule);
}

test.run();
