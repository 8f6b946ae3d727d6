/**
 * Property: whatever a client sends — bodies, headers, paths, methods — the server answers
 * below 500, every error is a problem document, and a rejected request writes nothing.
 * Requests are mostly near-valid so the property also exercises the paths that do write.
 */
import fc from 'fast-check';
import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import { orderBody, send, startTestServer, type TestServer } from '../support/http.ts';
import { rawExchange } from '../support/raw-http.ts';

const test = suite<{ server: TestServer }>('http: fuzzing against a live server');

test.before(async (context) => {
  context.server = await startTestServer();
  await send(context.server.url, 'PUT', '/orders/fuzz', {
    body: orderBody({ lines: [{ sku: 'BIG', quantity: 1, unitPrice: 1_000_000_000 }] }),
  });
});
test.after(async ({ server }) => server.close());

/** What Node's HTTP client agrees to send in a header value. */
const headerSafe = (text: string) => /^[\t\x20-\x7e\x80-\xff]*$/.test(text);

const id = fc.oneof(
  { weight: 4, arbitrary: fc.constantFrom('fuzz', 'fuzz-new', 'missing', 'a', 'x'.repeat(64)) },
  { weight: 2, arbitrary: fc.stringMatching(/^[A-Za-z0-9_-]{1,64}$/) },
  { weight: 1, arbitrary: fc.string({ maxLength: 80, unit: 'grapheme' }) },
);
const segment = fc.oneof(
  { weight: 5, arbitrary: id.map(encodeURIComponent) },
  { weight: 1, arbitrary: fc.constantFrom('%zz', '%', '..', '%00', '%2F', '', 'x'.repeat(300), '%E2%82') },
);
const amount = fc.oneof(
  fc.integer({ min: -5, max: 5_000 }),
  fc.double(),
  fc.constantFrom(0, 2 ** 53, 1e300, -0),
  fc.string(),
);
const currency = fc.oneof(
  { weight: 4, arbitrary: fc.constant('EUR') },
  { weight: 1, arbitrary: fc.constantFrom('USD', 'XXY', 'eur', '', 'EURO') },
);
const line = fc.record({
  sku: fc.oneof(fc.constant('SKU'), fc.string({ maxLength: 70 })),
  quantity: fc.oneof(fc.integer({ min: -1, max: 1_000_001 }), fc.double()),
  unitPrice: fc.oneof(fc.integer({ min: -1, max: 10_000 }), fc.constantFrom(2 ** 53 - 1, 2 ** 53), fc.double()),
});
const validLine = fc.record({
  sku: fc.constantFrom('A', 'B'),
  quantity: fc.integer({ min: 1, max: 5 }),
  unitPrice: fc.integer({ min: 0, max: 500 }),
});
const order = fc.oneof(
  {
    weight: 3,
    arbitrary: fc.record({ customerId: id, currency, lines: fc.array(validLine, { minLength: 1, maxLength: 3 }) }),
  },
  {
    weight: 2,
    arbitrary: fc.record(
      { customerId: id, currency, lines: fc.array(line, { minLength: 0, maxLength: 3 }), extra: fc.jsonValue() },
      { requiredKeys: ['customerId', 'currency', 'lines'] },
    ),
  },
);
const payment = fc.oneof(
  {
    weight: 3,
    arbitrary: fc.record(
      { paymentId: id, amount: fc.integer({ min: 1, max: 100 }), currency },
      { requiredKeys: ['amount', 'currency'] },
    ),
  },
  {
    weight: 2,
    arbitrary: fc.record(
      { paymentId: id, amount, currency, extra: fc.jsonValue() },
      { requiredKeys: ['amount', 'currency'] },
    ),
  },
);

const body = (shaped: fc.Arbitrary<unknown>) =>
  fc.oneof(
    { weight: 6, arbitrary: shaped.map((value) => JSON.stringify(value)) },
    { weight: 1, arbitrary: fc.jsonValue().map((value) => JSON.stringify(value)) },
    { weight: 1, arbitrary: fc.string({ maxLength: 200, unit: 'binary' }) },
    { weight: 1, arbitrary: fc.constantFrom('', '{', '{"__proto__":{}}', '[]', 'null') },
  );

