/**
 * Exactly once, whatever the delivery: the same events twice, a second runner (in this process
 * and in another OS process, at the same time), and a runner SIGKILLed between batches or at a
 * random moment and restarted — the read models always equal one clean pass over the log.
 */
import { join } from 'node:path';
import Database from 'better-sqlite3';
import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import { projections } from '../../projections/index.ts';
import { openMemoryStore } from '../../src/eventstore/memory-store.ts';
import { openSqliteStore } from '../../src/eventstore/sqlite-store.ts';
import { openSqliteReadModels } from '../../src/projections/sqlite-read-models.ts';
import { ProjectionEngine } from '../../src/projections/engine.ts';
import { fedFromLedgerEvent } from '../../src/projections/feed.ts';
import { startProjections } from '../../src/projections/service.ts';
import { tempDir } from '../support/temp.ts';
import { caughtUp, cleanPass, decodedLog, runnerProcess, snapshot, withClosing, writeOrders } from './support.ts';

const test = suite('projections: exactly once');
const dir = tempDir('projections-once');
let files = 0;
const freshFile = () => join(dir, `ledger-${++files}.db`);

/** A memory log of `orders` orders, its events as the engine is fed them, and the clean-pass reference. */
async function memoryLog(orders: number) {
  const store = openMemoryStore();
  await writeOrders(store, orders);
  const events = [];
  for await (const e of decodedLog(store)) events.push(fedFromLedgerEvent(e));
  return { events, reference: await cleanPass(store) };
}

test('the same events delivered twice, or overlapping, change nothing', async () => {
  const { events, reference } = await memoryLog(60);
  const db = new Database(':memory:');
  const engine = new ProjectionEngine(openSqliteReadModels(db), projections);
  await engine.plan();
  await engine.apply(events.slice(0, 40));
  await engine.apply(events.slice(0, 40));
  await engine.apply(events.slice(25, 120));
  await engine.apply(events);
  await engine.apply(events);
  await engine.promote(events[events.length - 1]!.position);
  assert.equal(await snapshot(db), reference);
});

test('a second runner holding a stale checkpoint loses the compare-and-set and applies nothing twice', async () => {
  const { events, reference } = await memoryLog(40);
  const db = new Database(':memory:');
  const readModels = openSqliteReadModels(db);
  const first = new ProjectionEngine(readModels, projections);
  await first.plan();
  const second = new ProjectionEngine(readModels, projections);
  await second.plan();
  // Both planned at "nothing applied"; the first commits, the second still believes it is first.
  assert.is(await first.apply(events.slice(0, 30)), 'applied');
  assert.is(await second.apply(events.slice(0, 30)), 'moved', 'the stale runner must lose the compare-and-set');
  assert.is(
    second.feedStart()?.after,
    events[29]!.position,
    'after re-planning it starts from the committed checkpoint',
  );
  assert.is(await second.apply(events), 'applied');
  assert.is(await first.apply(events), 'moved');
  await first.promote(events[events.length - 1]!.position);
  assert.equal(await snapshot(db), reference);
});

test('two runners in this process and one in another, all at once, while orders keep coming', () =>
  withClosing(async (closeLater) => {
    const path = freshFile();
    const store = openSqliteStore(path, { synchronous: 'NORMAL', pollIntervalMs: 10 });
    closeLater(() => store.close());
    await writeOrders(store, 150, 'x');
    const one = await startProjections({ store, readModels: path, batchSize: 17 });
    closeLater(() => one.close());
    const two = await startProjections({ store, readModels: path, batchSize: 29 });
    closeLater(() => two.close());
    const child = runnerProcess(path, { batchSize: 23 });
    // More writes while all three are catching up and following.
    await writeOrders(store, 60, 'y');
    const exited = await child;
    assert.is(exited.code, 0, `the runner process failed: ${exited.signal ?? ''} ${exited.stderr}`);
    await caughtUp(one, store);
    await caughtUp(two, store);
    const reference = await cleanPass(store);
    assert.equal(await snapshot(one.readModels), reference);
  }));

test('a runner SIGKILLed right after a batch commits resumes at that batch, and ends equal to a clean pass', async () => {
  const path = freshFile();
  const store = openSqliteStore(path, { synchronous: 'NORMAL' });
  await writeOrders(store, 120);
  const reference = await cleanPass(store);

  const killed = await runnerProcess(path, { batchSize: 50, killAfterBatches: 3 });
  assert.is(killed.signal, 'SIGKILL');
  const db = new Database(path, { readonly: true });
  const building = db
    .prepare(`SELECT projection, position FROM rm_checkpoints WHERE status = 'building' ORDER BY projection`)
    .all() as Array<{ position: number }>;
  db.close();
  // Three batches of 50 committed, nothing of the fourth: positions are 1, 2, 3… in a fresh SQLite log.
  assert.equal(
    building.map((row) => row.position),
    [150, 150, 150],
  );

  const again = await runnerProcess(path, { batchSize: 50, killAfterBatches: 2 });
  assert.is(again.signal, 'SIGKILL');
  const finished = await runnerProcess(path, { batchSize: 50 });
  assert.is(finished.code, 0, finished.stderr);
  assert.ok(JSON.parse(finished.stdout).batches < (120 * 3) / 50, 'the restart resumed instead of starting over');
  assert.equal(await snapshot(new Database(path, { readonly: true })), reference);
  await store.close();
});

test('a runner SIGKILLed at random moments (mid-transaction included) still ends equal to a clean pass', async () => {
  const path = freshFile();
  const store = openSqliteStore(path, { synchronous: 'NORMAL' });
  await writeOrders(store, 400, 'r');
  const reference = await cleanPass(store);
  let kills = 0;
  for (const delayMs of [400, 550, 700, 850]) {
    const run = await runnerProcess(path, {
      batchSize: 7,
      onSpawn: (kill) => setTimeout(kill, delayMs),
    });
    assert.ok(run.signal === 'SIGKILL' || run.code === 0, `unexpected exit ${run.code} ${run.signal}: ${run.stderr}`);
    if (run.signal === 'SIGKILL') kills += 1;
  }
  assert.ok(kills > 0, 'no run was killed before it finished: the test proved nothing');
  const finished = await runnerProcess(path, { batchSize: 7 });
  assert.is(finished.code, 0, finished.stderr);
  assert.equal(await snapshot(new Database(path, { readonly: true })), reference);
  await store.close();
});

test.run();
