/** Authorizations, their capture and void, refunds and cancellation over real HTTP. */
import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import { allEvents, orderBody, send, startTestServer, type TestServer } from '../support/http.ts';
import { assertProblem } from '../support/problems.ts';

const test = suite<{ server: TestServer }>('http: authorize, capture, void, refund, cancel');

test.before(async (context) => {
  context.server = await startTestServer();
});
test.after(async ({ server }) => server.close());

/** A new order of 2000 EUR minor units. */
async function order(server: TestServer, orderId: string): Promise<void> {
  const created = await send(server.url, 'PUT', `/orders/${orderId}`, { body: orderBody() });
  assert.is(created.status, 201, created.text);
}

const storedTypes = async (server: TestServer, orderId: string) =>
  (await allEvents(server.store)).filter((e) => e.streamId === `order-${orderId}`).map((e) => e.type);

test('authorize: 201, Location, ETag; the same request replays byte for byte', async ({ server }) => {
  await order(server, 'auth-1');
  const body = { paymentId: 'a-1', amount: 1500, currency: 'EUR' };
  const first = await send(server.url, 'POST', '/orders/auth-1/authorizations', { body });
  assert.is(first.status, 201, first.text);
  assert.is(first.headers.location, '/orders/auth-1/authorizations/a-1');
  assert.is(first.headers.etag, '"1"');
  assert.equal(Object.keys(first.json), [
    'orderId',
    'paymentId',
    'amount',
    'currency',
    'authorizedAt',
    'revision',
    'position',
  ]);
  assert.equal(
    { ...first.json, authorizedAt: undefined, position: undefined },
    {
      orderId: 'auth-1',
      ...body,
      authorizedAt: undefined,
      revision: '1',
      position: undefined,
    },
  );
  const again = await send(server.url, 'POST', '/orders/auth-1/authorizations', { body });
  assert.is(again.text, first.text);
  assert.is(again.headers['idempotent-replayed'], 'true');
  assert.equal(await storedTypes(server, 'auth-1'), ['OrderCreated', 'PaymentAuthorized']);
});

test('authorize without a paymentId: the key is required, and its random id is kept with it', async ({ server }) => {
  await order(server, 'auth-2');
  const body = { amount: 500, currency: 'EUR' };
  assertProblem(
    await send(server.url, 'POST', '/orders/auth-2/authorizations', { body }),
    400,
    'idempotency-key-missing',
  );
  const headers = { 'idempotency-key': 'authorize-2' };
  const first = await send(server.url, 'POST', '/orders/auth-2/authorizations', { body, headers });
  assert.is(first.status, 201, first.text);
  assert.match(first.json.paymentId, /^[0-9a-f-]{36}$/);
  const again = await send(server.url, 'POST', '/orders/auth-2/authorizations', { body, headers });
  assert.is(again.text, first.text);
  const other = await send(server.url, 'POST', '/orders/auth-2/authorizations', {
    body,
    headers: { 'idempotency-key': 'authorize-2b' },
  });
  assert.is(other.status, 201);
  assert.is.not(other.json.paymentId, first.json.paymentId);
});

test('authorize past the outstanding amount is 409 authorization-exceeds-outstanding; nothing written', async ({
  server,
}) => {
  await order(server, 'auth-3');
  await send(server.url, 'POST', '/orders/auth-3/authorizations', {
    body: { paymentId: 'a-1', amount: 1500, currency: 'EUR' },
  });
  const over = await send(server.url, 'POST', '/orders/auth-3/authorizations', {
    body: { paymentId: 'a-2', amount: 501, currency: 'EUR' },
  });
  assertProblem(over, 409, 'authorization-exceeds-outstanding');
  const direct = await send(server.url, 'POST', '/orders/auth-3/payments', {
    body: { paymentId: 'p-1', amount: 501, currency: 'EUR' },
  });
  assertProblem(direct, 409, 'capture-exceeds-outstanding');
  assert.equal(await storedTypes(server, 'auth-3'), ['OrderCreated', 'PaymentAuthorized']);
});