const target = fc.oneof(
  fc.record({ method: fc.constant('PUT'), path: segment.map((s) => `/orders/${s}`), body: body(order) }),
  fc.record({ method: fc.constant('POST'), path: fc.constant('/orders'), body: body(order) }),
  fc.record({ method: fc.constant('POST'), path: segment.map((s) => `/orders/${s}/payments`), body: body(payment) }),
  fc.record({
    method: fc.constantFrom('GET', 'HEAD'),
    path: segment.map((s) => `/orders/${s}/events`),
    body: fc.constant(undefined),
  }),
  fc.record({
    method: fc.constantFrom('GET', 'PUT', 'POST', 'DELETE', 'PATCH', 'OPTIONS'),
    path: fc.webPath({ size: 'small' }).map((p) => p || '/'),
    body: fc.option(body(fc.jsonValue()), { nil: undefined }),
  }),
);

/** Mostly the usual values (the first most of all), sometimes anything; absent `absent` times in 10. */
const headerValue = (common: readonly string[], absent: number) =>
  fc.oneof(
    { weight: absent * 10, arbitrary: fc.constant(undefined) },
    { weight: (10 - absent) * 6, arbitrary: fc.constant(common[0]!) },
    { weight: (10 - absent) * 3, arbitrary: fc.constantFrom(...common) },
    { weight: 10 - absent, arbitrary: fc.string({ maxLength: 300, unit: 'binary' }).filter(headerSafe) },
  );

const headers = fc.record({
  'content-type': headerValue(
    ['application/json', 'application/json; charset=utf-8', 'text/plain', 'application/xml', 'multipart/form-data'],
    1,
  ),
  'idempotency-key': headerValue(['k-1', '"k-1"', '"k\\"2"', 'k-2', ''], 4),
  'if-match': headerValue(['"0"', '"1"', 'W/"0"', '*', '"99999999999999999999"'], 8),
  'x-correlation-id': headerValue(['corr-1'], 5),
});

type Target = { method: string; path: string; body: string | undefined };
type Headers = {
  'content-type'?: string;
  'idempotency-key'?: string;
  'if-match'?: string;
  'x-correlation-id'?: string;
};

/** Always run besides the random ones, so both sides of the property are exercised every time. */
const json = { 'content-type': 'application/json' };
const validOrder = JSON.stringify(orderBody());
const examples: Array<[Target, Headers]> = [
  [{ method: 'PUT', path: '/orders/example-1', body: validOrder }, json],
  [{ method: 'PUT', path: '/orders/example-1', body: JSON.stringify(orderBody({ currency: 'USD' })) }, json],
  [
    { method: 'POST', path: '/orders', body: validOrder },
    { ...json, 'idempotency-key': 'example-key' },
  ],
  [
    { method: 'POST', path: '/orders', body: JSON.stringify(orderBody({ customerId: 'other' })) },
    { ...json, 'idempotency-key': 'example-key' },
  ],
  [
    { method: 'POST', path: '/orders/fuzz/payments', body: '{"amount":5,"currency":"EUR"}' },
    { ...json, 'idempotency-key': 'example-pay' },
  ],
  [
    { method: 'POST', path: '/orders/fuzz/payments', body: '{"paymentId":"big","amount":9000000000,"currency":"EUR"}' },
    json,
  ],
  [
    { method: 'POST', path: '/orders/fuzz/payments', body: '{"paymentId":"stale","amount":1,"currency":"EUR"}' },
    { ...json, 'if-match': '"0"' },
  ],
  [
    { method: 'POST', path: '/orders/fuzz/payments', body: '{"amount":1,"currency":"EUR"}' },
    { 'content-type': 'text/plain' },
  ],
];

test('never a 5xx, every error a problem, and no event written by a rejected request', async ({ server }) => {
  const seen = new Map<number, number>();
  await fc.assert(
    fc.asyncProperty(target, headers, async (request, headerValues) => {
      const sentHeaders = Object.fromEntries(Object.entries(headerValues).filter(([, v]) => v !== undefined)) as Record<
        string,
        string
      >;
      if (request.body === undefined) delete sentHeaders['content-type'];
      const before = await server.store.headPosition();
      const response = await send(server.url, request.method, request.path, {
        ...(request.body !== undefined && { rawBody: request.body }),
        headers: sentHeaders,
      });
      seen.set(response.status, (seen.get(response.status) ?? 0) + 1);
      assert.ok(response.status < 500, `${request.method} ${request.path} → ${response.status} ${response.text}`);
      if (response.status >= 400) {
        assert.is(await server.store.headPosition(), before, `${response.status} wrote an event`);
        if (request.method !== 'HEAD')
          assert.match(String(response.headers['content-type']), /^application\/problem\+json/);
      }
    }),
    { numRuns: 150, examples },
  );
  if (process.env.FUZZ_STATS) console.log([...seen].sort());
  // The property is only meaningful if both sides of it were exercised (the examples guarantee it).
  assert.ok((seen.get(201) ?? 0) > 0, `some requests succeeded: ${JSON.stringify([...seen])}`);
  for (const status of [400, 409, 412, 415, 422])
    assert.ok(seen.has(status), `a ${status} was seen: ${JSON.stringify([...seen])}`);
});

