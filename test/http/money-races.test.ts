/**
 * Races between different money commands on one order, over HTTP across two server processes on
 * one SQLite file: each process serialises only its own requests, so the expected revision and
 * the decider alone must keep refunds within what was captured, holds within the total, and one
 * authorization captured or voided, never both. The file then audits clean.
 */
import { randomUUID } from 'node:crypto';
import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import { audit } from '../../src/audit/audit.ts';
import { openSqliteStore } from '../../src/eventstore/sqlite-store.ts';
import { sqliteLocation } from '../../src/eventstore/store-url.ts';
import { decodeEvent } from '../../src/events/codec.ts';
import type { OrderEvent } from '../../src/domain/events.ts';
import { orderBody, send, type Sent } from '../support/http.ts';
import { onTwoServers, resendingOn503, type TwoServers } from '../support/two-servers.ts';

const test = suite<TwoServers>('http: money races across two processes');
onTwoServers(test, 'money-races');

/**
 * One command with its own key, to the server given; a writer that loses the race for the stream
 * gets 503 with Retry-After and does what a client must: resend the same request with the same key.
 */
function command(url: string, path: string, body: unknown): Promise<Sent> {
  const key = randomUUID();
  return resendingOn503(
    () => send(url, 'POST', path, { body, headers: { 'idempotency-key': key } }),
    (response) => assert.ok(response.headers['retry-after'], 'a 503 says when to retry'),
  );
}

async function createOrder(url: string, orderId: string, total: number): Promise<void> {
  const response = await send(url, 'PUT', `/orders/${orderId}`, {
    body: orderBody({ lines: [{ sku: 'S', quantity: 1, unitPrice: total }] }),
  });
  assert.is(response.status, 201, response.text);
}

async function eventsOf(path: string, orderId: string): Promise<OrderEvent[]> {
  const store = openSqliteStore(path);
  try {
    const events: OrderEvent[] = [];
    for (const record of await store.readStream(`order-${orderId}`)) events.push(decodeEvent(record).event);
    return events;
  } finally {
    await store.close();
  }
}

const ok = (r: Sent) => r.status === 201;
const problem = (r: Sent) =>
  `${r.status} ${String(r.json?.type ?? '')
    .split('/')
    .pop()}`;

test('100 concurrent refunds with distinct refundIds past the captured amount: refunded ≤ captured, every 201 stored', async ({
  servers,
  path,
}) => {
  const [a, b] = servers.map((s) => s.url) as [string, string];
  await createOrder(a, 'refund-race', 10_000);
  assert.is(
    (await command(a, '/orders/refund-race/payments', { paymentId: 'p1', amount: 5_000, currency: 'EUR' })).status,
    201,
  );
  const responses = await Promise.all(
    Array.from({ length: 100 }, (_, i) =>
      command(i % 2 === 0 ? a : b, '/orders/refund-race/payments/p1/refunds', { refundId: `r-${i}`, amount: 100 }),
    ),
  );
  for (const r of responses) assert.ok(ok(r) || problem(r) === '409 refund-exceeds-captured', r.text);
  const refunds = (await eventsOf(path, 'refund-race')).filter((e) => e.type === 'PaymentRefunded');
  const refunded = refunds.reduce((sum, e) => sum + e.data.amount, 0);
  assert.ok(refunded <= 5_000, `refunded ${refunded} of 5000 captured`);
  // 100 each: exactly 50 fit, and a refund is only refused when it does not.
  assert.is(responses.filter(ok).length, 50);
  const stored = new Set(refunds.map((e) => e.data.refundId));
  assert.is(stored.size, refunds.length, 'no refund stored twice');
  for (const r of responses.filter(ok))
    assert.ok(stored.has(r.json.refundId), `refund ${r.json.refundId} answered 201 but not stored`);
  assert.is(refunds.length, 50);
});

