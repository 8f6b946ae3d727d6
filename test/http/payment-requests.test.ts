/**
 * POST /orders/:orderId/payments with Prefer: respond-async over real HTTP: 202 and a Location
 * to poll, replays of duplicates, the key-binding rules, 501 without a PSP, 503 once the buffer
 * is full (nothing written either time), the synchronous path unchanged, and the outcome on GET.
 */
import { randomUUID } from 'node:crypto';
import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import { DECLINED_METHOD, FakeGateway } from '../support/fake-gateway.ts';
import { createCommandHandler } from '../../src/commands/handler.ts';
import { openMemoryStore } from '../../src/eventstore/memory-store.ts';
import type { EventStore } from '../../src/eventstore/port.ts';
import { memoryProcessorCheckpoint } from '../../src/payments/processor-checkpoint.ts';
import { startPaymentBuffer } from '../../src/payments/service.ts';
import { silentLogger } from '../../src/projections/engine.ts';
import { seedRequests } from '../payments/support.ts';
import { listenApp, orderBody, send, startTestServer, type TestServer } from '../support/http.ts';
import { assertNothingWritten, assertProblem } from '../support/problems.ts';
import { splitPreferences } from '../../src/http/prefer.ts';
import { pspIdempotencyKey } from '../../src/payments/idempotency-key.ts';

const ASYNC = { prefer: 'respond-async' };

async function newOrder(url: string, unitPrice = 1_000): Promise<string> {
  const orderId = `o-${randomUUID()}`;
  const created = await send(url, 'PUT', `/orders/${orderId}`, {
    body: orderBody({ lines: [{ sku: 'S', quantity: 1, unitPrice }] }),
  });
  assert.is(created.status, 201, created.text);
  return orderId;
}

const request = (paymentId: string | undefined, amount = 400, paymentMethod = 'pm_card_visa') => ({
  ...(paymentId !== undefined && { paymentId }),
  amount,
  currency: 'EUR',
  paymentMethod,
});

async function pollUntilResolved(url: string, location: string): Promise<any> {
  for (let i = 0; i < 500; i++) {
    const response = await send(url, 'GET', location);
    assert.is(response.status, 200, response.text);
    if (response.json.status !== 'pending') return response.json;
    await new Promise((resolve) => setTimeout(resolve, 10));
  }
  throw new Error('still pending');
}

const withPsp = suite<{ server: TestServer; gateway: FakeGateway }>('http: payment requests through a PSP');

withPsp.before(async (context) => {
  context.gateway = new FakeGateway();
  context.server = await startTestServer({ gateway: context.gateway, paymentProcessor: { pollMs: 20 } });
});
withPsp.after(async ({ server }) => {
  await server.close();
});

withPsp(
  '202 with Location and Preference-Applied; the PSP captures it; GET shows the outcome',
  async ({ server, gateway }) => {
    const orderId = await newOrder(server.url);
    // Tokens are case-insensitive and may come among other preferences, over several header lines.
    const response = await send(server.url, 'POST', `/orders/${orderId}/payments`, {
      body: request('pay-1'),
      headers: { prefer: ['wait=5', 'handling=lenient, RESPOND-ASYNC'] },
    });
    assert.is(response.status, 202, response.text);
    assert.is(response.headers.location, `/orders/${orderId}/payments/pay-1`);
    assert.is(response.headers['preference-applied'], 'respond-async');
    assert.is(response.json.status, 'pending');
    assert.is(response.json.paymentMethod, 'pm_card_visa');
    const resolved = await pollUntilResolved(server.url, response.headers.location!);
    assert.is(resolved.status, 'captured');
    assert.match(resolved.pspReference, /^pi_fake_/);
    assert.is(resolved.amount, 400);
    // Read after the outcome: the summary's revision is the stream's, claims included, so it is a usable ETag.
    const events = (await send(server.url, 'GET', `/orders/${orderId}/events`)).json;
    const head = await send(server.url, 'GET', `/orders/${orderId}?minPosition=${events.events.at(-1).position}`);
    assert.is(head.json.revision, events.revision);
    assert.is(head.json.pending, 0);
    assert.is(head.json.captured, 400);
    assert.is(head.json.payments[0].request, 'captured');
    assert.is(head.json.payments[0].pspReference, resolved.pspReference);
    const key = pspIdempotencyKey(orderId, 'pay-1');
    const charged = gateway.charges.get(key)?.outcome;
    assert.equal(charged, { kind: 'captured', pspReference: resolved.pspReference }, 'the charge made under its key');

    const again = await send(server.url, 'POST', `/orders/${orderId}/payments`, {
      body: request('pay-1'),
      headers: ASYNC,
    });
    assert.is(again.status, 202, 'a duplicate gets the same 202');
    assert.is(again.headers['idempotent-replayed'], 'true');
    assert.equal(again.json, response.json, 'byte for byte the first answer');
  },
);

