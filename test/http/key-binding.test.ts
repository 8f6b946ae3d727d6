/**
 * An Idempotency-Key is bound to its first request, and every order belongs to the client that
 * created it: the ways a client, buggy or hostile, could break either, tried over real HTTP
 * with two API keys and an auditor's.
 */
import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import { legacyDerivedOrderId, legacyDerivedPaymentId } from '../../src/commands/derived-ids.ts';
import { allEvents, orderBody, send, type Sent, startTestServer, type TestServer } from '../support/http.ts';
import { assertNothingWritten, assertProblem } from '../support/problems.ts';

const ALICE = 'alice-secret-0123456789';
const BOB = 'bob-secret-0123456789abcdef';
const AUDIT = 'audit-secret-0123456789xyz';
const as = (secret: string, headers: Record<string, string> = {}) => ({
  authorization: `Bearer ${secret}`,
  ...headers,
});

const test = suite<{ server: TestServer }>('http: Idempotency-Key binding and ownership');

test.before(async (context) => {
  context.server = await startTestServer({
    env: { LEDGER_API_KEYS: `alice:${ALICE},bob:${BOB},audit:${AUDIT}:auditor` },
  });
});
test.after(async ({ server }) => server.close());

const put = (
  server: TestServer,
  secret: string,
  orderId: string,
  body = orderBody(),
  headers: Record<string, string> = {},
) => send(server.url, 'PUT', `/orders/${orderId}`, { body, headers: as(secret, headers) });
const capture = (server: TestServer, secret: string, orderId: string, body: Record<string, unknown>, key?: string) =>
  send(server.url, 'POST', `/orders/${orderId}/payments`, {
    body,
    headers: as(secret, key === undefined ? {} : { 'idempotency-key': key }),
  });

async function paymentsOf(server: TestServer, orderId: string) {
  return (await allEvents(server.store)).filter(
    (e) => e.streamId === `order-${orderId}` && e.type === 'PaymentCaptured',
  );
}

test('a retried capture with the same key but a regenerated paymentId is refused (422), and charges once', async ({
  server,
}) => {
  await put(server, ALICE, 'regen', orderBody({ lines: [{ sku: 'S', quantity: 1, unitPrice: 1_000 }] }));
  const first = await capture(
    server,
    ALICE,
    'regen',
    { paymentId: 'pay-a1', amount: 400, currency: 'EUR' },
    'regen-key',
  );
  assert.is(first.status, 201, first.text);
  let retry: Sent | undefined;
  await assertNothingWritten(server.store, async () => {
    retry = await capture(server, ALICE, 'regen', { paymentId: 'pay-a2', amount: 400, currency: 'EUR' }, 'regen-key');
  });
  assertProblem(retry!, 422, 'idempotency-key-reused');
  assert.is(retry!.json.differs, 'body');
  const payments = await paymentsOf(server, 'regen');
  assert.is(payments.length, 1);
  assert.is(
    payments.reduce((sum, e) => sum + (e.data.amount as number), 0),
    400,
  );
  // The original request, resent, is still answered with its original response.
  const replay = await capture(
    server,
    ALICE,
    'regen',
    { paymentId: 'pay-a1', amount: 400, currency: 'EUR' },
    'regen-key',
  );
  assert.is(replay.status, 201);
  assert.is(replay.headers['idempotent-replayed'], 'true');
  assert.is(replay.text, first.text);
});

test('one key sent with PUT /orders/b and then PUT /orders/c: the second is refused, c is not created', async ({
  server,
}) => {
  assert.is((await put(server, ALICE, 'key-b', orderBody(), { 'idempotency-key': 'put-key' })).status, 201);
  let second: Sent | undefined;
  await assertNothingWritten(server.store, async () => {
    second = await put(server, ALICE, 'key-c', orderBody(), { 'idempotency-key': 'put-key' });
  });
  assertProblem(second!, 422, 'idempotency-key-reused');
  assert.is(second!.json.differs, 'resource');
  assert.match(second!.json.detail, /orderId key-b/);
  assert.is((await allEvents(server.store)).filter((e) => e.streamId === 'order-key-c').length, 0);
  // Another route with the same key: the route differs.
  const other = await send(server.url, 'POST', '/orders', {
    body: orderBody(),
    headers: as(ALICE, { 'idempotency-key': 'put-key' }),
  });
  assertProblem(other, 422, 'idempotency-key-reused');
  assert.is(other.json.differs, 'route');
});

