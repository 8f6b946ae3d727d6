/** API keys over real HTTP, and the start-up refusals that keep an unauthenticated ledger off the network. */
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import { ConfigError } from '../../src/config.ts';
import { resolveAuthPolicy } from '../../src/http/auth.ts';
import { startServer } from '../../src/server.ts';
import { allEvents, orderBody, send, startTestServer, testConfig, type TestServer } from '../support/http.ts';
import { assertNothingWritten, assertProblem } from '../support/problems.ts';
import { tempDir } from '../support/temp.ts';

const ALICE = 'alice-secret-0123456789';
const BOB = 'bob-secret-0123456789abcdef';
const bearer = (secret: string) => ({ authorization: `Bearer ${secret}` });

const test = suite<{ server: TestServer }>('http: API keys');

test.before(async (context) => {
  context.server = await startTestServer({ env: { LEDGER_API_KEYS: `alice:${ALICE},bob:${BOB}` } });
});
test.after(async ({ server }) => server.close());

test('401 unauthorized without a key, with a wrong one, or with another scheme; nothing written', async ({
  server,
}) => {
  for (const headers of [
    {},
    bearer('not-a-key-at-all-000'),
    { authorization: `Basic ${ALICE}` },
    bearer(`${ALICE}x`),
  ]) {
    await assertNothingWritten(server.store, async () => {
      const response = await send(server.url, 'PUT', '/orders/locked', { body: orderBody(), headers });
      assertProblem(response, 401, 'unauthorized');
      assert.match(String(response.headers['www-authenticate']), /^Bearer/);
    });
  }
  for (const path of ['/orders/locked/events', '/ready', '/metrics', '/no-such-route']) {
    assertProblem(await send(server.url, 'GET', path), 401, 'unauthorized');
  }
});

test('health, the problem pages, the docs and the OpenAPI document need no key; the rest answers with one', async ({
  server,
}) => {
  assert.is((await send(server.url, 'GET', '/health')).status, 200);
  assert.is((await send(server.url, 'GET', '/problems/unauthorized')).status, 200);
  assert.is((await send(server.url, 'GET', '/ready', { headers: bearer(ALICE) })).status, 200);
  const doc = await send(server.url, 'GET', '/openapi.json');
  assert.is(doc.status, 200, 'the document is public: it holds no data');
  assert.is(doc.json.components.securitySchemes.bearer.scheme, 'bearer');
  assert.equal(doc.json.security, [{ bearer: [] }], 'every operation asks for the bearer key by default');
  assert.equal(doc.json.paths['/health'].get.security, [], 'liveness needs none');
  for (const asset of ['/docs/', '/docs/static/swagger-ui-bundle.js', '/docs/json']) {
    assert.is((await send(server.url, 'GET', asset)).status, 200, `${asset} loads without a key`);
  }
});

test('the same Idempotency-Key from two clients: two independent orders, each recorded with its client', async ({
  server,
}) => {
  const create = (secret: string) =>
    send(server.url, 'POST', '/orders', {
      body: orderBody(),
      headers: { ...bearer(secret), 'idempotency-key': 'shared-key' },
    });
  const [alice, bob] = await Promise.all([create(ALICE), create(BOB)]);
  for (const response of [alice!, bob!]) {
    assert.is(response.status, 201, response.text);
    assert.is(response.headers['idempotent-replayed'], undefined);
  }
  assert.is.not(alice!.json.orderId, bob!.json.orderId);
  const events = await allEvents(server.store);
  assert.is(events.find((e) => e.streamId === `order-${alice!.json.orderId}`)?.metadata.clientId, 'alice');
  assert.is(events.find((e) => e.streamId === `order-${bob!.json.orderId}`)?.metadata.clientId, 'bob');
  const replay = await create(ALICE);
  assert.is(replay.text, alice!.text);
  assert.is(replay.headers['idempotent-replayed'], 'true');
});

test('startServer refuses a non-loopback host without keys, before opening anything', async () => {
  const dbPath = join(tempDir('refuse'), 'never.db');
  const config = testConfig({ HOST: '0.0.0.0' }, dbPath);
  try {
    await startServer(config);
    assert.unreachable('should have refused');
  } catch (error) {
    assert.instance(error, ConfigError);
    assert.match((error as Error).message, /refusing to listen on HOST=0\.0\.0\.0 without authentication/);
    assert.match((error as Error).message, /LEDGER_API_KEYS/);
    assert.match((error as Error).message, /LEDGER_AUTH=off/);
  }
  assert.not.ok(existsSync(dbPath), 'the store was not opened');
});

test('auth policy: explicit LEDGER_AUTH=off allows any host; contradictions are refused', () => {
  const keys = new Map([['alice', { secret: ALICE, role: 'client' as const }]]);
  assert.is(resolveAuthPolicy({ HOST: '0.0.0.0', LEDGER_AUTH: 'off', LEDGER_API_KEYS: undefined }).mode, 'off');
  assert.is(resolveAuthPolicy({ HOST: '127.0.0.1', LEDGER_AUTH: undefined, LEDGER_API_KEYS: undefined }).mode, 'off');
  assert.is(resolveAuthPolicy({ HOST: '0.0.0.0', LEDGER_AUTH: undefined, LEDGER_API_KEYS: keys }).mode, 'keys');
  assert.throws(
    () => resolveAuthPolicy({ HOST: '127.0.0.1', LEDGER_AUTH: 'off', LEDGER_API_KEYS: keys }),
    /contradicts/,
  );
  assert.throws(
    () => resolveAuthPolicy({ HOST: '127.0.0.1', LEDGER_AUTH: 'on', LEDGER_API_KEYS: undefined }),
    /needs LEDGER_API_KEYS/,
  );
  assert.throws(
    () => resolveAuthPolicy({ HOST: '::', LEDGER_AUTH: undefined, LEDGER_API_KEYS: undefined }),
    /refusing/,
  );
  assert.is(resolveAuthPolicy({ HOST: '::1', LEDGER_AUTH: undefined, LEDGER_API_KEYS: undefined }).mode, 'off');
});

test.run();