test('capture an authorization: all of it by default, linked to it; a second different capture is refused', async ({
  server,
}) => {
  await order(server, 'cap-1');
  await send(server.url, 'POST', '/orders/cap-1/authorizations', {
    body: { paymentId: 'a-1', amount: 1500, currency: 'EUR' },
  });
  const captured = await send(server.url, 'POST', '/orders/cap-1/authorizations/a-1/capture', { body: {} });
  assert.is(captured.status, 201, captured.text);
  assert.is(captured.headers.location, '/orders/cap-1/payments/a-1');
  assert.is(captured.json.amount, 1500);
  const again = await send(server.url, 'POST', '/orders/cap-1/authorizations/a-1/capture', { body: {} });
  assert.is(again.text, captured.text);
  const stored = (await allEvents(server.store)).find(
    (e) => e.streamId === 'order-cap-1' && e.type === 'PaymentCaptured',
  );
  assert.is(stored?.data.authorizationId, 'a-1');
  const different = await send(server.url, 'POST', '/orders/cap-1/authorizations/a-1/capture', {
    body: { amount: 10 },
  });
  assertProblem(different, 409, 'authorization-already-captured');
  assertProblem(
    await send(server.url, 'POST', '/orders/cap-1/authorizations/a-1/void', { body: {} }),
    409,
    'authorization-already-captured',
  );
});

test('a partial capture releases the rest of the hold; more than authorized is refused', async ({ server }) => {
  await order(server, 'cap-2');
  await send(server.url, 'POST', '/orders/cap-2/authorizations', {
    body: { paymentId: 'a-1', amount: 1500, currency: 'EUR' },
  });
  const over = await send(server.url, 'POST', '/orders/cap-2/authorizations/a-1/capture', { body: { amount: 1501 } });
  assertProblem(over, 409, 'capture-exceeds-authorization');
  const part = await send(server.url, 'POST', '/orders/cap-2/authorizations/a-1/capture', { body: { amount: 500 } });
  assert.is(part.status, 201, part.text);
  const next = await send(server.url, 'POST', '/orders/cap-2/authorizations', {
    body: { paymentId: 'a-2', amount: 1500, currency: 'EUR' },
  });
  assert.is(next.status, 201, next.text);
  assertProblem(
    await send(server.url, 'POST', '/orders/cap-2/authorizations/a-9/capture', { body: {} }),
    404,
    'authorization-not-found',
  );
});

test('void: 201, twice is a replay; a voided authorization cannot be captured', async ({ server }) => {
  await order(server, 'void-1');
  await send(server.url, 'POST', '/orders/void-1/authorizations', {
    body: { paymentId: 'a-1', amount: 1500, currency: 'EUR' },
  });
  const voided = await send(server.url, 'POST', '/orders/void-1/authorizations/a-1/void', { body: {} });
  assert.is(voided.status, 201, voided.text);
  assert.is(voided.headers.location, '/orders/void-1/authorizations/a-1');
  assert.equal(Object.keys(voided.json), ['orderId', 'paymentId', 'voidedAt', 'revision', 'position']);
  const again = await send(server.url, 'POST', '/orders/void-1/authorizations/a-1/void', { body: {} });
  assert.is(again.text, voided.text);
  assert.is(again.headers['idempotent-replayed'], 'true');
  assertProblem(
    await send(server.url, 'POST', '/orders/void-1/authorizations/a-1/capture', { body: {} }),
    409,
    'authorization-voided',
  );
  assert.equal(await storedTypes(server, 'void-1'), ['OrderCreated', 'PaymentAuthorized', 'AuthorizationVoided']);
});