test("ids from keys cannot be taken: B creates the order A's key derived in 0.1.0, A's first use still creates its own", async ({
  server,
}) => {
  const key = 'fresh-key-of-alice';
  const predicted = legacyDerivedOrderId('alice', key);
  assert.is((await put(server, BOB, predicted)).status, 201, 'bob took the id 0.1.0 would have derived');
  const created = await send(server.url, 'POST', '/orders', {
    body: orderBody(),
    headers: as(ALICE, { 'idempotency-key': key }),
  });
  assert.is(created.status, 201, created.text);
  assert.is(created.headers['idempotent-replayed'], undefined, 'not a replay of bob’s order');
  assert.is.not(created.json.orderId, predicted);
  // B copying A's body exactly changes nothing either.
  const key2 = 'another-fresh-key';
  assert.is((await put(server, BOB, legacyDerivedOrderId('alice', key2), orderBody())).status, 201);
  const second = await send(server.url, 'POST', '/orders', {
    body: orderBody(),
    headers: as(ALICE, { 'idempotency-key': key2 }),
  });
  assert.is(second.status, 201);
  assert.is(second.headers['idempotent-replayed'], undefined);
  assert.is.not(second.json.orderId, legacyDerivedOrderId('alice', key2));
  // Payment ids from keys: random too, so there is nothing to take in advance.
  const paid = await capture(server, ALICE, created.json.orderId, { amount: 100, currency: 'EUR' }, 'pay-key');
  assert.is(paid.status, 201, paid.text);
  assert.is.not(paid.json.paymentId, legacyDerivedPaymentId('alice', created.json.orderId, 'pay-key'));
  const again = await capture(server, ALICE, created.json.orderId, { amount: 100, currency: 'EUR' }, 'pay-key');
  assert.is(again.text, paid.text, 'the key keeps the id it chose');
});

test("another client's order is absent to B: a capture on it answers exactly as for a missing order, and A's captures go on", async ({
  server,
}) => {
  await put(server, ALICE, 'alices', orderBody({ lines: [{ sku: 'S', quantity: 1, unitPrice: 1_000 }] }));
  let foreign: Sent | undefined;
  await assertNothingWritten(server.store, async () => {
    foreign = await capture(server, BOB, 'alices', { paymentId: 'bob-pay', amount: 1_000, currency: 'EUR' }, 'bob-key');
  });
  const missing = await capture(
    server,
    BOB,
    'nobodys',
    { paymentId: 'bob-pay', amount: 1_000, currency: 'EUR' },
    'bob-key-2',
  );
  assertProblem(foreign!, 404, 'order-not-found');
  assertIndistinguishable(foreign!, missing, 'alices', 'nobodys');
  const own = await capture(
    server,
    ALICE,
    'alices',
    { paymentId: 'alice-pay', amount: 1_000, currency: 'EUR' },
    'alice-key',
  );
  assert.is(own.status, 201, own.text);
  // B's refused key is free: no request of B's took effect under it.
  assert.is((await capture(server, BOB, 'nobodys', { amount: 1, currency: 'EUR' }, 'bob-key')).status, 404);
});

test('PUT on an id another client owns: the same 409 its owner gets for different details, revealing nothing', async ({
  server,
}) => {
  await put(server, ALICE, 'taken-id');
  const byBobSameBody = await put(server, BOB, 'taken-id');
  const byAliceOtherBody = await put(server, ALICE, 'taken-id', orderBody({ customerId: 'someone-else' }));
  assertProblem(byBobSameBody, 409, 'order-already-exists');
  assert.is(byBobSameBody.json.detail, byAliceOtherBody.json.detail);
  assert.not.match(byBobSameBody.text, /cust-1|alice/);
});

