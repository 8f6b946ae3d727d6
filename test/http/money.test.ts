/**
 * Money is exact at every size. A new command's amounts are capped at MAX_AMOUNT (10^15 minor
 * units per unit price, line, order and capture), so every accepted value is an exact integer and
 * a number JSON.parse had to round is refused; sums across orders are bigints inside and decimal
 * strings in JSON, so 20 orders at the cap, from one customer on one day, keep every projection
 * running and are summed exactly by /customers/:id, /reports/daily and `ledger replay`.
 */
import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import { MAX_AMOUNT } from '../../src/domain/money.ts';
import { ledger } from '../cli/run.ts';
import { orderBody, send, startTestServer, type TestServer } from '../support/http.ts';
import { assertNothingWritten, assertProblem } from '../support/problems.ts';

const test = suite<{ server: TestServer }>('money: capped amounts, exact sums');

test.before(async (ctx) => {
  ctx.server = await startTestServer();
});

test.after(async ({ server }) => {
  await server.close();
});

const line = (unitPrice: number, quantity = 1) => ({ sku: 'SKU-1', quantity, unitPrice });

async function refused(server: TestServer, method: string, path: string, rawBody: string, at: string): Promise<void> {
  await assertNothingWritten(server.store, async () => {
    const response = await send(server.url, method, path, { rawBody, headers: { 'content-type': 'application/json' } });
    assertProblem(response, 400, 'validation-failed');
    assert.ok(
      response.json.errors.some((e: { path: string }) => e.path === at),
      `${rawBody}: expected an error at ${at}, got ${JSON.stringify(response.json.errors)}`,
    );
  });
}

test('a unit price JSON cannot hold exactly (4503599627370497.5) is refused, not rounded', async ({ server }) => {
  const raw = '{"customerId":"c","currency":"EUR","lines":[{"sku":"S","quantity":1,"unitPrice":4503599627370497.5}]}';
  await refused(server, 'PUT', '/orders/fraction', raw, 'body.lines[0].unitPrice');
  assert.is((await server.store.readStream('order-fraction')).length, 0);
});

test('above the cap: a unit price, a line, an order, a capture — 400, nothing written', async ({ server }) => {
  const order = (lines: unknown[]) => JSON.stringify(orderBody({ lines }));
  await refused(server, 'PUT', '/orders/big-price', order([line(MAX_AMOUNT + 1)]), 'body.lines[0].unitPrice');
  await refused(server, 'PUT', '/orders/big-line', order([line(600_000_000_000_000, 2)]), 'body.lines[0]');
  const sixTenths = 600_000_000_000_000;
  await refused(server, 'PUT', '/orders/big-order', order([line(sixTenths), line(sixTenths)]), 'body.lines');
  await refused(server, 'PUT', '/orders/max-safe', order([line(Number.MAX_SAFE_INTEGER)]), 'body.lines[0].unitPrice');
  const created = await send(server.url, 'PUT', '/orders/at-cap', { body: orderBody({ lines: [line(MAX_AMOUNT)] }) });
  assert.is(created.status, 201, created.text);
  const capture = JSON.stringify({ paymentId: 'p', amount: MAX_AMOUNT + 1, currency: 'EUR' });
  await refused(server, 'POST', '/orders/at-cap/payments', capture, 'body.amount');
});

test('the OpenAPI document states the cap and shows realistic example bodies', async ({ server }) => {
  const doc = (await send(server.url, 'GET', '/openapi.json')).json;
  // The UI's "Try it out" starts from the media type's example.
  const order = doc.paths['/orders/{orderId}'].put.requestBody.content['application/json'];
  assert.is(order.schema.properties.lines.items.properties.unitPrice.maximum, MAX_AMOUNT);
  const lines = [{ sku: 'BOOK-1', quantity: 2, unitPrice: 1999 }];
  assert.equal(order.example, { customerId: 'cust-42', currency: 'EUR', lines });
  const payment = doc.paths['/orders/{orderId}/payments'].post.requestBody.content['application/json'];
  assert.is(payment.schema.properties.amount.maximum, MAX_AMOUNT);
  // Two examples (a capture, and a request through the PSP): the UI starts from the first.
  assert.equal(payment.examples.example1.value, { paymentId: 'pay-1', amount: 1998, currency: 'EUR' });
  assert.not.match(JSON.stringify([order, payment]), /9007199254740991/, 'no request body field offers 2^53 − 1');
  // Sums are documented as decimal strings.
  const customer = doc.paths['/customers/{customerId}'].get.responses['200'].content['application/json'].schema;
  assert.is(customer.properties.currencies.items.properties.ordered.type, 'string');
  const daily = doc.paths['/reports/daily'].get.responses['200'].content['application/json'].schema;
  assert.is(daily.properties.totals.items.properties.amountCaptured.type, 'string');
});

