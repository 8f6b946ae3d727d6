/**
 * The server's own failures, over real HTTP with a store that misbehaves on cue: each maps to
 * its problem type, 503s carry Retry-After, 500s carry no internals, and nothing is half-written.
 */
import { join } from 'node:path';
import Database from 'better-sqlite3';
import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import { StoreUnavailableError, WrongExpectedVersionError } from '../../src/eventstore/errors.ts';
import { decorateStore } from '../../src/eventstore/instrumented-store.ts';
import type { EventStore } from '../../src/eventstore/port.ts';
import { type SqliteEventStore, openSqliteStore } from '../../src/eventstore/sqlite-store.ts';
import { listenApp, orderBody, send } from '../support/http.ts';
import { assertProblem } from '../support/problems.ts';
import { tempDir } from '../support/temp.ts';

const test = suite('http: server-side faults');
const dir = tempDir('faults');
let files = 0;
const freshStore = (): SqliteEventStore =>
  openSqliteStore(join(dir, `faults-${++files}.db`), { synchronous: 'NORMAL' });

/** Serves `store` with some of its methods replaced, runs `act`, closes both. */
async function withServer(
  store: EventStore,
  faults: Parameters<typeof decorateStore>[1],
  act: (url: string) => Promise<void>,
  options = {},
) {
  const server = await listenApp(decorateStore(store, faults), options);
  try {
    await act(server.url);
  } finally {
    await server.close();
    await store.close();
  }
}

test('503 store-unavailable with Retry-After when the store is full; nothing written', async () => {
  const store = freshStore();
  await withServer(
    store,
    { append: async () => Promise.reject(new StoreUnavailableError('SQLITE_FULL: database or disk is full', 'full')) },
    async (url) => {
      const response = await send(url, 'PUT', '/orders/full-1', { body: orderBody() });
      assertProblem(response, 503, 'store-unavailable');
      assert.is(response.headers['retry-after'], '60');
      assert.not.match(response.text, /SQLITE/, 'the driver message stays in the logs');
      assert.is(await store.headPosition(), undefined);
    },
  );
});

test('503 store-unavailable when the store cannot be read; /ready says not-ready', async () => {
  const unreachable = async () => Promise.reject(new StoreUnavailableError('connection refused', 'unreachable'));
  await withServer(freshStore(), { readStream: unreachable, ping: unreachable }, async (url) => {
    const response = await send(url, 'POST', '/orders/any/payments', {
      body: { paymentId: 'p', amount: 1, currency: 'EUR' },
    });
    assertProblem(response, 503, 'store-unavailable');
    assert.is(response.headers['retry-after'], '5');
    const ready = await send(url, 'GET', '/ready');
    assertProblem(ready, 503, 'not-ready');
    assert.is(ready.json.checks[0].ok, false);
    assert.ok(ready.headers['retry-after']);
  });
});

test('503 concurrency-conflict with Retry-After when every retry loses its race', async () => {
  const store = freshStore();
  await withServer(
    store,
    {
      append: async (streamId, _events, expected) =>
        Promise.reject(new WrongExpectedVersionError(streamId, expected, 7n)),
    },
    async (url) => {
      const response = await send(url, 'PUT', '/orders/hot-1', { body: orderBody() });
      assertProblem(response, 503, 'concurrency-conflict');
      assert.is(response.headers['retry-after'], '1');
      const metrics = await send(url, 'GET', '/metrics');
      assert.match(metrics.text, /ledger_commands_total\{outcome="retried_on_conflict"\} 3/);
      assert.match(metrics.text, /ledger_commands_total\{outcome="failed"\} 1/);
    },
    { commandHandler: { maxAttempts: 3, random: () => 0 } },
  );
});

test('500 event-corrupt when a stored record fails its schema; the ledger does not decide on it', async () => {
  const path = join(dir, `faults-${++files}.db`);
  const store = openSqliteStore(path, { synchronous: 'NORMAL' });
  const raw = new Database(path);
  raw
    .prepare('INSERT INTO events (id, stream, revision, type, data, metadata, created_at) VALUES (?, ?, 0, ?, ?, ?, ?)')
    .run(
      '00000000-0000-4000-8000-000000000000',
      'order-rotten',
      'OrderCreated',
      '{"orderId":"rotten"}',
      '{}',
      new Date().toISOString(),
    );
  raw.close();
  await withServer(store, {}, async (url) => {
    const before = await store.headPosition();
    assertProblem(
      await send(url, 'POST', '/orders/rotten/payments', { body: { paymentId: 'p', amount: 1, currency: 'EUR' } }),
      500,
      'event-corrupt',
    );
    assertProblem(await send(url, 'GET', '/orders/rotten/events'), 500, 'event-corrupt');
    assert.is(await store.headPosition(), before);
  });
});

test('500 internal-error: an unexpected failure says nothing of its cause', async () => {
  // Reads and appends both fail: a create of a new order is decided unread and goes straight to its append.
  const failure = async () => Promise.reject(new Error('secret internal detail at line 42'));
  await withServer(freshStore(), { readStream: failure, append: failure, appendAtomically: failure }, async (url) => {
    const response = await send(url, 'PUT', '/orders/boom', { body: orderBody() });
    assertProblem(response, 500, 'internal-error');
    assert.not.match(response.text, /secret|line 42/);
    assert.is(
      response.json.instance,
      `urn:uuid:${response.headers['x-request-id']}`,
      'the instance names the request in the logs',
    );
  });
});

test.run();
