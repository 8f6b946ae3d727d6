/**
 * One test per status code and problem type the API answers, over real HTTP: each asserts the
 * RFC 9457 body and, for a 4xx, that nothing was written to the log.
 */
import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import { PROBLEM_TYPES } from '../../src/http/problem.ts';
import { orderBody, send, startTestServer, type TestServer } from '../support/http.ts';
import { assertNothingWritten, assertProblem } from '../support/problems.ts';

const test = suite<{ server: TestServer }>('http: problems');

test.before(async (context) => {
  context.server = await startTestServer();
  const { url } = context.server;
  await send(url, 'PUT', '/orders/existing', { body: orderBody() }); // total 2000 EUR
  await send(url, 'POST', '/orders/existing/payments', {
    body: { paymentId: 'p-1', amount: 500, currency: 'EUR' },
    headers: { 'idempotency-key': 'k-p1' },
  });
});
test.after(async ({ server }) => server.close());

/** Sends, asserts the problem, and asserts the log did not move. */
async function rejected(
  server: TestServer,
  status: number,
  slug: string,
  method: string,
  path: string,
  options: Parameters<typeof send>[3] = {},
) {
  let response: Awaited<ReturnType<typeof send>> | undefined;
  await assertNothingWritten(server.store, async () => {
    response = await send(server.url, method, path, options);
  });
  assertProblem(response!, status, slug);
  return response!;
}

test('400 validation-failed: each bad field with its path', async ({ server }) => {
  const body = orderBody({ lines: [{ sku: 'A', quantity: 0, unitPrice: 1.5 }], extra: true });
  const response = await rejected(server, 400, 'validation-failed', 'PUT', '/orders/v-1', { body });
  const paths = response.json.errors.map((e: { path: string }) => e.path).sort();
  assert.equal(paths, ['body', 'body.lines[0].quantity', 'body.lines[0].unitPrice']);
  for (const error of response.json.errors) assert.type(error.message, 'string');
});

test('400 validation-failed: a path parameter, an unknown currency, a non-positive amount', async ({ server }) => {
  const bad = await rejected(server, 400, 'validation-failed', 'PUT', '/orders/bad.id', { body: orderBody() });
  assert.equal(bad.json.errors[0].path, 'params.orderId');
  const currency = await rejected(server, 400, 'validation-failed', 'PUT', '/orders/v-2', {
    body: orderBody({ currency: 'XXY' }),
  });
  assert.equal(currency.json.errors[0].path, 'body.currency');
  const amount = await rejected(server, 400, 'validation-failed', 'POST', '/orders/existing/payments', {
    body: { paymentId: 'p-0', amount: 0, currency: 'EUR' },
  });
  assert.equal(amount.json.errors[0].path, 'body.amount');
});

test('400 validation-failed: If-Match that is not one of our ETags', async ({ server }) => {
  for (const ifMatch of ['3', '*', '"1", "2"', '"abc"']) {
    const response = await rejected(server, 400, 'validation-failed', 'POST', '/orders/existing/payments', {
      body: { paymentId: 'p-im', amount: 1, currency: 'EUR' },
      headers: { 'if-match': ifMatch },
    });
    assert.equal(response.json.errors[0].path, 'headers.if-match');
  }
});

test('400 malformed-json', async ({ server }) => {
  for (const rawBody of ['{"customerId":', '', '{"__proto__":{"x":1}}']) {
    await rejected(server, 400, 'malformed-json', 'PUT', '/orders/j-1', {
      rawBody,
      headers: { 'content-type': 'application/json' },
    });
  }
});

test('400 idempotency-key-missing: POST /orders, and a capture without paymentId', async ({ server }) => {
  await rejected(server, 400, 'idempotency-key-missing', 'POST', '/orders', { body: orderBody() });
  await rejected(server, 400, 'idempotency-key-missing', 'POST', '/orders/existing/payments', {
    body: { amount: 1, currency: 'EUR' },
  });
});

test('400 idempotency-key-invalid: too long, not ASCII, bad quoting, empty, sent twice', async ({ server }) => {
  const keys: Array<string | string[]> = [
    'k'.repeat(256),
    'clé',
    '"unterminated',
    '"a"b',
    '"bad\\escape"',
    '""',
    ['one', 'two'],
  ];
  for (const key of keys) {
    await rejected(server, 400, 'idempotency-key-invalid', 'POST', '/orders', {
      body: orderBody(),
      headers: { 'idempotency-key': key },
    });
  }
  // Even where the key is optional, a malformed one is refused rather than ignored.
  await rejected(server, 400, 'idempotency-key-invalid', 'POST', '/orders/existing/payments', {
    body: { paymentId: 'p-x', amount: 1, currency: 'EUR' },
    headers: { 'idempotency-key': 'k'.repeat(256) },
  });
  const longest = await send(server.url, 'POST', '/orders', {
    body: orderBody(),
    headers: { 'idempotency-key': '~'.repeat(255) },
  });
  assert.is(longest.status, 201, '255 characters is still a key');
});

