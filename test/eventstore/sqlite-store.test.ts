/**
 * What the SQLite adapter adds beyond the contract: no driver error leaves it untyped (a row the
 * file refuses, a file that is not a database), and its snapshot capability.
 */
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import Database from 'better-sqlite3';
import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import { StoreUnavailableError, WrongExpectedVersionError } from '../../src/eventstore/errors.ts';
import { openStore } from '../../src/eventstore/open-store.ts';
import type { EventToAppend, RecordedEvent } from '../../src/eventstore/port.ts';
import { openSqliteStore } from '../../src/eventstore/sqlite-store.ts';
import { tempDir } from '../support/temp.ts';

const test = suite('sqlite store: typed errors and snapshots');
const dir = tempDir('sqlite-store');
let files = 0;
const freshPath = () => join(dir, `store-${++files}.db`);
const event = (id: string): EventToAppend => ({ id, type: 'TestEvent', data: { id }, metadata: {} });

async function all(events: AsyncIterable<RecordedEvent>): Promise<RecordedEvent[]> {
  const out: RecordedEvent[] = [];
  for await (const e of events) out.push(e);
  return out;
}

test('an event id stored in another stream: that append fails as an expectation, its batch goes on', async () => {
  const store = openSqliteStore(freshPath());
  await store.append('order-first', [event('00000000-0000-4000-8000-000000000001')], 'no_stream');
  // One turn: the three appends share a group commit; the middle one reuses a stored id.
  const settled = await Promise.allSettled([
    store.append('order-a', [event('00000000-0000-4000-8000-00000000000a')], 'no_stream'),
    store.append(
      'order-clash',
      [event('00000000-0000-4000-8000-000000000002'), event('00000000-0000-4000-8000-000000000001')],
      'no_stream',
    ),
    store.append('order-b', [event('00000000-0000-4000-8000-00000000000b')], 'no_stream'),
  ]);
  assert.equal(
    settled.map((s) => s.status),
    ['fulfilled', 'rejected', 'fulfilled'],
  );
  const reason = (settled[1] as PromiseRejectedResult).reason;
  assert.instance(reason, WrongExpectedVersionError);
  assert.is((reason as WrongExpectedVersionError).streamId, 'order-clash');
  assert.is((reason as WrongExpectedVersionError).actual, 'no_stream');
  assert.equal(await store.readStream('order-clash'), [], 'nothing of the refused append is written');
  assert.equal(
    (await all(store.readAll())).map((e) => e.streamId),
    ['order-first', 'order-a', 'order-b'],
  );
  await store.close();
});

test('a file that is not a SQLite database: StoreUnavailableError, never a raw SqliteError', async () => {
  const path = freshPath();
  writeFileSync(path, 'this is not a database, just text long enough to look like a header of some file');
  let thrown: unknown;
  try {
    await openStore({ kind: 'sqlite', url: `sqlite:${path}`, path });
  } catch (error) {
    thrown = error;
  }
  assert.instance(thrown, StoreUnavailableError);
  assert.not.instance(thrown, Database.SqliteError);
  assert.is((thrown as StoreUnavailableError).reason, 'io');
});

test('snapshotTo: a consistent copy that opens where it says, and that later appends do not reach', async () => {
  const store = openSqliteStore(freshPath());
  for (let i = 0; i < 5; i++)
    await store.append(`order-${i}`, [event(`00000000-0000-4000-8000-00000000010${i}`)], 'no_stream');
  const progress: Array<[number, number]> = [];
  const target = join(dir, `snapshot-${files}.db`);
  const location = await store.snapshotTo(target, (done, total) => progress.push([done, total]));
  assert.equal(location, { kind: 'sqlite', url: `sqlite:${target}`, path: target });
  assert.ok(progress.length > 0 && progress.every(([done, total]) => total > 0 && done <= total), 'progress in pages');
  await store.append('order-late', [event('00000000-0000-4000-8000-000000000200')], 'no_stream');
  const copy = await openStore(location);
  const copied = await all(copy.readAll());
  assert.equal(
    copied.map((e) => e.streamId),
    ['order-0', 'order-1', 'order-2', 'order-3', 'order-4'],
  );
  assert.equal(copied, (await all(store.readAll())).slice(0, 5), 'the same records, positions included');
  await copy.close();
  await store.close();
});

test.run();
