/**
 * Reads show only the caller's orders, over real HTTP with two API keys: another client's order
 * answers exactly like a missing one (GET /orders/:id and its events), and lists, customer
 * activity and daily reports count only the caller's orders. Where every client's data may be
 * read (auth off: one trusted tenant; an auditor), the same routes show all of it, summed.
 */
import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import { orderBody, send, startTestServer, type Sent, type TestServer } from '../support/http.ts';
import { assertProblem } from '../support/problems.ts';
import { tempDir } from '../support/temp.ts';

const ALICE = 'alice-secret-0123456789';
const BOB = 'bob-secret-0123456789ab';
const AUDITOR = 'audit-secret-0123456789';
const KEYS = `alice:${ALICE},bob:${BOB}`;

const as = (secret: string) => ({ authorization: `Bearer ${secret}` });

interface Context {
  dbPath: string;
  server: TestServer;
  /** Position of the last write: reads wait for it. */
  head: string;
  alicePostedId: string;
  day: string;
}

const test = suite<Context>('reads: each client sees only its own orders');

test.before(async (ctx) => {
  ctx.dbPath = `${tempDir('read-ownership')}/ledger.db`;
  ctx.server = await startTestServer({ env: { LEDGER_API_KEYS: KEYS }, dbPath: ctx.dbPath });
  const { url } = ctx.server;
  const ok = (response: Sent) => {
    assert.is(response.status, 201, response.text);
    return response;
  };
  // Both clients use the customer id "shared"; alice also has a customer of her own.
  ok(await send(url, 'PUT', '/orders/a-1', { body: orderBody({ customerId: 'shared' }), headers: as(ALICE) }));
  const posted = ok(
    await send(url, 'POST', '/orders', {
      body: orderBody({ customerId: 'alice-only' }),
      headers: { ...as(ALICE), 'idempotency-key': 'k-1' },
    }),
  );
  ctx.alicePostedId = posted.json.orderId;
  const bobs = orderBody({ customerId: 'shared', lines: [{ sku: 'B', quantity: 1, unitPrice: 500 }] });
  ok(await send(url, 'PUT', '/orders/b-1', { body: bobs, headers: as(BOB) }));
  const capture = (paymentId: string, amount: number) => ({ paymentId, amount, currency: 'EUR' });
  ok(await send(url, 'POST', '/orders/a-1/payments', { body: capture('pay-a', 700), headers: as(ALICE) }));
  const last = ok(await send(url, 'POST', '/orders/b-1/payments', { body: capture('pay-b', 500), headers: as(BOB) }));
  ctx.head = last.json.position;
  ctx.day = String(last.json.capturedAt).slice(0, 10);
});

test.after(async ({ server }) => {
  await server.close();
});

/** The same answer apart from the id in the detail and the per-request instance URN. */
function assertSameAnswer(other: Sent, missing: Sent, otherId: string, missingId: string): void {
  assert.is(other.status, missing.status);
  assert.is(other.headers['content-type'], missing.headers['content-type']);
  assert.is(other.headers.etag, missing.headers.etag);
  const { instance: _a, ...a } = other.json;
  const { instance: _b, ...b } = missing.json;
  const general = (body: Record<string, unknown>, id: string) => ({
    ...body,
    detail: String(body.detail).replace(id, '<id>'),
  });
  assert.equal(general(a, otherId), general(b, missingId));
}

test("GET /orders/:orderId: another client's order answers exactly like a missing one", async ({ server, head }) => {
  const wait = `?minPosition=${head}`;
  const own = await send(server.url, 'GET', `/orders/a-1${wait}`, { headers: as(ALICE) });
  assert.is(own.status, 200, own.text);
  assert.is(own.json.captured, 700);
  const other = await send(server.url, 'GET', `/orders/a-1${wait}`, { headers: as(BOB) });
  const missing = await send(server.url, 'GET', `/orders/no-such-order${wait}`, { headers: as(BOB) });
  assertProblem(other, 404, 'order-not-found');
  assertSameAnswer(other, missing, 'a-1', 'no-such-order');
  // Knowing the ETag does not help either.
  const headers = { ...as(BOB), 'if-none-match': own.headers.etag! };
  const conditional = await send(server.url, 'GET', '/orders/a-1', { headers });
  assertProblem(conditional, 404, 'order-not-found');
});

test("GET /orders/:orderId/events: another client's stream answers exactly like a missing one", async ({ server }) => {
  const own = await send(server.url, 'GET', '/orders/a-1/events', { headers: as(ALICE) });
  assert.is(own.status, 200, own.text);
  assert.is(own.json.events.length, 2);
  const other = await send(server.url, 'GET', '/orders/a-1/events', { headers: as(BOB) });
  const missing = await send(server.url, 'GET', '/orders/no-such-order/events', { headers: as(BOB) });
  assertProblem(other, 404, 'order-not-found');
  assertSameAnswer(other, missing, 'a-1', 'no-such-order');
  assert.not.match(other.text, /k-1|alice/);
});