withPsp('a declined charge is declined on GET, with the code', async ({ server }) => {
  const orderId = await newOrder(server.url);
  const response = await send(server.url, 'POST', `/orders/${orderId}/payments`, {
    body: request('pay-d', 100, DECLINED_METHOD),
    headers: ASYNC,
  });
  assert.is(response.status, 202, response.text);
  const resolved = await pollUntilResolved(server.url, response.headers.location!);
  assert.is(resolved.status, 'declined');
  assert.is(resolved.declineCode, 'card_declined');
});

withPsp('without a paymentId the key names it; a key reused with another body is refused', async ({ server }) => {
  const orderId = await newOrder(server.url);
  const headers = { ...ASYNC, 'idempotency-key': randomUUID() };
  const first = await send(server.url, 'POST', `/orders/${orderId}/payments`, { body: request(undefined), headers });
  assert.is(first.status, 202, first.text);
  const retry = await send(server.url, 'POST', `/orders/${orderId}/payments`, { body: request(undefined), headers });
  assert.is(retry.status, 202);
  assert.is(retry.json.paymentId, first.json.paymentId);
  assert.is(retry.headers['idempotent-replayed'], 'true');
  const other = await send(server.url, 'POST', `/orders/${orderId}/payments`, {
    body: request(undefined, 401),
    headers,
  });
  assertProblem(other, 422, 'idempotency-key-reused');
  const missing = await send(server.url, 'POST', `/orders/${orderId}/payments`, {
    body: request(undefined),
    headers: ASYNC,
  });
  assertProblem(missing, 400, 'idempotency-key-missing');
});

withPsp('the rules apply at request time; pending requests count against the outstanding', async ({ server }) => {
  const orderId = await newOrder(server.url, 1_000);
  const path = `/orders/${orderId}/payments`;
  const tooMuch = await send(server.url, 'POST', path, { body: request('big', 1_001), headers: ASYNC });
  assertProblem(tooMuch, 409, 'capture-exceeds-outstanding');
  const currency = await send(server.url, 'POST', path, {
    body: { ...request('usd'), currency: 'USD' },
    headers: ASYNC,
  });
  assertProblem(currency, 409, 'currency-mismatch');
  const noMethod = await send(server.url, 'POST', path, {
    body: { paymentId: 'x', amount: 1, currency: 'EUR' },
    headers: ASYNC,
  });
  assertProblem(noMethod, 400, 'validation-failed');
  const accepted = await send(server.url, 'POST', path, { body: request('all', 1_000), headers: ASYNC });
  assert.is(accepted.status, 202);
  // Pending or captured by now: either way nothing is left to capture.
  const sync = await send(server.url, 'POST', path, { body: { paymentId: 'sync', amount: 1, currency: 'EUR' } });
  assertProblem(sync, 409, 'capture-exceeds-outstanding');
});

withPsp('without Prefer the capture is synchronous as before; paymentMethod is refused there', async ({ server }) => {
  const orderId = await newOrder(server.url);
  const path = `/orders/${orderId}/payments`;
  const sync = await send(server.url, 'POST', path, { body: { paymentId: 'p', amount: 10, currency: 'EUR' } });
  assert.is(sync.status, 201, sync.text);
  assert.is(sync.headers['preference-applied'], undefined);
  const withMethod = await send(server.url, 'POST', path, { body: request('q') });
  assertProblem(withMethod, 400, 'validation-failed');
  const reuse = await send(server.url, 'POST', path, { body: request('p', 10), headers: ASYNC });
  assertProblem(reuse, 409, 'payment-id-in-use');
});

withPsp('GET of a payment of an order that does not exist, or no such payment: 404', async ({ server }) => {
  const orderId = await newOrder(server.url);
  assertProblem(await send(server.url, 'GET', `/orders/${orderId}/payments/none`), 404, 'payment-not-found');
  assertProblem(await send(server.url, 'GET', `/orders/nope-${randomUUID()}/payments/x`), 404, 'order-not-found');
});

const withoutPsp = suite<{ server: TestServer }>('http: payment requests without a PSP');
withoutPsp.before(async (context) => {
  context.server = await startTestServer();
});
withoutPsp.after(async ({ server }) => {
  await server.close();
});

withoutPsp('an asynchronous request answers 501 psp-not-configured and writes nothing', async ({ server }) => {
  const orderId = await newOrder(server.url);
  await assertNothingWritten(server.store, async () => {
    const response = await send(server.url, 'POST', `/orders/${orderId}/payments`, {
      body: request('pay-1'),
      headers: ASYNC,
    });
    assertProblem(response, 501, 'psp-not-configured');
  });
  const sync = await send(server.url, 'POST', `/orders/${orderId}/payments`, {
    body: { paymentId: 'p', amount: 10, currency: 'EUR' },
  });
  assert.is(sync.status, 201);
});