test('a capture and a void of one authorization at once: exactly one wins (20 rounds)', async ({ servers, path }) => {
  const [a, b] = servers.map((s) => s.url) as [string, string];
  for (let round = 0; round < 20; round++) {
    const orderId = `hold-race-${round}`;
    await createOrder(a, orderId, 1_000);
    assert.is(
      (await command(a, `/orders/${orderId}/authorizations`, { paymentId: 'h1', amount: 600, currency: 'EUR' })).status,
      201,
    );
    // Alternate which process gets which, so neither always starts first.
    const [capture, voided] = await Promise.all([
      command(round % 2 ? a : b, `/orders/${orderId}/authorizations/h1/capture`, {}),
      command(round % 2 ? b : a, `/orders/${orderId}/authorizations/h1/void`, {}),
    ]);
    assert.is([capture, voided].filter(ok).length, 1, `round ${round}: ${capture.text} / ${voided.text}`);
    const loser = ok(capture) ? voided : capture;
    assert.is(
      problem(loser),
      ok(capture) ? '409 authorization-already-captured' : '409 authorization-voided',
      loser.text,
    );
    const events = await eventsOf(path, orderId);
    const captured = events.filter((e) => e.type === 'PaymentCaptured').length;
    const voids = events.filter((e) => e.type === 'AuthorizationVoided').length;
    assert.equal([captured, voids], ok(capture) ? [1, 0] : [0, 1], `round ${round}`);
  }
});

test('a cancel and a capture at once: cancelled with nothing captured, or captured and not cancelled (20 rounds)', async ({
  servers,
  path,
}) => {
  const [a, b] = servers.map((s) => s.url) as [string, string];
  for (let round = 0; round < 20; round++) {
    const orderId = `cancel-race-${round}`;
    await createOrder(a, orderId, 1_000);
    const [cancel, capture] = await Promise.all([
      command(round % 2 ? a : b, `/orders/${orderId}/cancel`, { reason: 'raced' }),
      command(round % 2 ? b : a, `/orders/${orderId}/payments`, { amount: 400, currency: 'EUR' }),
    ]);
    assert.is([cancel, capture].filter(ok).length, 1, `round ${round}: ${cancel.text} / ${capture.text}`);
    if (ok(cancel)) assert.is(problem(capture), '409 order-cancelled', capture.text);
    else assert.is(cancel.status, 409, cancel.text);
    const types = (await eventsOf(path, orderId)).map((e) => e.type);
    const cancelled = types.includes('OrderCancelled');
    const captured = types.includes('PaymentCaptured');
    assert.ok(cancelled !== captured, `round ${round}: ${types.join(', ')}`);
    assert.is(cancelled, ok(cancel));
  }
});

test('50 concurrent authorizations summing past the total: holds ≤ total', async ({ servers, path }) => {
  const [a, b] = servers.map((s) => s.url) as [string, string];
  await createOrder(a, 'auth-race', 2_000);
  const responses = await Promise.all(
    Array.from({ length: 50 }, (_, i) =>
      command(i % 2 === 0 ? a : b, '/orders/auth-race/authorizations', {
        paymentId: `h-${i}`,
        amount: 100,
        currency: 'EUR',
      }),
    ),
  );
  for (const r of responses) assert.ok(ok(r) || problem(r) === '409 authorization-exceeds-outstanding', r.text);
  const holds = (await eventsOf(path, 'auth-race')).filter((e) => e.type === 'PaymentAuthorized');
  const held = holds.reduce((sum, e) => sum + e.data.amount, 0);
  assert.ok(held <= 2_000, `held ${held} of a 2000 total`);
  assert.is(responses.filter(ok).length, 20, 'exactly the 20 that fit');
  assert.is(holds.length, 20);
});

test('the file the races wrote audits clean', async ({ path }) => {
  const store = openSqliteStore(path);
  try {
    const report = await audit({ source: { kind: 'store', store, location: sqliteLocation(path) } });
    assert.equal(report.findings.listed, []);
  } finally {
    await store.close();
  }
});

test.run();
