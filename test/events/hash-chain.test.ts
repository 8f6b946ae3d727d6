/**
 * The command path decides only on an intact chain: decodeStream (which the handler reads every
 * history through) checks revisions, each content against its hash, and each prevHash link, and
 * a command on a broken stream is refused with nothing written.
 */
import { copyFileSync } from 'node:fs';
import { join } from 'node:path';
import Database from 'better-sqlite3';
import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import { createCommandHandler } from '../../src/commands/handler.ts';
import { CorruptEventError } from '../../src/eventstore/errors.ts';
import { openSqliteStore } from '../../src/eventstore/sqlite-store.ts';
import { decodeStream } from '../../src/events/codec.ts';
import { rehash, rewrite } from '../audit/fixtures.ts';
import { capturePayment, context, createOrder } from '../support/commands.ts';
import { eventCount, positionOf, writeInChild } from '../support/corrupt-rows.ts';
import { tempDir } from '../support/temp.ts';

const test = suite('hash chain on the command path');
const dir = tempDir('hash-chain');
let files = 0;

const base = join(dir, 'base.db');
const ORDERS = ['clean', 'edited', 'rehashed', 'gap', 'once', 'later'];
let ready: Promise<void> | undefined;

/**
 * One file per test, copied from a log another process wrote: for each order, its creation
 * (1000 EUR) then 250 captured three times. Each test works on its own order, so no record it
 * edits was ever verified by this process.
 */
async function chainFile(): Promise<string> {
  ready ??= writeInChild(
    base,
    ORDERS.flatMap((o) => [createOrder(o), ...['p-1', 'p-2', 'p-3'].map((p) => capturePayment(o, p, 250))]),
  );
  await ready;
  const path = join(dir, `chain-${++files}.db`);
  copyFileSync(base, path);
  return path;
}

async function refusal(path: string, order: string, revision: bigint, problem: RegExp): Promise<void> {
  const stream = `order-${order}`;
  const store = openSqliteStore(path);
  try {
    const before = eventCount(path);
    const handle = createCommandHandler(store);
    const error = await handle(capturePayment(order, 'p-4', 250), context()).catch((e: unknown) => e);
    assert.instance(error, CorruptEventError);
    const e = error as CorruptEventError;
    assert.equal([e.streamId, e.revision, e.position], [stream, revision, positionOf(path, stream, Number(revision))]);
    assert.match(e.problem, problem);
    assert.is(eventCount(path), before, 'nothing written');
  } finally {
    await store.close();
  }
}

test('an intact stream decodes, and a capture on it is decided', async () => {
  const path = await chainFile();
  const store = openSqliteStore(path);
  try {
    assert.is(decodeStream(await store.readStream('order-clean')).length, 4);
    const outcome = await createCommandHandler(store)(capturePayment('clean', 'p-4', 250), context());
    assert.is(outcome.revision, 4n);
  } finally {
    await store.close();
  }
});

test('an amount edited at rest (its schema still valid): the capture is refused, nothing written', async () => {
  const path = await chainFile();
  // 250 → 50: the order would seem to have 200 more outstanding than it has.
  rewrite(path, Number(positionOf(path, 'order-edited', 2)), (row) => ({ data: { ...row.data, amount: 50 } }));
  await refusal(path, 'edited', 2n, /no longer matches its hash/);
});

test('an edit whose own hash was recomputed: the next event no longer links to it', async () => {
  const path = await chainFile();
  const position = Number(positionOf(path, 'order-rehashed', 1));
  rewrite(path, position, (row) => ({ data: { ...row.data, amount: 50 } }));
  rehash(path, position);
  await refusal(path, 'rehashed', 2n, /prevHash is not the hash of revision 1/);
});

test('an event removed from the middle: the revision after the gap is refused', async () => {
  const path = await chainFile();
  const db = new Database(path);
  db.prepare(`DELETE FROM events WHERE stream = 'order-gap' AND revision = 1`).run();
  db.close();
  await refusal(path, 'gap', 2n, /revision 2 where 1 was expected/);
});

test('each event is hashed once per process: a later edit keeping the stored hash is left to the audit', async () => {
  const path = await chainFile();
  const store = openSqliteStore(path);
  try {
    decodeStream(await store.readStream('order-once'));
    // Altered while this process runs, after it verified the record, with the hash left as it was.
    rewrite(path, Number(positionOf(path, 'order-once', 3)), (row) => ({ data: { ...row.data, amount: 50 } }));
    assert.is(decodeStream(await store.readStream('order-once')).length, 4, 'not hashed again');
  } finally {
    await store.close();
  }
  // The same edit on a record this process has not verified yet is refused.
  rewrite(path, Number(positionOf(path, 'order-later', 3)), (row) => ({ data: { ...row.data, amount: 50 } }));
  await refusal(path, 'later', 3n, /no longer matches its hash/);
});

test.run();
