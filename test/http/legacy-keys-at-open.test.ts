/**
 * The old keys of a 0.1.0 log are bound when a server opens the store: two servers opening one
 * copy at once write each binding once, and a store unreachable at start keeps every command
 * refused until the binding has run.
 */
import { copyFileSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import { bindLegacyKeys, bindLegacyKeysBeforeCommands } from '../../src/commands/legacy-key-bindings.ts';
import { StoreUnavailableError } from '../../src/eventstore/errors.ts';
import { decorateStore } from '../../src/eventstore/instrumented-store.ts';
import type { EventStore } from '../../src/eventstore/port.ts';
import { openSqliteStore } from '../../src/eventstore/sqlite-store.ts';
import { ledger } from '../cli/run.ts';
import { allEvents, startTestServer } from '../support/http.ts';
import { tempDir } from '../support/temp.ts';

const FIXTURE = fileURLToPath(new URL('../fixtures/v0.1.0/ledger.db', import.meta.url));
const test = suite('0.1.0 keys bound at open');

const bindingsOf = async (store: EventStore) =>
  (await allEvents(store)).filter((e) => e.type === 'IdempotencyKeyBound').length;

async function bindingsIn(path: string): Promise<number> {
  const store = openSqliteStore(path);
  try {
    return await bindingsOf(store);
  } finally {
    await store.close();
  }
}

test('two servers opening one copy at once: one binding per old key, the log audits clean', async () => {
  const path = join(tempDir('legacy-keys-two'), 'ledger.db');
  copyFileSync(FIXTURE, path);
  const servers = await Promise.all([startTestServer({ dbPath: path }), startTestServer({ dbPath: path })]);
  await Promise.all(servers.map((s) => s.close()));
  assert.is(await bindingsIn(path), 7);
  const restarted = await startTestServer({ dbPath: path });
  await restarted.close();
  assert.is(await bindingsIn(path), 7, 'a restart binds nothing again');
  const run = await ledger(['replay', '--store', `sqlite:${path}`, '--json']);
  assert.is(run.code, 0, JSON.stringify(run.json?.findings));
  assert.is(run.json.keys.bindings, 7);
});

test('a start on a log already bound reads it only up to its first binding and writes nothing', async () => {
  const path = join(tempDir('legacy-keys-scan'), 'ledger.db');
  copyFileSync(FIXTURE, path);
  const store = openSqliteStore(path);
  try {
    const legacyEvents = (await allEvents(store)).length;
    assert.is(await bindLegacyKeys(store), 7);
    let read = 0;
    const counting = decorateStore(store, {
      async *readAll(options) {
        for await (const record of store.readAll(options)) {
          read += 1;
          yield record;
        }
      },
    });
    assert.is(await bindLegacyKeys(counting), 0);
    // The old events and the first binding; not the six bindings after it.
    assert.is(read, legacyEvents + 1);
    assert.is(await bindingsOf(store), 7);
  } finally {
    await store.close();
  }
});

test('a store unreachable at start: commands are refused until the old keys are bound', async () => {
  const path = join(tempDir('legacy-keys-down'), 'ledger.db');
  copyFileSync(FIXTURE, path);
  const store = openSqliteStore(path);
  let down = true;
  const flaky = decorateStore(store, {
    readAll: (options) => {
      if (down) throw new StoreUnavailableError('down', 'unreachable');
      return store.readAll(options);
    },
  });
  let retries = 0;
  const gate = await bindLegacyKeysBeforeCommands(flaky, () => retries++);
  try {
    assert.is(retries, 1);
    const [first] = await store.readStream('order-fx-put-1');
    const probe = [{ ...first!, id: '00000000-0000-4000-8000-000000000001' }];
    await gate.store.append('probe', probe, 'no_stream').then(
      () => assert.unreachable('an append before the binding'),
      (error: unknown) => assert.instance(error, StoreUnavailableError),
    );
    assert.is((await store.readStream('probe')).length, 0);
    down = false;
    for (let tries = 0; (await bindingsOf(store)) < 7 && tries < 100; tries++)
      await new Promise((r) => setTimeout(r, 100));
    assert.is(await bindingsOf(store), 7);
    for (let tries = 0; tries < 100; tries++) {
      try {
        await gate.store.append('probe', probe, 'no_stream');
        break;
      } catch (error) {
        assert.instance(error, StoreUnavailableError);
        await new Promise((r) => setTimeout(r, 100));
      }
    }
    assert.is((await store.readStream('probe')).length, 1);
  } finally {
    gate.stop();
    await store.close();
  }
});

test.run();