test('every command route, on another client’s order, answers as on a missing one', async ({ server }) => {
  await put(server, ALICE, 'iso-order');
  const cases: Array<[string, string, Record<string, unknown>, Record<string, string>]> = [
    ['POST', '/orders/%s/payments', { paymentId: 'x', amount: 1, currency: 'EUR' }, {}],
    ['POST', '/orders/%s/payments', { amount: 1, currency: 'EUR' }, { 'idempotency-key': 'iso-derived' }],
    ['POST', '/orders/%s/payments', { paymentId: 'y', amount: 1, currency: 'EUR' }, { 'if-match': '"0"' }],
  ];
  for (const [method, template, body, headers] of cases) {
    const foreign = await send(server.url, method, template.replace('%s', 'iso-order'), {
      body,
      headers: as(BOB, headers),
    });
    const missing = await send(server.url, method, template.replace('%s', 'iso-missing'), {
      body,
      headers: as(BOB, headers),
    });
    assertIndistinguishable(foreign, missing, 'iso-order', 'iso-missing');
  }
});

test('the auditor reads every client’s orders and events, and every command answers 403, writing nothing', async ({
  server,
}) => {
  const { position } = (await put(server, ALICE, 'audited')).json;
  assert.is(
    (await send(server.url, 'GET', `/orders/audited?minPosition=${position}`, { headers: as(AUDIT) })).status,
    200,
  );
  assert.is((await send(server.url, 'GET', '/orders/audited/events', { headers: as(AUDIT) })).status, 200);
  const commands: Array<[string, string, unknown, Record<string, string>]> = [
    ['PUT', '/orders/audit-new', orderBody(), {}],
    ['POST', '/orders', orderBody(), { 'idempotency-key': 'audit-k' }],
    ['POST', '/orders/audited/payments', { paymentId: 'p', amount: 1, currency: 'EUR' }, {}],
    ['POST', '/orders/audited/payments', { amount: 1, currency: 'EUR' }, { 'idempotency-key': 'audit-k2' }],
  ];
  await assertNothingWritten(server.store, async () => {
    for (const [method, path, body, headers] of commands) {
      assertProblem(await send(server.url, method, path, { body, headers: as(AUDIT, headers) }), 403, 'forbidden');
    }
  });
  const openapi = (await send(server.url, 'GET', '/openapi.json', { headers: as(AUDIT) })).json;
  for (const [path, method] of [
    ['/orders/{orderId}', 'put'],
    ['/orders', 'post'],
    ['/orders/{orderId}/payments', 'post'],
  ] as const) {
    assert.ok(openapi.paths[path][method].responses['403'], `${method} ${path} lists 403`);
  }
});

test('reads of another client’s order and its raw events answer as for a missing order', async ({ server }) => {
  const { position } = (await put(server, ALICE, 'read-iso', orderBody(), { 'idempotency-key': 'alice-secret-key' }))
    .json;
  for (const path of ['/orders/read-iso', '/orders/read-iso/events']) {
    const foreign = await send(server.url, 'GET', `${path}?minPosition=${position}`, { headers: as(BOB) });
    const missing = await send(server.url, 'GET', `${path.replace('read-iso', 'read-none')}?minPosition=${position}`, {
      headers: as(BOB),
    });
    assertIndistinguishable(foreign, missing, 'read-iso', 'read-none');
    assert.not.match(foreign.text, /alice-secret-key/);
  }
  const list = await send(server.url, 'GET', `/orders?minPosition=${position}`, { headers: as(BOB) });
  assert.not.match(list.text, /read-iso/);
});

/** Same status, same problem, same detail but for the id itself: nothing tells the two apart. */
function assertIndistinguishable(a: Sent, b: Sent, idA: string, idB: string): void {
  assert.is(a.status, b.status, `${a.text} vs ${b.text}`);
  const strip = (response: Sent, id: string) => {
    const { instance: _instance, ...rest } = response.json as Record<string, unknown>;
    return JSON.stringify(rest).replaceAll(id, '<id>');
  };
  assert.is(strip(a, idA), strip(b, idB));
}

test.run();