test('refunds: 201 with Location; the same refundId replays, a different request under it is refused', async ({
  server,
}) => {
  await order(server, 'ref-1');
  await send(server.url, 'POST', '/orders/ref-1/payments', {
    body: { paymentId: 'p-1', amount: 1000, currency: 'EUR' },
  });
  const path = '/orders/ref-1/payments/p-1/refunds';
  const first = await send(server.url, 'POST', path, { body: { refundId: 'r-1', amount: 600 } });
  assert.is(first.status, 201, first.text);
  assert.is(first.headers.location, '/orders/ref-1/payments/p-1/refunds/r-1');
  assert.equal(
    { ...first.json, refundedAt: undefined, position: undefined },
    {
      orderId: 'ref-1',
      paymentId: 'p-1',
      refundId: 'r-1',
      amount: 600,
      currency: 'EUR',
      refundedAt: undefined,
      revision: '2',
      position: undefined,
    },
  );
  assert.is((await send(server.url, 'POST', path, { body: { refundId: 'r-1', amount: 600 } })).text, first.text);
  assertProblem(
    await send(server.url, 'POST', path, { body: { refundId: 'r-1', amount: 100 } }),
    409,
    'refund-already-recorded',
  );
  assertProblem(
    await send(server.url, 'POST', path, { body: { refundId: 'r-2', amount: 401 } }),
    409,
    'refund-exceeds-captured',
  );
  const rest = await send(server.url, 'POST', path, {
    body: { amount: 400 },
    headers: { 'idempotency-key': 'refund-rest' },
  });
  assert.is(rest.status, 201, rest.text);
  assert.match(rest.json.refundId, /^[0-9a-f-]{36}$/);
  const retried = await send(server.url, 'POST', path, {
    body: { amount: 400 },
    headers: { 'idempotency-key': 'refund-rest' },
  });
  assert.is(retried.text, rest.text, 'the retry finds the refund id kept in the key binding');
  assertProblem(await send(server.url, 'POST', path, { body: { amount: 1 } }), 400, 'idempotency-key-missing');
  const unknown = await send(server.url, 'POST', '/orders/ref-1/payments/p-9/refunds', {
    body: { refundId: 'r-9', amount: 1 },
  });
  assertProblem(unknown, 404, 'payment-not-found');
});

test('cancel: voids open holds in the same write; then every money command is order-cancelled', async ({ server }) => {
  await order(server, 'can-1');
  await send(server.url, 'POST', '/orders/can-1/authorizations', {
    body: { paymentId: 'a-1', amount: 700, currency: 'EUR' },
  });
  const cancelled = await send(server.url, 'POST', '/orders/can-1/cancel', { body: { reason: 'out of stock' } });
  assert.is(cancelled.status, 201, cancelled.text);
  assert.is(cancelled.headers.location, '/orders/can-1');
  assert.equal(
    { ...cancelled.json, cancelledAt: undefined, position: undefined },
    {
      orderId: 'can-1',
      reason: 'out of stock',
      cancelledAt: undefined,
      revision: '3',
      position: undefined,
    },
  );
  assert.equal(await storedTypes(server, 'can-1'), [
    'OrderCreated',
    'PaymentAuthorized',
    'AuthorizationVoided',
    'OrderCancelled',
  ]);
  const again = await send(server.url, 'POST', '/orders/can-1/cancel', { body: { reason: 'out of stock' } });
  assert.is(again.text, cancelled.text);
  const money = [
    ['/orders/can-1/payments', { paymentId: 'p-1', amount: 1, currency: 'EUR' }],
    ['/orders/can-1/authorizations', { paymentId: 'a-2', amount: 1, currency: 'EUR' }],
  ] as const;
  for (const [path, body] of money)
    assertProblem(await send(server.url, 'POST', path, { body }), 409, 'order-cancelled');
  assert.equal((await storedTypes(server, 'can-1')).length, 4);
});

test('cancel with money captured net is refused; once refunded it is allowed', async ({ server }) => {
  await order(server, 'can-2');
  await send(server.url, 'POST', '/orders/can-2/payments', {
    body: { paymentId: 'p-1', amount: 1000, currency: 'EUR' },
  });
  assertProblem(
    await send(server.url, 'POST', '/orders/can-2/cancel', { body: { reason: 'x' } }),
    409,
    'order-has-net-captured',
  );
  await send(server.url, 'POST', '/orders/can-2/payments/p-1/refunds', { body: { refundId: 'r-1', amount: 1000 } });
  assert.is((await send(server.url, 'POST', '/orders/can-2/cancel', { body: { reason: 'x' } })).status, 201);
});

