/**
 * The read models in PostgreSQL, beside a PostgreSQL log: one clean pass's documents whatever
 * the delivery, a stale runner fenced by the checkpoint, one projector at a time with a standby
 * that takes over, the same answers to every query as the SQLite read models give, and a version
 * bump built beside, swapped in and purged. Each test has a scratch database of its own.
 */
import Database from 'better-sqlite3';
import pg from 'pg';
import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import { orderSummary } from '../../projections/order-summary.ts';
import { projections } from '../../projections/index.ts';
import { collection, defineProjection } from '../../projections/projection.ts';
import { createCommandHandler } from '../../src/commands/handler.ts';
import { openPgStore } from '../../src/eventstore/pg-store.ts';
import { ProjectionEngine } from '../../src/projections/engine.ts';
import { fedFromLedgerEvent } from '../../src/projections/feed.ts';
import { openPgReadModels } from '../../src/projections/pg-read-models.ts';
import { ReadModelQueries } from '../../src/projections/queries.ts';
import { rebuildInto } from '../../src/projections/rebuild.ts';
import { startProjections } from '../../src/projections/service.ts';
import { openSqliteReadModels } from '../../src/projections/sqlite-read-models.ts';
import { ledger } from '../cli/run.ts';
import { context, createOrder } from '../support/commands.ts';
import { pgAvailableOrSkip, type ScratchDatabase, createScratchDatabase } from '../support/postgres.ts';
import { caughtUp, cleanPass, decodedLog, orderSummaryV2, snapshot, withClosing, writeOrders } from './support.ts';

const test = suite<{ database: ScratchDatabase }>('projections: read models in PostgreSQL');

test.before.each(async (context) => {
  context.database = await createScratchDatabase();
});
test.after.each(async ({ database }) => {
  await database.drop();
});

const pgOf = (database: ScratchDatabase) => ({ postgres: database.url });

/** A PostgreSQL log in the scratch database, closed after the test, with `orders` orders written. */
async function pgLog(database: ScratchDatabase, closeLater: (close: () => Promise<void>) => void, orders: number) {
  const store = await openPgStore(database.url, { pollIntervalMs: 20 });
  closeLater(() => store.close());
  await writeOrders(store, orders);
  return store;
}

test('a PostgreSQL log projected into PostgreSQL read models equals one clean pass, live writes included', ({
  database,
}) =>
  withClosing(async (closeLater) => {
    const store = await pgLog(database, closeLater, 40);
    const running = await startProjections({ store, readModels: pgOf(database), batchSize: 13 });
    closeLater(() => running.close());
    await caughtUp(running, store);
    await writeOrders(store, 25, 'late');
    await caughtUp(running, store);
    assert.equal(await snapshot(running.readModels), await cleanPass(store));
  }));

test('a second engine holding a stale checkpoint loses the compare-and-set and applies nothing twice', ({ database }) =>
  withClosing(async (closeLater) => {
    const store = await pgLog(database, closeLater, 30);
    const events = [];
    for await (const event of decodedLog(store)) events.push(fedFromLedgerEvent(event));
    const readModels = await openPgReadModels(database.url);
    closeLater(() => readModels.close());
    const first = new ProjectionEngine(readModels, projections);
    await first.plan();
    const second = new ProjectionEngine(readModels, projections);
    await second.plan();
    assert.is(await first.apply(events.slice(0, 50)), 'applied');
    assert.is(await second.apply(events.slice(0, 50)), 'moved', 'the stale engine must lose the compare-and-set');
    assert.is(second.feedStart()?.after, events[49]!.position, 're-planned at the checkpoint the first one left');
    assert.is(await second.apply(events), 'applied');
    assert.is(await first.apply(events), 'moved');
    await first.apply(events);
    await second.promote(events[events.length - 1]!.position);
    assert.equal(await snapshot(readModels), await cleanPass(store));
  }));

