/**
 * The runner shares its file with the event store (possibly in another process) and with other runners. While
 * someone else holds the write lock, a batch waits without blocking the event loop (the thread
 * that serves HTTP), then commits once the lock is free.
 */
import { join } from 'node:path';
import Database from 'better-sqlite3';
import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import { openSqliteStore } from '../../src/eventstore/sqlite-store.ts';
import { startProjections } from '../../src/projections/service.ts';
import { tempDir } from '../support/temp.ts';
import { caughtUp, withClosing, writeOrders } from './support.ts';

const test = suite('projections: write-lock contention');

test('a write lock held elsewhere: the event loop keeps turning, the batch commits after', () =>
  withClosing(async (closeLater) => {
    const dir = tempDir('projections-contention');
    const store = openSqliteStore(join(dir, 'ledger.db'), { synchronous: 'NORMAL' });
    closeLater(() => store.close());
    await writeOrders(store, 30);
    const readModels = join(dir, 'read-models.db');

    const running = await startProjections({ store, readModels });
    closeLater(() => running.close());
    // Taken in the same turn as the start: the runner's first commit will find the lock held.
    const holder = new Database(readModels);
    closeLater(async () => {
      holder.close();
    });
    holder.exec('BEGIN IMMEDIATE');

    let ticks = 0;
    const ticker = setInterval(() => (ticks += 1), 5);
    await new Promise((resolve) => setTimeout(resolve, 400));
    assert.ok(ticks >= 30, `the event loop stalled while the lock was held (${ticks} ticks in 400 ms)`);
    const waiting = await running.status();
    assert.ok(
      waiting.every((s) => s.serving === undefined),
      'nothing committed while the lock was held',
    );

    holder.exec('COMMIT');
    await caughtUp(running, store);
    clearInterval(ticker);
  }));

test.run();
