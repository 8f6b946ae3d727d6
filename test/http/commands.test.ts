/** Successful commands and replays over real HTTP: status, headers, body shape, what is stored. */
import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import { allEvents, orderBody, send, startTestServer, type TestServer } from '../support/http.ts';

const test = suite<{ server: TestServer }>('http: commands');

test.before(async (context) => {
  context.server = await startTestServer();
});
test.after(async ({ server }) => server.close());

test('201 PUT /orders/:id: the order, its revision and position as strings, Location and ETag', async ({ server }) => {
  const response = await send(server.url, 'PUT', '/orders/put-1', { body: orderBody() });
  assert.is(response.status, 201, response.text);
  assert.is(response.headers.location, '/orders/put-1');
  assert.is(response.headers.etag, '"0"');
  assert.is(response.headers['idempotent-replayed'], undefined);
  const body = response.json;
  assert.equal(Object.keys(body), [
    'orderId',
    'customerId',
    'currency',
    'lines',
    'total',
    'revision',
    'position',
    'createdAt',
  ]);
  assert.equal(
    { ...body, position: undefined, createdAt: undefined },
    { ...orderBody(), orderId: 'put-1', total: 2_000, revision: '0', position: undefined, createdAt: undefined },
  );
  assert.match(body.position, /^\d+$/);
  const stored = (await allEvents(server.store)).filter((e) => e.streamId === 'order-put-1');
  assert.is(stored.length, 1);
  assert.is(String(stored[0]!.position), body.position);
  assert.is(stored[0]!.metadata.recordedAt, body.createdAt);
});

test('201 replay: same body byte for byte, Idempotent-Replayed, whatever the key order of the JSON', async ({
  server,
}) => {
  const first = await send(server.url, 'PUT', '/orders/put-2', { body: orderBody() });
  const { lines, currency, customerId } = orderBody();
  const again = await send(server.url, 'PUT', '/orders/put-2', {
    rawBody: JSON.stringify({ lines, currency, customerId }),
    headers: { 'content-type': 'application/json' },
  });
  assert.is(again.status, 201);
  assert.is(again.text, first.text);
  assert.is(again.headers['idempotent-replayed'], 'true');
  assert.is(again.headers.etag, first.headers.etag);
  assert.is((await allEvents(server.store)).filter((e) => e.streamId === 'order-put-2').length, 1);
});

test('201 POST /orders: the id is derived from the key; the key is echoed and recorded', async ({ server }) => {
  const response = await send(server.url, 'POST', '/orders', {
    body: orderBody(),
    headers: { 'idempotency-key': 'create-1' },
  });
  assert.is(response.status, 201, response.text);
  assert.is(response.headers['idempotency-key'], 'create-1');
  assert.match(response.json.orderId, /^[0-9a-f-]{36}$/);
  assert.is(response.headers.location, `/orders/${response.json.orderId}`);
  const again = await send(server.url, 'POST', '/orders', {
    body: orderBody(),
    headers: { 'idempotency-key': '"create-1"' },
  });
  assert.is(again.text, response.text, 'a quoted sf-string is the same key');
  assert.is(again.headers['idempotent-replayed'], 'true');
  const stored = (await allEvents(server.store)).find((e) => e.streamId === `order-${response.json.orderId}`);
  assert.is(stored?.metadata.idempotencyKey, 'create-1');
  assert.is(stored?.metadata.clientId, 'anonymous');
  assert.match(String(stored?.metadata.requestHash), /^[0-9a-f]{64}$/);
});

test('201 capture: explicit paymentId, then a derived one; Location, ETag and body', async ({ server }) => {
  await send(server.url, 'PUT', '/orders/pay-1', { body: orderBody() });
  const explicit = await send(server.url, 'POST', '/orders/pay-1/payments', {
    body: { paymentId: 'p-1', amount: 500, currency: 'EUR' },
  });
  assert.is(explicit.status, 201, explicit.text);
  assert.is(explicit.headers.location, '/orders/pay-1/payments/p-1');
  assert.is(explicit.headers.etag, '"1"');
  assert.equal(Object.keys(explicit.json), [
    'orderId',
    'paymentId',
    'amount',
    'currency',
    'capturedAt',
    'revision',
    'position',
  ]);
  assert.equal(
    { ...explicit.json, capturedAt: 0, position: 0 },
    { orderId: 'pay-1', paymentId: 'p-1', amount: 500, currency: 'EUR', capturedAt: 0, revision: '1', position: 0 },
  );

  const derived = await send(server.url, 'POST', '/orders/pay-1/payments', {
    body: { amount: 700, currency: 'EUR' },
    headers: { 'idempotency-key': 'cap-1' },
  });
  assert.is(derived.status, 201, derived.text);
  assert.match(derived.json.paymentId, /^[0-9a-f-]{36}$/);
  assert.is(derived.headers.etag, '"2"');
});

test('If-Match: a current ETag passes; a replay with a stale one still returns the original result', async ({
  server,
}) => {
  await send(server.url, 'PUT', '/orders/match-1', { body: orderBody() });
  const capture = { paymentId: 'p-1', amount: 100, currency: 'EUR' };
  const first = await send(server.url, 'POST', '/orders/match-1/payments', {
    body: capture,
    headers: { 'if-match': '"0"' },
  });
  assert.is(first.status, 201, first.text);
  const replay = await send(server.url, 'POST', '/orders/match-1/payments', {
    body: capture,
    headers: { 'if-match': 'W/"0"' },
  });
  assert.is(replay.status, 201);
  assert.is(replay.text, first.text);
  assert.is(replay.headers['idempotent-replayed'], 'true');
});

test('X-Correlation-Id is echoed and recorded; without one the request id is used', async ({ server }) => {
  const response = await send(server.url, 'PUT', '/orders/corr-1', {
    body: orderBody(),
    headers: { 'x-correlation-id': 'trace-abc' },
  });
  assert.is(response.headers['x-correlation-id'], 'trace-abc');
  const other = await send(server.url, 'PUT', '/orders/corr-2', { body: orderBody() });
  assert.is(other.headers['x-correlation-id'], other.headers['x-request-id']);
  const events = await allEvents(server.store);
  assert.is(events.find((e) => e.streamId === 'order-corr-1')?.metadata.correlationId, 'trace-abc');
  assert.is(events.find((e) => e.streamId === 'order-corr-2')?.metadata.correlationId, other.headers['x-request-id']);
});

test('GET /orders/:id/events: the raw stream with revisions and positions as strings, and the ETag', async ({
  server,
}) => {
  await send(server.url, 'PUT', '/orders/audit-1', { body: orderBody() });
  await send(server.url, 'POST', '/orders/audit-1/payments', { body: { paymentId: 'p', amount: 5, currency: 'EUR' } });
  const response = await send(server.url, 'GET', '/orders/audit-1/events');
  assert.is(response.status, 200, response.text);
  assert.is(response.headers.etag, '"1"');
  assert.is(response.json.revision, '1');
  assert.equal(
    response.json.events.map((e: { type: string; revision: string }) => [e.type, e.revision]),
    [
      ['OrderCreated', '0'],
      ['PaymentCaptured', '1'],
    ],
  );
  for (const event of response.json.events) {
    assert.match(event.position, /^\d+$/);
    assert.match(event.metadata.hash, /^[0-9a-f]{64}$/);
  }
});

test.run();