test('two servers’ runners on one database: one projects, the other stands by and takes over when it goes', ({
  database,
}) =>
  withClosing(async (closeLater) => {
    const store = await pgLog(database, closeLater, 20);
    const batches = { a: 0, b: 0 };
    const a = await startProjections({
      store,
      readModels: pgOf(database),
      batchSize: 7,
      afterBatch: () => void (batches.a += 1),
    });
    let aClosed = false;
    closeLater(async () => {
      if (!aClosed) await a.close();
    });
    await caughtUp(a, store);
    const b = await startProjections({
      store,
      readModels: pgOf(database),
      batchSize: 7,
      afterBatch: () => void (batches.b += 1),
    });
    closeLater(() => b.close());
    await writeOrders(store, 10, 'while-a');
    await caughtUp(b, store);
    assert.is(batches.b, 0, 'the standby applies nothing while the first runner holds the lease');
    assert.ok(batches.a > 0);

    await a.close();
    aClosed = true;
    await writeOrders(store, 10, 'after-a');
    await caughtUp(b, store);
    assert.ok(batches.b > 0, 'the standby took over once the first runner had gone');
    assert.equal(await snapshot(b.readModels), await cleanPass(store));
  }));

test('every query answers on PostgreSQL exactly as on SQLite: orders by owner, customer and status, pages, customers, days', ({
  database,
}) =>
  withClosing(async (closeLater) => {
    const store = await pgLog(database, closeLater, 45);
    const pgModels = await openPgReadModels(database.url);
    closeLater(() => pgModels.close());
    const sqlite = new Database(':memory:');
    closeLater(async () => void sqlite.close());
    await rebuildInto(sqlite, decodedLog(store));
    await rebuildInto(pgOf(database), decodedLog(store));
    const onPg = new ReadModelQueries(pgModels);
    const onSqlite = new ReadModelQueries(openSqliteReadModels(sqlite));

    const owners = [undefined, 'test-client', 'nobody'];
    const pageAll = async (queries: ReadModelQueries, query: Parameters<ReadModelQueries['orders']>[0]) => {
      const pages = [];
      let cursor: string | undefined;
      do {
        const page = await queries.orders({ ...query, ...(cursor !== undefined && { cursor }) });
        pages.push(page.items.map((o) => o.orderId));
        cursor = page.nextCursor;
      } while (cursor !== undefined);
      return pages;
    };
    let compared = 0;
    for (const owner of owners) {
      for (const filter of [
        {},
        { customerId: 'o-customer-3' },
        { status: 'paid' as const },
        { customerId: 'o-customer-1', status: 'partially_paid' as const },
      ]) {
        const query = { owner, limit: 4, ...filter };
        const expected = await pageAll(onSqlite, query);
        assert.equal(await pageAll(onPg, query), expected, JSON.stringify(query));
        compared += expected.flat().length;
      }
      assert.equal(await onPg.order('o7', owner), await onSqlite.order('o7', owner));
      assert.equal(await onPg.customer('o-customer-2', owner), await onSqlite.customer('o-customer-2', owner));
      assert.equal(
        await onPg.daily('2024-03-01', '2024-03-04', undefined, owner),
        await onSqlite.daily('2024-03-01', '2024-03-04', undefined, owner),
      );
      assert.equal(
        await onPg.daily('2024-03-01', '2024-03-09', 'EUR', owner),
        await onSqlite.daily('2024-03-01', '2024-03-09', 'EUR', owner),
      );
    }
    assert.ok(compared > 40, `the pages compared held ${compared} orders`);
  }));

