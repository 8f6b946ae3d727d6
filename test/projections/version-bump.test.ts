/**
 * A new version of a projection is built beside the served one while reads keep answering from
 * the old version, then swapped in at once; the old generation is deleted afterwards, and a
 * process still running the old code stops instead of rebuilding over the new data.
 */
import { join } from 'node:path';
import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import { orderSummary } from '../../projections/order-summary.ts';
import { openSqliteStore } from '../../src/eventstore/sqlite-store.ts';
import type { SqliteReadModels } from '../../src/projections/sqlite-read-models.ts';
import { startProjections } from '../../src/projections/service.ts';
import { tempDir } from '../support/temp.ts';
import { caughtUp, cleanPass, orderSummaryV2, snapshot, withClosing, writeOrders } from './support.ts';

const test = suite('projections: version bump');
const dir = tempDir('projections-version');

const V1 = orderSummary.version;
const V2 = orderSummaryV2.version;

test('v2 is built beside v1 while v1 keeps serving (and stays live), then swapped in; v1 code then stops', () =>
  withClosing(async (closeLater) => {
    const path = join(dir, 'ledger.db');
    const store = openSqliteStore(path, { synchronous: 'NORMAL', pollIntervalMs: 10 });
    closeLater(() => store.close());
    await writeOrders(store, 150);
    const v1 = await startProjections({ store, readModels: path, projections: [orderSummary] });
    closeLater(() => v1.close());
    await caughtUp(v1, store);
    assert.not.ok('builtBy' in ((await v1.queries.order('o3', undefined)) ?? {}));

    const seenDuringRebuild: Array<{ builtBy: unknown; state: string; serving?: number; rebuilding?: number }> = [];
    let v2Batches = 0;
    const v2 = await startProjections({
      store,
      readModels: path,
      projections: [orderSummaryV2],
      batchSize: 40,
      afterBatch: async () => {
        v2Batches += 1;
        if (v2Batches > 4) return;
        // Mid-rebuild: both processes' reads still answer from v1, and a write lands meanwhile.
        const [status] = await v2.status();
        seenDuringRebuild.push({
          builtBy: ((await v2.queries.order('o3', undefined)) as unknown as Record<string, unknown>).builtBy,
          state: status!.state,
          ...(status!.serving && { serving: status!.serving.version }),
          ...(status!.rebuilding && { rebuilding: status!.rebuilding.version }),
        });
        if (v2Batches === 2) await writeOrders(store, 3, 'during');
      },
    });
    closeLater(() => v2.close());
    await caughtUp(v2, store);
    assert.ok(seenDuringRebuild.length >= 3, 'the rebuild took several batches');
    for (const seen of seenDuringRebuild) {
      assert.equal(seen, { builtBy: undefined, state: 'rebuilding', serving: V1, rebuilding: V2 });
    }

    assert.is(((await v2.queries.order('o3', undefined)) as unknown as Record<string, unknown>).builtBy, 'v2');
    const during = (await v1.queries.order('during1', undefined)) as unknown as Record<string, unknown>;
    assert.is(during.builtBy, 'v2', 'the write made during the rebuild is in v2');
    const [after] = await v2.status();
    assert.is(after!.state, 'running');
    assert.is(after!.serving!.version, V2);
    assert.is(after!.rebuilding, undefined);

    // v1's runner notices at its next batch that newer code owns the projection, and stops.
    await writeOrders(store, 1, 'later');
    await caughtUp(v2, store);
    const deadline = Date.now() + 5_000;
    while (v1.engine.blocked.size === 0 && Date.now() < deadline)
      await new Promise((resolve) => setTimeout(resolve, 20));
    const [blocked] = await v1.status();
    assert.is(blocked!.state, 'failed');
    assert.match(blocked!.detail ?? '', new RegExp(`built by version ${V2}; this process runs version ${V1}`));

    // The old generation's documents go; what is served equals one clean v2 pass over the log.
    const db = (v2.readModels as SqliteReadModels).db;
    const purgeDeadline = Date.now() + 5_000;
    const generations = () =>
      db.prepare(`SELECT DISTINCT generation FROM rm_documents WHERE projection = 'order-summary'`).pluck().all();
    while (generations().length > 1 && Date.now() < purgeDeadline)
      await new Promise((resolve) => setTimeout(resolve, 20));
    assert.is(generations().length, 1);
    assert.equal(await snapshot(db, [orderSummaryV2]), await cleanPass(store, [orderSummaryV2]));
  }));

test('a fresh projection serves nothing until its first build is complete', () =>
  withClosing(async (closeLater) => {
    const path = join(dir, 'fresh.db');
    const store = openSqliteStore(path, { synchronous: 'NORMAL' });
    closeLater(() => store.close());
    await writeOrders(store, 80);
    let observed: unknown = 'not observed';
    const running = await startProjections({
      store,
      readModels: path,
      projections: [orderSummary],
      batchSize: 30,
      afterBatch: async () => {
        if (observed !== 'not observed') return;
        try {
          observed = await running.queries.order('o1', undefined);
        } catch (error) {
          observed = (error as Error).name;
        }
      },
    });
    closeLater(() => running.close());
    await caughtUp(running, store);
    assert.is(observed, 'ProjectionNotServingError');
    assert.ok(await running.queries.order('o1', undefined));
  }));

test.run();