test('GET /orders lists only the caller’s orders, with every filter', async ({ server, head, alicePostedId }) => {
  const ids = async (secret: string, query = '') => {
    const page = await send(server.url, 'GET', `/orders?minPosition=${head}&limit=100${query}`, {
      headers: as(secret),
    });
    assert.is(page.status, 200, page.text);
    return page.json.items.map((o: { orderId: string }) => o.orderId).sort();
  };
  assert.equal(await ids(ALICE), ['a-1', alicePostedId].sort());
  assert.equal(await ids(BOB), ['b-1']);
  assert.equal(await ids(ALICE, '&customerId=shared'), ['a-1']);
  assert.equal(await ids(BOB, '&customerId=shared'), ['b-1']);
  assert.equal(await ids(BOB, '&customerId=alice-only'), []);
  assert.equal(await ids(ALICE, '&status=partially_paid'), ['a-1']);
  assert.equal(await ids(BOB, '&status=paid'), ['b-1']);
  assert.equal(await ids(BOB, '&status=partially_paid'), []);
  // Pages stay within the owner.
  const first = await send(server.url, 'GET', '/orders?limit=1', { headers: as(ALICE) });
  const next = `/orders?limit=1&cursor=${first.json.nextCursor}`;
  const second = await send(server.url, 'GET', next, { headers: as(ALICE) });
  assert.equal([first.json.items[0].orderId, second.json.items[0].orderId].sort(), ['a-1', alicePostedId].sort());
  assert.is(second.json.nextCursor, undefined);
});

test('GET /customers/:customerId counts only the caller’s orders of that customer', async ({ server, head }) => {
  const alice = await send(server.url, 'GET', `/customers/shared?minPosition=${head}`, { headers: as(ALICE) });
  assert.is(alice.status, 200, alice.text);
  assert.is(alice.json.orders, 1);
  assert.equal(alice.json.currencies, [
    {
      currency: 'EUR',
      ordered: '2000',
      captured: '700',
      refunded: '0',
      net: '700',
      cancelled: '0',
      outstanding: '1300',
    },
  ]);
  const bob = await send(server.url, 'GET', '/customers/shared', { headers: as(BOB) });
  assert.is(bob.json.orders, 1);
  assert.equal(bob.json.currencies, [
    { currency: 'EUR', ordered: '500', captured: '500', refunded: '0', net: '500', cancelled: '0', outstanding: '0' },
  ]);
  // A customer only another client's orders name is, to this client, a customer without orders.
  const other = await send(server.url, 'GET', '/customers/alice-only', { headers: as(BOB) });
  const missing = await send(server.url, 'GET', '/customers/nobody-at-all', { headers: as(BOB) });
  assertProblem(other, 404, 'customer-not-found');
  assertSameAnswer(other, missing, 'alice-only', 'nobody-at-all');
});

test('GET /reports/daily sums only the caller’s orders', async ({ server, head, day }) => {
  const report = async (secret: string) => {
    const path = `/reports/daily?from=${day}&to=${day}&minPosition=${head}`;
    const response = await send(server.url, 'GET', path, { headers: as(secret) });
    assert.is(response.status, 200, response.text);
    return response.json.totals;
  };
  assert.equal(await report(ALICE), [eur(2, '4000', 1, '700')]);
  assert.equal(await report(BOB), [eur(1, '500', 1, '500')]);
});

/** A report's EUR totals. */
const eur = (ordersCreated: number, amountOrdered: string, paymentsCaptured: number, amountCaptured: string) => ({
  currency: 'EUR',
  ordersCreated,
  amountOrdered,
  paymentsCaptured,
  amountCaptured,
  // Nothing on this log is refunded or cancelled.
  refunds: 0,
  amountRefunded: '0',
  amountNet: amountCaptured,
  ordersCancelled: 0,
  amountCancelled: '0',
});

/** What a caller who reads every client's data must see on this log. */
async function assertSeesEverything(url: string, headers: Record<string, string>, ctx: Context): Promise<void> {
  const wait = `minPosition=${ctx.head}`;
  const list = await send(url, 'GET', `/orders?limit=100&${wait}`, { headers });
  assert.is(list.status, 200, list.text);
  const listed = list.json.items.map((o: { orderId: string }) => o.orderId).sort();
  assert.equal(listed, ['a-1', ctx.alicePostedId, 'b-1'].sort());
  for (const id of ['a-1', 'b-1']) {
    assert.is((await send(url, 'GET', `/orders/${id}?${wait}`, { headers })).status, 200);
    assert.is((await send(url, 'GET', `/orders/${id}/events`, { headers })).status, 200);
  }
  // The customer id "shared" across both clients: their activity summed.
  const shared = await send(url, 'GET', `/customers/shared?${wait}`, { headers });
  assert.is(shared.json.orders, 2);
  assert.equal(shared.json.currencies, [
    {
      currency: 'EUR',
      ordered: '2500',
      captured: '1200',
      refunded: '0',
      net: '1200',
      cancelled: '0',
      outstanding: '1300',
    },
  ]);
  const report = await send(url, 'GET', `/reports/daily?from=${ctx.day}&to=${ctx.day}&${wait}`, { headers });
  assert.equal(report.json.totals, [eur(3, '4500', 2, '1200')]);
}

test('auth off (one trusted tenant): every client’s orders, customers summed across clients', async (ctx) => {
  await ctx.server.close();
  const open = await startTestServer({ dbPath: ctx.dbPath });
  try {
    await assertSeesEverything(open.url, {}, ctx);
  } finally {
    await open.close();
  }
  ctx.server = await startTestServer({ env: { LEDGER_API_KEYS: KEYS }, dbPath: ctx.dbPath });
});

test('an auditor reads every client’s orders and reports', async (ctx) => {
  const env = { LEDGER_API_KEYS: `${KEYS},audit:${AUDITOR}:auditor` };
  await ctx.server.close();
  const audited = await startTestServer({ env, dbPath: ctx.dbPath });
  try {
    await assertSeesEverything(audited.url, as(AUDITOR), ctx);
  } finally {
    await audited.close();
    ctx.server = await startTestServer({ env: { LEDGER_API_KEYS: KEYS }, dbPath: ctx.dbPath });
  }
});

test.run();