/**
 * Raw HTTP framing on a TCP socket: request lines, header bytes, Content-Length and
 * Transfer-Encoding combinations, encodings and charsets, and bodies with duplicate keys and
 * huge or fractional numbers. The client always finishes its side, so every exchange ends by
 * an answer or a close within the read bound.
 */
const rawMethod = fc.oneof(
  { weight: 12, arbitrary: fc.constantFrom('PUT', 'PUT', 'POST', 'POST', 'GET', 'HEAD', 'DELETE', 'PATCH', 'OPTIONS') },
  { weight: 1, arbitrary: fc.constantFrom('BREW', 'put', 'G ET', '', 'GET\x00', 'PROPFIND', 'CONNECT') },
);
const rawTarget = fc.oneof(
  { weight: 12, arbitrary: fc.constantFrom('/orders/raw', '/orders', '/orders/fuzz/payments', '/health') },
  { weight: 1, arbitrary: fc.constantFrom('*', 'http://127.0.0.1/orders/raw', '/orders/%zz', '/a b', '/\x7f', '') },
  { weight: 1, arbitrary: fc.constant(`/${'x'.repeat(9_000)}`) },
);
const rawVersion = fc.oneof(
  { weight: 16, arbitrary: fc.constant('HTTP/1.1') },
  { weight: 1, arbitrary: fc.constantFrom('HTTP/1.0', 'HTTP/2.0', 'HTTP/1.x', 'HTTX/1.1', '') },
);

/** JSON-ish bodies: valid orders and payments, with a duplicate key or an odd number spliced in. */
const oddNumber = fc.constantFrom(
  '4503599627370497.5',
  '9007199254740993',
  '1e400',
  '-1e400',
  '1e-400',
  '-0',
  '0.5',
  '1.0',
  '2.5e15',
  '1000000000000000',
  `1${'0'.repeat(400)}`,
);
const orderWith = (price: string) =>
  `{"customerId":"c","currency":"EUR","lines":[{"sku":"A","quantity":1,"unitPrice":${price}}]}`;
const rawBody = fc.oneof(
  { weight: 3, arbitrary: fc.constant(JSON.stringify(orderBody())) },
  { weight: 3, arbitrary: oddNumber.map(orderWith) },
  { weight: 2, arbitrary: oddNumber.map((n) => `{"paymentId":"raw","amount":${n},"currency":"EUR"}`) },
  {
    weight: 2,
    arbitrary: fc.constantFrom(
      '{"customerId":"c","currency":"EUR","currency":"USD","lines":[{"sku":"A","quantity":1,"unitPrice":1}]}',
      orderWith('100,"unitPrice":1'),
      '{"amount":5,"amount":1,"currency":"EUR"}',
      '{"customerId":"c","currency":"EUR","lines":[],"\\u0063urrency":"USD"}',
    ),
  },
  { weight: 1, arbitrary: fc.string({ maxLength: 200, unit: 'binary' }) },
  { weight: 1, arbitrary: fc.constant('') },
);

type Framing = 'length' | 'wrong-length' | 'chunked' | 'bad-chunked' | 'length-and-chunked' | 'none';
const framing = fc.oneof(
  { weight: 8, arbitrary: fc.constant<Framing>('length') },
  { weight: 2, arbitrary: fc.constant<Framing>('chunked') },
  { weight: 1, arbitrary: fc.constantFrom<Framing>('wrong-length', 'bad-chunked', 'length-and-chunked', 'none') },
);

const anyHeader = fc
  .tuple(fc.string({ maxLength: 20, unit: 'binary-ascii' }), fc.string({ maxLength: 60, unit: 'binary-ascii' }))
  .map(([name, value]) => `${name}: ${value}`);