test('bodies are validated: a reason of 0 or 501 characters, extra fields, a zero amount are 400', async ({
  server,
}) => {
  await order(server, 'val-1');
  for (const reason of ['', 'x'.repeat(501)]) {
    assertProblem(
      await send(server.url, 'POST', '/orders/val-1/cancel', { body: { reason } }),
      400,
      'validation-failed',
    );
  }
  assertProblem(
    await send(server.url, 'POST', '/orders/val-1/authorizations/a-1/void', { body: { x: 1 } }),
    400,
    'validation-failed',
  );
  const zero = await send(server.url, 'POST', '/orders/val-1/authorizations', {
    body: { paymentId: 'a', amount: 0, currency: 'EUR' },
  });
  assertProblem(zero, 400, 'validation-failed');
  assert.is(
    (await send(server.url, 'POST', '/orders/val-1/cancel', { body: { reason: 'x'.repeat(500) } })).status,
    201,
  );
});

test('ETag/If-Match: a stale revision is 412 and writes nothing', async ({ server }) => {
  await order(server, 'etag-1');
  const stale = await send(server.url, 'POST', '/orders/etag-1/authorizations', {
    body: { paymentId: 'a-1', amount: 1, currency: 'EUR' },
    headers: { 'if-match': '"5"' },
  });
  assertProblem(stale, 412, 'revision-mismatch');
  const fresh = await send(server.url, 'POST', '/orders/etag-1/cancel', {
    body: { reason: 'x' },
    headers: { 'if-match': '"0"' },
  });
  assert.is(fresh.status, 201, fresh.text);
  assert.equal(await storedTypes(server, 'etag-1'), ['OrderCreated', 'OrderCancelled']);
});

test('a missing order is 404 order-not-found on every new route', async ({ server }) => {
  const routes = [
    ['/orders/none/authorizations', { paymentId: 'a', amount: 1, currency: 'EUR' }],
    ['/orders/none/authorizations/a/capture', {}],
    ['/orders/none/authorizations/a/void', {}],
    ['/orders/none/payments/p/refunds', { refundId: 'r', amount: 1 }],
    ['/orders/none/cancel', { reason: 'x' }],
  ] as const;
  for (const [path, body] of routes)
    assertProblem(await send(server.url, 'POST', path, { body }), 404, 'order-not-found');
});

const owned = suite<{ server: TestServer }>("http: money commands on another client's order");

const ALICE = 'alice-secret-0123456789';
const BOB = 'bob-secret-0123456789ab';
const as = (secret: string) => ({ authorization: `Bearer ${secret}` });

owned.before(async (context) => {
  context.server = await startTestServer({ env: { LEDGER_API_KEYS: `alice:${ALICE},bob:${BOB}` } });
});
owned.after(async ({ server }) => server.close());

owned('are answered exactly as if the order did not exist, and write nothing', async ({ server }) => {
  const created = await send(server.url, 'PUT', '/orders/alice-1', { body: orderBody(), headers: as(ALICE) });
  assert.is(created.status, 201, created.text);
  await send(server.url, 'POST', '/orders/alice-1/payments', {
    body: { paymentId: 'p-1', amount: 10, currency: 'EUR' },
    headers: as(ALICE),
  });
  await send(server.url, 'POST', '/orders/alice-1/authorizations', {
    body: { paymentId: 'a-1', amount: 10, currency: 'EUR' },
    headers: as(ALICE),
  });
  const routes = [
    ['authorizations', { paymentId: 'a-2', amount: 1, currency: 'EUR' }],
    ['authorizations/a-1/capture', {}],
    ['authorizations/a-1/void', {}],
    ['payments/p-1/refunds', { refundId: 'r', amount: 1 }],
    ['cancel', { reason: 'x' }],
  ] as const;
  for (const [tail, body] of routes) {
    const foreign = await send(server.url, 'POST', `/orders/alice-1/${tail}`, { body, headers: as(BOB) });
    const absent = await send(server.url, 'POST', `/orders/nobody-1/${tail}`, { body, headers: as(BOB) });
    assertProblem(foreign, 404, 'order-not-found');
    assert.is(foreign.json.detail, absent.json.detail.replace('nobody-1', 'alice-1'));
  }
  assert.equal(await storedTypes(server, 'alice-1'), ['OrderCreated', 'PaymentCaptured', 'PaymentAuthorized']);
});

test.run();
owned.run();