test('a client id PostgreSQL text cannot hold stops the projections at that event, named, after the events before it, instead of a batch retried for ever', ({
  database,
}) =>
  withClosing(async (closeLater) => {
    const store = await pgLog(database, closeLater, 5);
    const handle = createCommandHandler(store);
    const evil = await handle(createOrder('evil'), context({ clientId: 'client\u0000x' }));
    await writeOrders(store, 5, 'after');
    const running = await startProjections({ store, readModels: pgOf(database) });
    closeLater(() => running.close());
    const head = (await store.headPosition())!;
    const deadline = Date.now() + 15_000;
    let statuses = await running.status();
    while (statuses.some((s) => s.state !== 'failed' && (s.serving?.checkpoint ?? -1n) < head)) {
      if (Date.now() > deadline)
        throw new Error(`projections neither failed nor caught up: ${statuses.map((s) => s.state).join()}`);
      await new Promise((resolve) => setTimeout(resolve, 20));
      statuses = await running.status();
    }
    const failed = statuses.filter((s) => s.state === 'failed');
    assert.ok(failed.length > 0, 'a projection keyed by the client id stops');
    for (const status of failed) {
      const failure = status.serving?.failure ?? status.rebuilding?.failure;
      assert.is(failure?.streamId, 'order-evil');
      assert.is(failure?.position, evil.position);
      assert.match(failure?.message ?? '', /PostgreSQL/);
    }
    // Every one of them keys or indexes by the client id; each applied what came before the event.
    assert.is(failed.length, projections.length);
    for (const status of failed) {
      const checkpoint = (status.serving ?? status.rebuilding)?.checkpoint;
      assert.ok(checkpoint !== undefined && checkpoint < evil.position, `${status.name} applied the events before it`);
    }
  }));

test('a version bump is built beside the served generation, swapped in, and the old one purged with its indexes', ({
  database,
}) =>
  withClosing(async (closeLater) => {
    const store = await pgLog(database, closeLater, 30);
    const v1 = await startProjections({ store, readModels: pgOf(database), projections: [orderSummary] });
    await caughtUp(v1, store);
    await v1.close();
    const v2 = await startProjections({ store, readModels: pgOf(database), projections: [orderSummaryV2] });
    closeLater(() => v2.close());
    await caughtUp(v2, store);
    const admin = new pg.Client({ connectionString: database.url });
    await admin.connect();
    closeLater(() => admin.end());
    const generations = async () =>
      (
        await admin.query(
          `SELECT DISTINCT generation FROM ledger_rm_documents WHERE projection = 'order-summary' ORDER BY 1`,
        )
      ).rows.length;
    const indexes = async () =>
      (
        await admin.query(
          `SELECT indexname FROM pg_indexes WHERE tablename = 'ledger_rm_documents' AND indexname LIKE 'rmx_%'`,
        )
      ).rows.length;
    const deadline = Date.now() + 10_000;
    while ((await generations()) > 1 && Date.now() < deadline) await new Promise((resolve) => setTimeout(resolve, 20));
    assert.is(await generations(), 1, 'the retired generation is deleted');
    assert.is(await indexes(), orderSummary.indexes.length, "only the served generation's indexes remain");
    const order = (await v2.queries.order('o3', undefined)) as unknown as Record<string, unknown>;
    assert.is(order.builtBy, 'v2');
    assert.equal(await snapshot(v2.readModels, [orderSummaryV2]), await cleanPass(store, [orderSummaryV2]));
  }));

/** Projections with a bug each, for the PostgreSQL adapter's guards. */
const counter = collection<{ n: number }>('counter');
const seen = collection<{ at: string }>('seen');
const buggy = {
  // Changes the counter it was given in place; reading a document per order makes a batch run twice.
  inPlace: defineProjection({
    name: 'in-place',
    version: 1,
    on: {
      OrderCreated: (e) => [
        seen.change(e.event.data.orderId, (current) => current ?? { at: e.metadata.recordedAt }),
        counter.change('all', (current) => {
          if (!current) return { n: 1 };
          (current as { n: number }).n += 1;
          return current;
        }),
      ],
    },
  }),
  // Deletes a key PostgreSQL text cannot hold (it was never stored).
  nulDelete: defineProjection({
    name: 'nul-delete',
    version: 1,
    on: { OrderCreated: (e) => [seen.change(`gone\u0000${e.event.data.orderId}`, () => undefined)] },
  }),
  // Stores a lone surrogate, which json keeps but ->> (the indexes' extraction) cannot give as text.
  surrogate: defineProjection({
    name: 'surrogate',
    version: 1,
    on: { OrderCreated: (e) => [seen.put(e.event.data.orderId, { at: `x\ud800${e.event.data.orderId}` })] },
  }),
};