test('404 order-not-found: capturing on, or auditing, an order that does not exist', async ({ server }) => {
  await rejected(server, 404, 'order-not-found', 'POST', '/orders/missing/payments', {
    body: { paymentId: 'p', amount: 1, currency: 'EUR' },
  });
  await rejected(server, 404, 'order-not-found', 'GET', '/orders/missing/events');
});

test('404 not-found: unknown routes; 405 method-not-allowed: a known route, another method', async ({ server }) => {
  await rejected(server, 404, 'not-found', 'GET', '/nothing/here');
  await rejected(server, 405, 'method-not-allowed', 'DELETE', '/orders/existing');
});

test('409 order-already-exists: the same id with different details', async ({ server }) => {
  await rejected(server, 409, 'order-already-exists', 'PUT', '/orders/existing', {
    body: orderBody({ customerId: 'someone-else' }),
  });
});

test('409 payment-already-captured: the same paymentId with another amount (and no key, or another key)', async ({
  server,
}) => {
  await rejected(server, 409, 'payment-already-captured', 'POST', '/orders/existing/payments', {
    body: { paymentId: 'p-1', amount: 501, currency: 'EUR' },
  });
  await rejected(server, 409, 'payment-already-captured', 'POST', '/orders/existing/payments', {
    body: { paymentId: 'p-1', amount: 501, currency: 'EUR' },
    headers: { 'idempotency-key': 'another-key' },
  });
});

test('409 currency-mismatch', async ({ server }) => {
  await rejected(server, 409, 'currency-mismatch', 'POST', '/orders/existing/payments', {
    body: { paymentId: 'p-usd', amount: 1, currency: 'USD' },
  });
});

test('409 capture-exceeds-outstanding', async ({ server }) => {
  await rejected(server, 409, 'capture-exceeds-outstanding', 'POST', '/orders/existing/payments', {
    body: { paymentId: 'p-big', amount: 1_501, currency: 'EUR' },
  });
});

test('412 revision-mismatch: a stale If-Match on a new command', async ({ server }) => {
  const response = await rejected(server, 412, 'revision-mismatch', 'POST', '/orders/existing/payments', {
    body: { paymentId: 'p-stale', amount: 1, currency: 'EUR' },
    headers: { 'if-match': '"0"' },
  });
  assert.is(response.json.currentRevision, '1');
});

test('413 payload-too-large: a body over 64 KiB', async ({ server }) => {
  const rawBody = JSON.stringify(orderBody({ customerId: 'x'.repeat(70_000) }));
  await rejected(server, 413, 'payload-too-large', 'PUT', '/orders/big', {
    rawBody,
    headers: { 'content-type': 'application/json' },
  });
});

test('415 unsupported-media-type: text/plain, form data, no content type', async ({ server }) => {
  const rawBody = JSON.stringify(orderBody());
  for (const type of ['text/plain', 'application/x-www-form-urlencoded', undefined]) {
    await rejected(server, 415, 'unsupported-media-type', 'PUT', '/orders/media', {
      rawBody,
      headers: type ? { 'content-type': type } : {},
    });
  }
});

test('422 idempotency-key-reused: POST /orders with the key of another order', async ({ server }) => {
  const first = await send(server.url, 'POST', '/orders', {
    body: orderBody(),
    headers: { 'idempotency-key': 'reuse-1' },
  });
  assert.is(first.status, 201);
  await rejected(server, 422, 'idempotency-key-reused', 'POST', '/orders', {
    body: orderBody({ currency: 'USD' }),
    headers: { 'idempotency-key': 'reuse-1' },
  });
});

test('422 idempotency-key-reused: a derived payment id with another amount', async ({ server }) => {
  const first = await send(server.url, 'POST', '/orders/existing/payments', {
    body: { amount: 10, currency: 'EUR' },
    headers: { 'idempotency-key': 'reuse-2' },
  });
  assert.is(first.status, 201, first.text);
  await rejected(server, 422, 'idempotency-key-reused', 'POST', '/orders/existing/payments', {
    body: { amount: 11, currency: 'EUR' },
    headers: { 'idempotency-key': 'reuse-2' },
  });
});

test('422 idempotency-key-reused: an explicit id whose stored effect carries this key', async ({ server }) => {
  await rejected(server, 422, 'idempotency-key-reused', 'POST', '/orders/existing/payments', {
    body: { paymentId: 'p-1', amount: 499, currency: 'EUR' },
    headers: { 'idempotency-key': 'k-p1' },
  });
});

test('every problem type has a human page at its type URI', async ({ server }) => {
  for (const [slug, { title }] of Object.entries(PROBLEM_TYPES)) {
    const page = await send(server.url, 'GET', `/problems/${slug}`);
    assert.is(page.status, 200, slug);
    assert.match(String(page.headers['content-type']), /^text\/html/);
    assert.ok(page.text.includes(`<h1>${title}</h1>`), `${slug} page shows its title`);
  }
  assertProblem(await send(server.url, 'GET', '/problems/no-such-slug'), 404, 'not-found');
});

test.run();
