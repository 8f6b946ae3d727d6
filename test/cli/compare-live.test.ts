/**
 * `replay --compare-live`: the projections are rebuilt from the log into a scratch database and
 * compared with the live read models, which the real projection runner built. Equal: exit 0.
 * A read model edited behind the runner's back: exit 1, and the difference named down to the
 * field with both values.
 */
import { copyFileSync } from 'node:fs';
import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import { customerActivity } from '../../projections/customer-activity.ts';
import { dailyTotals } from '../../projections/daily-totals.ts';
import { projections } from '../../projections/index.ts';
import { orderSummary } from '../../projections/order-summary.ts';
import { defineProjection } from '../../projections/projection.ts';
import { openSqliteStore, type SqliteEventStore } from '../../src/eventstore/sqlite-store.ts';
import { startProjections } from '../../src/projections/service.ts';
import { buildLedger, withFile, type Ledger } from '../audit/fixtures.ts';
import { ledger } from './run.ts';

const test = suite<{ log: Ledger; live: string }>('replay --compare-live');

interface OrderDoc {
  key: string;
  doc: string;
}

/** The served order-summary document of one order, straight from the read-model tables. */
function servedOrder(path: string): OrderDoc & { generation: number } {
  return withFile(
    path,
    (db) =>
      db
        .prepare(
          `SELECT d.key, d.doc, d.generation FROM rm_documents d JOIN rm_checkpoints c
             ON c.projection = d.projection AND c.generation = d.generation AND c.status = 'active'
           WHERE d.projection = 'order-summary' AND d.collection = 'orders' AND json_extract(d.doc, '$.captured') > 0
           ORDER BY d.key LIMIT 1`,
        )
        .get() as OrderDoc & { generation: number },
  );
}

test.before(async (context) => {
  context.log = await buildLedger(1_500, 'compare-live');
  const live = context.log.copy('live');
  const store = openSqliteStore(live);
  const running = await startProjections({ store, readModels: live });
  try {
    const reached = await running.waitForPosition(
      (await store.headPosition())!,
      projections.map((p) => p.name),
      { timeoutMs: 30_000 },
    );
    assert.ok(reached, 'the projection runner caught up');
  } finally {
    await running.close();
    await store.close();
  }
  context.live = live;
});

test('live read models built by the runner equal the rebuilt ones: exit 0', async ({ live }) => {
  const run = await ledger(['replay', '--store', `sqlite:${live}`, '--compare-live', '--json']);
  assert.is(run.code, 0, run.stderr);
  assert.is(run.json.findings.total, 0);
  assert.is(run.json.comparison.total, 0);
  assert.equal(
    run.json.comparison.projections.map((p: { name: string; position: string; differences: number }) => [
      p.name,
      p.position,
      p.differences,
    ]),
    projections.map((p) => [p.name, '1500', 0]),
  );
});

test('a read model changed behind the runner: exit 1, with projection, key, field and both values', async ({
  live,
}) => {
  const path = `${live}.edited.db`;
  copyFileSync(live, path);
  const order = servedOrder(path);
  const captured = JSON.parse(order.doc).captured as number;
  withFile(path, (db) =>
    db
      .prepare(
        `UPDATE rm_documents SET doc = json_set(doc, '$.captured', ?) WHERE projection = 'order-summary' AND collection = 'orders' AND key = ? AND generation = ?`,
      )
      .run(captured + 1, order.key, order.generation),
  );
  const run = await ledger(['replay', '--store', `sqlite:${path}`, '--compare-live', '--json']);
  assert.is(run.code, 1, run.stderr);
  assert.is(run.json.findings.total, 0, 'the log itself is clean');
  assert.equal(run.json.comparison.differences, [
    {
      projection: 'order-summary',
      collection: 'orders',
      key: order.key,
      field: 'captured',
      live: captured + 1,
      replayed: captured,
    },
  ]);
  const words = await ledger(['replay', '--store', `sqlite:${path}`, '--compare-live']);
  assert.is(words.code, 1);
  assert.match(
    words.stdout,
    new RegExp(`order-summary orders/${order.key} captured: live ${captured + 1}, replayed ${captured}`),
  );
});

test('a live projection stopped by a failing handler: a finding, exit 1, naming where it stopped', async ({ log }) => {
  const path = log.copy('failed-live');
  const store = openSqliteStore(path);
  const failing = await firstCaptureFrom(store, 700n);
  // daily-totals as shipped, except that it chokes on one capture half-way through the log.
  const brokenDaily = defineProjection({
    name: dailyTotals.name,
    version: dailyTotals.version,
    on: {
      OrderCreated: (e, docs) => dailyTotals.apply(e, docs),
      PaymentCaptured: (e, docs) => {
        if (e.position === failing.position) throw new Error('cannot add this capture');
        return dailyTotals.apply(e, docs);
      },
    },
  });
  const running = await startProjections({
    store,
    readModels: path,
    projections: [orderSummary, customerActivity, brokenDaily],
  });
  try {
    const deadline = Date.now() + 20_000;
    while ((await running.status())[2]!.state !== 'failed' && Date.now() < deadline) await pause(20);
    const head = (await store.headPosition())!;
    assert.ok(await running.waitForPosition(head, [orderSummary.name, customerActivity.name], { timeoutMs: 30_000 }));
  } finally {
    await running.close();
    await store.close();
  }
  const run = await ledger(['replay', '--store', `sqlite:${path}`, '--compare-live', '--json']);
  assert.is(run.code, 1, run.stderr);
  assert.is(run.json.findings.total, 0, 'the log itself is clean');
  assert.is(run.json.comparison.total, 0, 'up to where it stopped, the failed projection is right');
  assert.equal(run.json.comparison.liveFailures, [
    {
      projection: 'daily-totals',
      stream: failing.streamId,
      revision: String(failing.revision),
      position: String(failing.position),
      message: 'Error: cannot add this capture',
    },
  ]);
  const words = await ledger(['replay', '--store', `sqlite:${path}`, '--compare-live']);
  assert.is(words.code, 1);
  const where = `${failing.streamId}@${failing.revision} \\(position ${failing.position}\\)`;
  assert.match(words.stdout, new RegExp(`live daily-totals is failed: stopped at ${where}`));
});

const pause = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

async function firstCaptureFrom(store: SqliteEventStore, position: bigint) {
  for await (const record of store.readAll({ after: position - 1n })) {
    if (record.type === 'PaymentCaptured') return record;
  }
  throw new Error(`no capture from position ${position} on`);
}

test('a store whose read models were never built: exit 2, saying where to point', async ({ log }) => {
  const run = await ledger(['replay', '--store', log.url, '--compare-live']);
  assert.is(run.code, 2);
  assert.match(run.stderr, /holds no read models[\s\S]*--read-models <path>/);
});

test.run();
