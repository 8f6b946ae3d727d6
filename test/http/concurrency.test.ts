/**
 * Concurrent duplicates over real HTTP: N identical requests at once end as one event, N
 * byte-identical bodies, and exactly one response without Idempotent-Replayed.
 */
import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import { allEvents, orderBody, send, type Sent, startTestServer, type TestServer } from '../support/http.ts';

const test = suite<{ server: TestServer }>('http: concurrent duplicates');

test.before(async (context) => {
  context.server = await startTestServer();
});
test.after(async ({ server }) => server.close());

function assertOneEffect(responses: readonly Sent[]): void {
  for (const response of responses) assert.is(response.status, 201, response.text);
  assert.is(new Set(responses.map((r) => r.text)).size, 1, 'every body is byte-identical');
  assert.is(new Set(responses.map((r) => r.headers.etag)).size, 1, 'every ETag is the same');
  assert.is(responses.filter((r) => r.headers['idempotent-replayed'] === undefined).length, 1, 'exactly one original');
  assert.ok(
    responses.every(
      (r) => r.headers['idempotent-replayed'] === undefined || r.headers['idempotent-replayed'] === 'true',
    ),
  );
}

const times = <T>(n: number, make: () => Promise<T>) => Promise.all(Array.from({ length: n }, make));

test('200 concurrent captures with one Idempotency-Key: one PaymentCaptured', async ({ server }) => {
  await send(server.url, 'PUT', '/orders/storm-1', { body: orderBody() });
  const responses = await times(200, () =>
    send(server.url, 'POST', '/orders/storm-1/payments', {
      body: { amount: 700, currency: 'EUR' },
      headers: { 'idempotency-key': 'storm-key' },
    }),
  );
  assertOneEffect(responses);
  const captures = (await allEvents(server.store)).filter(
    (e) => e.streamId === 'order-storm-1' && e.type === 'PaymentCaptured',
  );
  assert.is(captures.length, 1);
});

test('100 concurrent POST /orders with one key: one OrderCreated, one key binding', async ({ server }) => {
  const before = (await allEvents(server.store)).length;
  const responses = await times(100, () =>
    send(server.url, 'POST', '/orders', { body: orderBody(), headers: { 'idempotency-key': 'create-storm' } }),
  );
  assertOneEffect(responses);
  const events = (await allEvents(server.store)).slice(before);
  assert.equal(
    events.map((e) => e.type),
    ['IdempotencyKeyBound', 'OrderCreated'],
  );
  assert.is(events[1]!.streamId, `order-${responses[0]!.json.orderId}`);
});

test('100 concurrent PUT /orders/:id: one OrderCreated', async ({ server }) => {
  const responses = await times(100, () => send(server.url, 'PUT', '/orders/put-storm', { body: orderBody() }));
  assertOneEffect(responses);
  assert.is((await allEvents(server.store)).filter((e) => e.streamId === 'order-put-storm').length, 1);
});

test('without single-flight to help: two servers on one SQLite file, 100 duplicates each', async ({ server }) => {
  // Each process coalesces only its own requests; across them, the expected revision and the
  // idempotent decider alone must make the duplicates one event.
  const twin = await startTestServer({ dbPath: server.dbPath });
  try {
    await send(server.url, 'PUT', '/orders/two-servers', { body: orderBody() });
    const capture = (url: string) =>
      send(url, 'POST', '/orders/two-servers/payments', {
        body: { amount: 300, currency: 'EUR' },
        headers: { 'idempotency-key': 'twin-key' },
      });
    const responses = await Promise.all(
      Array.from({ length: 200 }, (_, i) => capture(i % 2 === 0 ? server.url : twin.url)),
    );
    assertOneEffect(responses);
    const captures = (await allEvents(server.store)).filter(
      (e) => e.streamId === 'order-two-servers' && e.type === 'PaymentCaptured',
    );
    assert.is(captures.length, 1);
  } finally {
    await twin.close();
  }
});

test('many different captures at once: each its own event, none lost', async ({ server }) => {
  await send(server.url, 'PUT', '/orders/many', {
    body: orderBody({ lines: [{ sku: 'S', quantity: 1, unitPrice: 100_000 }] }),
  });
  // 100 writers on one stream: a writer that keeps losing its race gets 503 concurrency-conflict
  // with Retry-After, and does what a client must: resend the same capture (same paymentId).
  const capture = async (i: number) => {
    for (let attempt = 0; ; attempt++) {
      const response = await send(server.url, 'POST', '/orders/many/payments', {
        body: { paymentId: `p-${i}`, amount: 10, currency: 'EUR' },
      });
      if (response.status !== 503 || attempt === 20) return response;
      assert.ok(response.headers['retry-after'], 'a 503 says when to retry');
      await new Promise((resolve) => setTimeout(resolve, 5 + Math.random() * 20));
    }
  };
  const responses = await Promise.all(Array.from({ length: 100 }, (_, i) => capture(i)));
  for (const response of responses) assert.is(response.status, 201, response.text);
  assert.equal(new Set(responses.map((r) => r.json.revision)).size, 100, 'each capture has its own revision');
  assert.is((await allEvents(server.store)).filter((e) => e.streamId === 'order-many').length, 101);
});

test.run();
