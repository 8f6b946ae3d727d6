/**
 * Every kind of broken row in the SQLite file is a CorruptEventError naming its stream, revision
 * and position: from a stream read, from the global log, and as an entry in its place for the
 * readers that must go on past it.
 */
import { join } from 'node:path';
import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import { createCommandHandler } from '../../src/commands/handler.ts';
import { CorruptEventError } from '../../src/eventstore/errors.ts';
import { readAllEntries, type LogEntry } from '../../src/eventstore/log-entries.ts';
import { openSqliteStore } from '../../src/eventstore/sqlite-store.ts';
import { decodeStream } from '../../src/events/codec.ts';
import { capturePayment, context, createOrder } from '../support/commands.ts';
import { CORRUPTIONS, corrupt, positionOf } from '../support/corrupt-rows.ts';
import { tempDir } from '../support/temp.ts';

const test = suite('sqlite store: broken rows');
const dir = tempDir('sqlite-rows');
let files = 0;

/** order-rot (created, captured twice) and order-fine; returns the file. */
async function ledgerFile(): Promise<string> {
  const path = join(dir, `rows-${++files}.db`);
  const store = openSqliteStore(path, { synchronous: 'OFF' });
  const handle = createCommandHandler(store);
  await handle(createOrder('rot'), context());
  await handle(createOrder('fine'), context());
  await handle(capturePayment('rot', 'p-1', 250), context());
  await handle(capturePayment('rot', 'p-2', 250), context());
  await store.close();
  return path;
}

for (const kind of CORRUPTIONS) {
  test(`${kind.name}: a CorruptEventError naming stream, revision and position, on every read`, async () => {
    const path = await ledgerFile();
    const position = positionOf(path, 'order-rot', 1);
    corrupt(path, kind, position);
    const store = openSqliteStore(path);
    try {
      const expected = { streamId: 'order-rot', revision: kind.revisionAfter(1n), position };
      const named = (error: unknown) => {
        assert.instance(error, CorruptEventError);
        const e = error as CorruptEventError;
        assert.equal({ streamId: e.streamId, revision: String(e.revision), position: e.position }, expected);
        assert.ok(e.message.includes(`order-rot@${expected.revision} (position ${position})`), e.message);
      };

      // The command path's read: the row itself, or its schema once decoded.
      const history = await store
        .readStream('order-rot')
        .then(decodeStream)
        .catch((error: unknown) => error);
      named(history);
      assert.is((await store.readStream('order-fine')).length, 1, 'other streams read as before');

      // The global log: a plain read stops at the row; entries carry it in its place and go on.
      const plain: unknown[] = [];
      const stopped = await (async () => {
        for await (const record of store.readAll()) plain.push(record);
      })().catch((error: unknown) => error);
      const entries: LogEntry[] = [];
      for await (const entry of readAllEntries(store)) entries.push(entry);
      assert.equal(
        entries.map((e) => e.position),
        [1n, 2n, 3n, 4n],
      );
      if (kind.unreadable) {
        named(stopped);
        assert.is(plain.length, Number(position) - 1);
        named(entries[Number(position) - 1]);
        assert.is(entries.filter((e) => e instanceof CorruptEventError).length, 1);
      } else {
        assert.is(stopped, undefined, 'a row that reads is returned; its schema is judged by the decoder');
        assert.is(plain.length, 4);
      }
      // maxCount counts the entry in its place.
      const two: LogEntry[] = [];
      for await (const entry of readAllEntries(store, { after: 1n, maxCount: 2 })) two.push(entry);
      assert.equal(
        two.map((e) => e.position),
        [2n, 3n],
      );
    } finally {
      await store.close();
    }
  });
}

test.run();