const headerLine = fc.oneof(
  {
    weight: 16,
    arbitrary: fc.constantFrom(
      'Content-Type: application/json',
      'Content-Type: application/json; charset=utf-8',
      'Content-Type: application/json; charset="UTF-8"',
    ),
  },
  {
    weight: 1,
    arbitrary: fc.constantFrom(
      'Content-Type: application/json; charset=utf-16',
      'Content-Type: application/json; charset=latin1',
      'Content-Type: text/plain',
      'Content-Type:',
    ),
  },
  {
    weight: 2,
    arbitrary: fc.constantFrom('gzip', 'identity', 'br, identity', 'x').map((coding) => `Content-Encoding: ${coding}`),
  },
  {
    weight: 1,
    arbitrary: fc.constantFrom(
      'Idempotency-Key: raw-1',
      'If-Match: "0"',
      'Expect: 100-continue',
      'Transfer-Encoding: gzip, chunked',
      'Content-Length: -1',
      'Content-Length: 1, 2',
    ),
  },
  { weight: 1, arbitrary: anyHeader },
  { weight: 1, arbitrary: fc.constantFrom(`X-Big: ${'b'.repeat(17_000)}`, 'X-Ctl: a\x01b', 'X Sp: 1', ' F', 'N') },
);

type RawCase = [method: string, target: string, version: string, headers: string[], body: string, how: Framing];

function frame(...[method, target, version, headers, body, how]: RawCase): Buffer {
  const bytes = Buffer.from(body, 'utf8');
  const lines = [`${method} ${target} ${version}`.trimEnd(), 'Host: 127.0.0.1', 'Connection: close', ...headers];
  let payload = bytes;
  const chunked = Buffer.concat([Buffer.from(`${bytes.length.toString(16)}\r\n`), bytes, Buffer.from('\r\n0\r\n\r\n')]);
  if (how === 'length') lines.push(`Content-Length: ${bytes.length}`);
  if (how === 'wrong-length') lines.push(`Content-Length: ${bytes.length + 7}`);
  if (how === 'chunked' || how === 'length-and-chunked') {
    lines.push('Transfer-Encoding: chunked');
    payload = chunked;
  }
  if (how === 'length-and-chunked') lines.push(`Content-Length: ${chunked.length}`);
  if (how === 'bad-chunked') {
    lines.push('Transfer-Encoding: chunked');
    payload = Buffer.concat([Buffer.from('zz\r\n'), bytes]);
  }
  return Buffer.concat([Buffer.from(`${lines.join('\r\n')}\r\n\r\n`, 'latin1'), payload]);
}

const jsonHeader = ['Content-Type: application/json'];
const rawExamples: RawCase[] = [
  ['PUT', '/orders/raw-example', 'HTTP/1.1', jsonHeader, JSON.stringify(orderBody()), 'length'],
  ['PUT', '/orders/raw-chunked', 'HTTP/1.1', jsonHeader, JSON.stringify(orderBody()), 'chunked'],
  ['PUT', '/orders/raw-dup', 'HTTP/1.1', jsonHeader, '{"customerId":"c","customerId":"d","lines":[]}', 'length'],
  ['PUT', '/orders/raw-gzip', 'HTTP/1.1', [...jsonHeader, 'Content-Encoding: gzip'], '{}', 'length'],
];

test('raw HTTP framing over TCP: never a 5xx, errors are problems, rejections write nothing', async ({ server }) => {
  const seen = new Map<number, number>();
  const headerLines = fc.array(headerLine, { minLength: 1, maxLength: 3 });
  await fc.assert(
    fc.asyncProperty(rawMethod, rawTarget, rawVersion, headerLines, rawBody, framing, async (...rawCase) => {
      const method = rawCase[0];
      const before = await server.store.headPosition();
      const bytes = frame(...rawCase);
      const answer = await rawExchange(server.url, bytes, 5_000, { endAfterWrite: true });
      seen.set(answer.status, (seen.get(answer.status) ?? 0) + 1);
      const sent = JSON.stringify(bytes.toString('latin1').slice(0, 300));
      const what = `${sent} → ${answer.status} ${answer.body.slice(0, 300)}`;
      assert.ok(answer.closed, `the exchange ended within the bound: ${what}`);
      assert.ok(answer.status < 500, what);
      if (answer.status >= 400 || answer.status === 0) {
        assert.is(await server.store.headPosition(), before, `a rejected request wrote an event: ${what}`);
      }
      if (answer.status >= 400) {
        assert.match(answer.headers['content-type'] ?? '', /^application\/problem\+json/, what);
        if (method !== 'HEAD') assert.ok(JSON.parse(answer.body).type.startsWith('/problems/'), what);
      }
    }),
    { numRuns: 200, examples: rawExamples },
  );
  if (process.env.FUZZ_STATS) console.log([...seen].sort());
  for (const status of [201, 400, 415]) {
    assert.ok(seen.has(status), `a ${status} was seen: ${JSON.stringify([...seen])}`);
  }
});

test.run();