test('handler bugs on PostgreSQL are findings at their event, never a count applied twice or a batch retried for ever', ({
  database,
}) =>
  withClosing(async (closeLater) => {
    const store = await pgLog(database, closeLater, 12);
    const first = (await store.readStream('order-o0'))[0]!;
    const running = await startProjections({
      store,
      readModels: pgOf(database),
      projections: Object.values(buggy),
      // Small batches: the counter comes from the cache of the batch before, and each batch runs twice.
      batchSize: 3,
    });
    closeLater(() => running.close());
    const deadline = Date.now() + 15_000;
    let statuses = await running.status();
    while (statuses.some((s) => s.state !== 'failed') && Date.now() < deadline) {
      await new Promise((resolve) => setTimeout(resolve, 20));
      statuses = await running.status();
    }
    const failureOf = (name: string) => {
      const status = statuses.find((s) => s.name === name)!;
      return status.serving?.failure ?? status.rebuilding?.failure;
    };
    // A later batch meets the counter the batch before committed, frozen: stopped there, never counted twice.
    const inPlace = failureOf('in-place');
    assert.ok(inPlace, 'the in-place change is a finding');
    assert.is.not(inPlace!.streamId, 'order-o0');
    assert.match(inPlace!.message, /read[- ]only|frozen|Cannot assign/i);
    for (const name of ['nul-delete', 'surrogate']) {
      const failure = failureOf(name);
      assert.ok(failure, `${name} is a finding`);
      assert.is(failure!.streamId, 'order-o0');
      assert.is(failure!.position, first.position);
      assert.match(failure!.message, /PostgreSQL/);
    }
  }));

test('a read waiting for a position on a server that does not project is woken by the batch that reaches it, not its poll', ({
  database,
}) =>
  withClosing(async (closeLater) => {
    const store = await pgLog(database, closeLater, 5);
    const projector = await startProjections({ store, readModels: pgOf(database) });
    closeLater(() => projector.close());
    await caughtUp(projector, store);
    // A poll far longer than the wait: only the notification can release it in time.
    const standby = await startProjections({ store, readModels: pgOf(database), waitPollIntervalMs: 600_000 });
    closeLater(() => standby.close());
    // Parked before the write: any later commit is past the head (its transaction id is higher).
    const head = (await store.headPosition())!;
    // Neither its poll nor its own timeout (both ten minutes) can release it within the deadline below.
    const waiting = standby.waitForPosition(head + 1n, ['order-summary'], { timeoutMs: 600_000 });
    await writeOrders(store, 3, 'awaited');
    const deadline = new Promise((resolve) => setTimeout(resolve, 15_000, 'not released'));
    assert.is(await Promise.race([waiting, deadline]), true);
    assert.ok(await standby.queries.order('awaited0', undefined), 'the standby reads what the projector wrote');
  }));

test('ledger projections rebuild on a PostgreSQL store runs beside a serving projector, swaps in, and the server follows the new generation', ({
  database,
}) =>
  withClosing(async (closeLater) => {
    const store = await pgLog(database, closeLater, 30);
    const serving = await startProjections({ store, readModels: pgOf(database) });
    closeLater(() => serving.close());
    await caughtUp(serving, store);
    const before = (await serving.status()).map((s) => s.serving?.generation);
    const result = await ledger(['projections', 'rebuild', '--store', database.url, '--json'], {}, 60_000);
    assert.is(result.code, 0, result.stderr);
    assert.not.match(result.stdout + result.stderr, /postgres:\/\/[^@\s]*:[^@\s]*@/, 'no password in the output');
    await writeOrders(store, 10, 'after-rebuild');
    await caughtUp(serving, store);
    const after = (await serving.status()).map((s) => s.serving?.generation);
    for (const [i, generation] of after.entries()) assert.ok(generation! > before[i]!, 'a new generation is served');
    assert.equal(await snapshot(serving.readModels), await cleanPass(store));
  }));

if (await pgAvailableOrSkip('read models in postgres suite')) test.run();
