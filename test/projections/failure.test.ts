/**
 * A handler that throws stops its own projection at that event — logged with the stream,
 * revision and position, shown by status and in the readiness detail (without making the
 * instance unready) — and every other projection goes on.
 */
import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import { orderSummary } from '../../projections/order-summary.ts';
import { collection, defineProjection } from '../../projections/projection.ts';
import { openMemoryStore } from '../../src/eventstore/memory-store.ts';
import type { ProjectionLogger } from '../../src/projections/engine.ts';
import type { SqliteReadModels } from '../../src/projections/sqlite-read-models.ts';
import { startProjections } from '../../src/projections/service.ts';
import { caughtUp, withClosing, writeOrders } from './support.ts';

const test = suite('projections: a failing handler');

const tally = collection<{ count: number }>('tally');
/** Counts captures, and chokes on the first capture of order f7. */
const fragile = defineProjection({
  name: 'fragile',
  version: 1,
  on: {
    PaymentCaptured: (e) => {
      if (e.event.data.orderId === 'f7') throw new Error('cannot count this one');
      return [tally.change('all', (current) => ({ count: (current?.count ?? 0) + 1 }))];
    },
  },
});

test('stops only its projection, at that event, and says where', () =>
  withClosing(async (closeLater) => {
    const logged: Array<{ level: string; obj: Record<string, unknown>; msg: string }> = [];
    const logger: ProjectionLogger = {
      info: (obj, msg) => logged.push({ level: 'info', obj: obj as Record<string, unknown>, msg }),
      warn: (obj, msg) => logged.push({ level: 'warn', obj: obj as Record<string, unknown>, msg }),
      error: (obj, msg) => logged.push({ level: 'error', obj: obj as Record<string, unknown>, msg }),
    };
    const store = openMemoryStore();
    closeLater(() => store.close());
    await writeOrders(store, 30, 'f');
    const failing = (await store.readStream('order-f7')).find((e) => e.type === 'PaymentCaptured')!;

    const running = await startProjections({
      store,
      readModels: ':memory:',
      projections: [orderSummary, fragile],
      logger,
      batchSize: 10,
    });
    closeLater(() => running.close());
    // order-summary reaches the head; fragile cannot, so wait for order-summary alone.
    const head = (await store.headPosition())!;
    assert.ok(await running.waitForPosition(head, ['order-summary'], { timeoutMs: 5_000 }));

    const [summary, stopped] = await running.status();
    assert.is(summary!.state, 'running');
    assert.is(stopped!.state, 'failed');
    const failure = stopped!.rebuilding?.failure ?? stopped!.serving?.failure;
    assert.equal(failure, {
      streamId: 'order-f7',
      revision: failing.revision,
      position: failing.position,
      message: 'Error: cannot count this one',
    });
    // Stopped at the event: everything before it applied, nothing from it on.
    assert.is((stopped!.rebuilding ?? stopped!.serving)!.checkpoint, failing.position - 1n);

    const error = logged.find((entry) => entry.level === 'error');
    assert.ok(error, 'the failure is logged');
    assert.equal(
      {
        projection: error!.obj.projection,
        streamId: error!.obj.streamId,
        revision: error!.obj.revision,
        position: error!.obj.position,
      },
      {
        projection: 'fragile',
        streamId: 'order-f7',
        revision: failing.revision.toString(),
        position: failing.position.toString(),
      },
    );

    assert.is(error!.obj.alert, 'projection-failed', 'a stable field an alert can match');

    // A bug, not an outage: the instance stays ready, and the check says what stopped.
    const readiness = await running.readiness();
    assert.is(readiness.ok, true);
    assert.match(
      readiness.detail ?? '',
      /fragile stopped at order-f7@\d+ \(position \d+\): Error: cannot count this one/,
    );

    // The others keep going on new events; the failed one stays where it stopped.
    await writeOrders(store, 5, 'g');
    assert.ok(await running.waitForPosition((await store.headPosition())!, ['order-summary'], { timeoutMs: 5_000 }));
    const [, still] = await running.status();
    assert.is((still!.rebuilding ?? still!.serving)!.checkpoint, failing.position - 1n);
    assert.ok(await running.waitForPosition(failing.position - 1n, ['order-summary'], { timeoutMs: 10 }));
  }));

test('a restart retries the failed event (the handler may have been fixed)', () =>
  withClosing(async (closeLater) => {
    const store = openMemoryStore();
    closeLater(() => store.close());
    await writeOrders(store, 12, 'f');
    const first = await startProjections({ store, readModels: ':memory:', projections: [fragile] });
    const deadline = Date.now() + 5_000;
    while ((await first.status())[0]!.state !== 'failed' && Date.now() < deadline)
      await new Promise((resolve) => setTimeout(resolve, 10));
    const db = (first.readModels as SqliteReadModels).db;
    await first.runner.stop();

    const fixed = defineProjection({
      ...fragile,
      name: 'fragile',
      version: 1,
      on: { PaymentCaptured: () => [tally.change('all', (c) => ({ count: (c?.count ?? 0) + 1 }))] },
    });
    const again = await startProjections({ store, readModels: db, projections: [fixed] });
    closeLater(async () => {
      await again.close();
      db.close();
    });
    await caughtUp(again, store);
    const [status] = await again.status();
    assert.is(status!.state, 'running');
    assert.is(status!.serving!.failure, undefined, 'advancing past the event clears the recorded failure');
  }));

test.run();