const full = suite<{ server: TestServer }>('http: a full payment buffer');
full.before(async (context) => {
  context.server = await startTestServer({
    gateway: new FakeGateway(),
    env: { LEDGER_PAYMENT_BUFFER: '3', LEDGER_PAYMENT_PROCESSOR: 'off' },
  });
});
full.after(async ({ server }) => {
  await server.close();
});

full(
  'past LEDGER_PAYMENT_BUFFER pending requests: 503 with Retry-After, nothing written; a retry replays',
  async ({ server }) => {
    const orderId = await newOrder(server.url);
    const path = `/orders/${orderId}/payments`;
    let last = '';
    for (const id of ['a', 'b', 'c']) {
      const accepted = await send(server.url, 'POST', path, { body: request(id, 10), headers: ASYNC });
      assert.is(accepted.status, 202, accepted.text);
      last = accepted.json.position;
    }
    await assertNothingWritten(server.store, async () => {
      const refused = await send(server.url, 'POST', path, { body: request('d', 10), headers: ASYNC });
      assertProblem(refused, 503, 'payment-buffer-full');
      assert.ok(Number(refused.headers['retry-after']) >= 1);
    });
    const retry = await send(server.url, 'POST', path, { body: request('a', 10), headers: ASYNC });
    assert.is(retry.status, 202, 'a duplicate of a pending request is still its replay');
    assert.is(retry.headers['idempotent-replayed'], 'true');
    // The replay answers with the first request's position: the summary must wait for the last one's.
    const summary = await send(server.url, 'GET', `/orders/${orderId}?minPosition=${last}`);
    assert.is(summary.status, 200, summary.text);
    assert.is(summary.json.pending, 30, 'the order summary shows what is pending');
    assert.equal(
      summary.json.payments.map((p: { request: string }) => p.request),
      ['pending', 'pending', 'pending'],
    );
    const cancel = await send(server.url, 'POST', `/orders/${orderId}/cancel`, { body: { reason: 'no' } });
    assertProblem(cancel, 409, 'order-has-pending-payments');
    const metrics = await send(server.url, 'GET', '/metrics');
    assert.match(metrics.text, /ledger_payment_buffer_depth 3/);
    assert.match(metrics.text, /ledger_payment_oldest_pending_age_seconds \d/);
  },
);

const startUp = suite('http: the payment buffer at start-up');

startUp(
  'before the feed has counted the pending requests, a new one is refused as the full buffer would be',
  async () => {
    const store = openMemoryStore();
    await seedRequests(store, 1, 1);
    // The feed's first read of the log waits for the test: until then this process has counted nothing.
    let release: () => void = () => {};
    const gate = new Promise<void>((resolve) => {
      release = resolve;
    });
    const gated = new Proxy(store, {
      get(target, property) {
        if (property === 'readAll') {
          return async function* (...args: Parameters<EventStore['readAll']>) {
            await gate;
            yield* target.readAll(...args);
          };
        }
        const value = Reflect.get(target, property);
        return typeof value === 'function' ? value.bind(target) : value;
      },
    });
    const payments = startPaymentBuffer({
      store: gated,
      gateway: new FakeGateway(),
      handle: createCommandHandler(store),
      checkpoint: memoryProcessorCheckpoint(),
      logger: silentLogger,
      capacity: 1,
      process: false,
    });
    const app = await listenApp(store, { payments });
    try {
      const orderId = await newOrder(app.url);
      const path = `/orders/${orderId}/payments`;
      await assertNothingWritten(store, async () => {
        const early = await send(app.url, 'POST', path, { body: request('early', 10), headers: ASYNC });
        assertProblem(early, 503, 'payment-buffer-full');
      });
      release();
      await payments.feed.caughtUp;
      await assertNothingWritten(store, async () => {
        const counted = await send(app.url, 'POST', path, { body: request('late', 10), headers: ASYNC });
        assertProblem(counted, 503, 'payment-buffer-full');
      });
    } finally {
      release();
      await app.close();
      await payments.close();
      await store.close();
    }
  },
);

const prefer = suite('Prefer header parsing');
prefer('tokens lower-cased, parameters and values dropped, commas inside quotes kept', () => {
  assert.equal(splitPreferences('respond-async, wait=10'), ['respond-async', 'wait']);
  assert.equal(splitPreferences('Respond-Async;x=1'), ['respond-async']);
  assert.equal(splitPreferences('foo="a, respond-async", return=minimal'), ['foo', 'return']);
  assert.equal(splitPreferences(' , '), []);
});

withPsp.run();
withoutPsp.run();
full.run();
startUp.run();
prefer.run();