test('20 orders at the cap from one customer on one day: every projection runs, every sum is exact', async () => {
  // A server of its own, so that its log holds these orders only.
  const server = await startTestServer();
  try {
    const { url } = server;
    const orders = Array.from({ length: 20 }, (_, i) => `cap-${i}`);
    const body = { customerId: 'big-spender', currency: 'EUR', lines: [line(MAX_AMOUNT)] };
    const created = await Promise.all(orders.map((id) => send(url, 'PUT', `/orders/${id}`, { body })));
    for (const response of created) assert.is(response.status, 201, response.text);
    const capture = (id: string) => ({ paymentId: `pay-${id}`, amount: MAX_AMOUNT, currency: 'EUR' });
    const pay = (id: string) => send(url, 'POST', `/orders/${id}/payments`, { body: capture(id) });
    const captured = await Promise.all(orders.map(pay));
    for (const response of captured) assert.is(response.status, 201, response.text);
    const head = captured.map((r) => BigInt(r.json.position)).reduce((a, b) => (a > b ? a : b));
    const times = [...created.map((r) => r.json.createdAt), ...captured.map((r) => r.json.capturedAt)];
    const days = [...new Set(times.map((t: string) => t.slice(0, 10)))].sort();

    const sum = String(20n * BigInt(MAX_AMOUNT)); // 2 × 10^16, past 2^53
    const customer = await send(url, 'GET', `/customers/big-spender?minPosition=${head}`);
    assert.is(customer.status, 200, customer.text);
    assert.is(customer.json.orders, 20);
    assert.equal(customer.json.currencies, [
      { currency: 'EUR', ordered: sum, captured: sum, refunded: '0', net: sum, cancelled: '0', outstanding: '0' },
    ]);
    // One day unless the run straddled midnight UTC; the range's totals are the same either way.
    const range = `from=${days[0]}&to=${days[days.length - 1]}`;
    const report = await send(url, 'GET', `/reports/daily?${range}&minPosition=${head}`);
    assert.is(report.status, 200, report.text);
    const totals = {
      currency: 'EUR',
      ordersCreated: 20,
      amountOrdered: sum,
      paymentsCaptured: 20,
      amountCaptured: sum,
      refunds: 0,
      amountRefunded: '0',
      amountNet: sum,
      ordersCancelled: 0,
      amountCancelled: '0',
    };
    assert.equal(report.json.totals, [totals]);
    if (days.length === 1) assert.equal(report.json.days, [{ day: days[0], ...report.json.totals[0] }]);

    const projections = await send(url, 'GET', '/projections');
    const states = projections.json.projections.map((p: { state: string }) => p.state);
    assert.equal(states, ['running', 'running', 'running']);
    assert.is((await send(url, 'GET', '/ready')).status, 200);

    const replay = await ledger(['replay', '--store', `sqlite:${server.dbPath}`, '--compare-live', '--json']);
    assert.is(replay.code, 0, replay.stderr || replay.stdout);
    assert.is(replay.json.findings.total, 0);
    assert.equal(replay.json.currencies, {
      EUR: { ordered: sum, captured: sum, refunded: '0', net: sum, orders: 20, payments: 20, refunds: 0 },
    });
    assert.is(replay.json.comparison.total, 0);
    assert.equal(replay.json.comparison.liveFailures, []);
  } finally {
    await server.close();
  }
});

test.run();
