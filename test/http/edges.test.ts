/**
 * HTTP edges, over raw sockets where Node's client would refuse the bytes: duplicate JSON keys,
 * encodings and charsets, framing errors from the HTTP parser, 404 and 405, slow senders. Every
 * answer is problem+json with its slug, and none of them writes anything.
 */
import { gzipSync } from 'node:zlib';
import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import { orderBody, send, startTestServer, type Sent, type TestServer } from '../support/http.ts';
import { assertProblem } from '../support/problems.ts';
import { openSocket, rawExchange, rawRequest, readAnswer, type RawAnswer } from '../support/raw-http.ts';

const test = suite<{ server: TestServer }>('http: edges');

test.before(async (context) => {
  context.server = await startTestServer();
});
test.after(async ({ server }) => server.close());

/** A raw answer in the shape assertProblem reads. */
const asSent = (answer: RawAnswer): Sent => {
  let json: unknown;
  try {
    json = JSON.parse(answer.body);
  } catch {
    json = undefined;
  }
  return { status: answer.status, headers: answer.headers, text: answer.body, json };
};

async function assertWritesNothing(server: TestServer, act: () => Promise<void>): Promise<void> {
  const before = await server.store.headPosition();
  await act();
  assert.is(await server.store.headPosition(), before, 'nothing was written');
}

const json = { 'content-type': 'application/json' };

const line = '{"sku":"A","quantity":1,"unitPrice":1}';

test('duplicate JSON keys, at any depth, however escaped: 400 validation-failed naming the key', async ({ server }) => {
  const twoPrices = '{"sku":"A","quantity":1,"unitPrice":100,"unitPrice":1}';
  const cases: Array<[string, string]> = [
    [`{"customerId":"c","currency":"EUR","lines":[${twoPrices}]}`, 'body.lines[0].unitPrice'],
    [`{"customerId":"a","customerId":"b","currency":"EUR","lines":[${line}]}`, 'body.customerId'],
    [`{"customerId":"c","currency":"EUR","\\u0063urrency":"USD","lines":[${line}]}`, 'body.currency'],
  ];
  await assertWritesNothing(server, async () => {
    for (const [body, path] of cases) {
      const response = await send(server.url, 'PUT', '/orders/dup-keys', { rawBody: body, headers: json });
      assertProblem(response, 400, 'validation-failed');
      assert.equal(
        response.json.errors.map((e: { path: string }) => e.path),
        [path],
      );
    }
  });
  assertProblem(await send(server.url, 'GET', '/orders/dup-keys'), 404, 'order-not-found');
});

test('a fraction that would round to an integer is refused, not stored rounded', async ({ server }) => {
  const body = '{"customerId":"c","currency":"EUR","lines":[{"sku":"A","quantity":1,"unitPrice":4503599627370497.5}]}';
  await assertWritesNothing(server, async () => {
    const response = await send(server.url, 'PUT', '/orders/fraction', { rawBody: body, headers: json });
    assertProblem(response, 400, 'validation-failed');
    assert.equal(response.json.errors[0].path, 'body.lines[0].unitPrice');
  });
});

test('__proto__ and constructor.prototype keys are still refused', async ({ server }) => {
  for (const body of ['{"__proto__":{"admin":true}}', '{"a":{"constructor":{"prototype":{"x":1}}}}']) {
    const response = await send(server.url, 'PUT', '/orders/proto', { rawBody: body, headers: json });
    assertProblem(response, 400, 'malformed-json');
  }
});

test('Content-Encoding other than identity: 415; identity is fine', async ({ server }) => {
  const body = JSON.stringify(orderBody());
  await assertWritesNothing(server, async () => {
    for (const encoding of ['gzip', 'deflate', 'br', 'identity, gzip']) {
      const payload = encoding === 'gzip' ? gzipSync(body) : body;
      const headers = { ...json, 'content-encoding': encoding };
      const response = await send(server.url, 'PUT', '/orders/encoded', { rawBody: payload, headers });
      assertProblem(response, 415, 'unsupported-media-type');
    }
  });
  const identity = { ...json, 'content-encoding': 'identity' };
  const plain = await send(server.url, 'PUT', '/orders/encoded', { rawBody: body, headers: identity });
  assert.is(plain.status, 201, plain.text);
});

test('a charset other than UTF-8: 415; utf-8 in any case is fine; bytes not UTF-8: 400', async ({ server }) => {
  const body = JSON.stringify(orderBody());
  await assertWritesNothing(server, async () => {
    for (const charset of ['utf-16', 'UTF-16LE', 'iso-8859-1', '"latin1"']) {
      const payload = charset.toLowerCase().includes('16') ? Buffer.from(body, 'utf16le') : body;
      const headers = { 'content-type': `application/json; charset=${charset}` };
      const response = await send(server.url, 'PUT', '/orders/charset', { rawBody: payload, headers });
      assertProblem(response, 415, 'unsupported-media-type');
    }
    const invalid = Buffer.concat([Buffer.from('{"customerId":"'), Buffer.from([0xc3, 0x28]), Buffer.from('"}')]);
    const response = await send(server.url, 'PUT', '/orders/charset', { rawBody: invalid, headers: json });
    assertProblem(response, 400, 'malformed-json');
  });
  const headers = { 'content-type': 'application/json; charset=UTF-8' };
  const utf8 = await send(server.url, 'PUT', '/orders/charset', { rawBody: body, headers });
  assert.is(utf8.status, 201, utf8.text);
});

test('parser errors are problem documents: bad request line, control bytes, CL+TE, big headers', async ({ server }) => {
  const body = JSON.stringify(orderBody());
  const clte = { ...json, 'Content-Length': String(body.length), 'Transfer-Encoding': 'chunked' };
  const twoLengths = { ...json, 'Content-Length': `${body.length}, 3` };
  const bigHeader = `X-Big: ${'a'.repeat(20_000)}`;
  const cases: Array<[string, string, number, string]> = [
    ['a request line that is not HTTP', 'GARBAGE\r\n\r\n', 400, 'bad-request'],
    ['an unknown method', 'BREW /orders HTTP/1.1\r\nHost: x\r\n\r\n', 400, 'bad-request'],
    ['a control byte in a header value', 'GET /health HTTP/1.1\r\nHost: x\r\nX-A: a\x01b\r\n\r\n', 400, 'bad-request'],
    ['a space in a header name', 'GET /health HTTP/1.1\r\nHost: x\r\nX A: b\r\n\r\n', 400, 'bad-request'],
    ['Content-Length with Transfer-Encoding', rawRequest('PUT', '/orders/clte', clte, body), 400, 'bad-request'],
    ['two Content-Lengths', rawRequest('PUT', '/orders/clcl', twoLengths, body), 400, 'bad-request'],
    ['headers over 16 KiB', `GET /health HTTP/1.1\r\nHost: x\r\n${bigHeader}\r\n\r\n`, 431, 'headers-too-large'],
  ];
  await assertWritesNothing(server, async () => {
    for (const [what, bytes, status, slug] of cases) {
      const answer = await rawExchange(server.url, bytes);
      assert.ok(answer.closed, `${what}: the connection is closed`);
      try {
        assertProblem(asSent(answer), status, slug);
      } catch (error) {
        throw new Error(`${what}: ${(error as Error).message}`);
      }
    }
  });
});

test('404 and 405 are problem documents; 405 carries Allow', async ({ server }) => {
  assertProblem(await send(server.url, 'GET', '/no/such/path'), 404, 'not-found');
  const cases: Array<[string, string, string]> = [
    ['DELETE', '/orders/abc', 'GET, HEAD, OPTIONS, PUT'],
    ['PATCH', '/orders', 'GET, HEAD, OPTIONS, POST'],
    ['GET', '/orders/abc/payments', 'OPTIONS, POST'],
    ['POST', '/health', 'GET, HEAD, OPTIONS'],
  ];
  for (const [method, path, allow] of cases) {
    const response = await send(server.url, method, path, { body: {} });
    assertProblem(response, 405, 'method-not-allowed');
    assert.is(response.headers.allow, allow);
  }
});

test('parked waits are capped: past LEDGER_MAX_WAITING_READS, 503 projection-lagging + Retry-After', async () => {
  const server = await startTestServer({ env: { LEDGER_MAX_WAITING_READS: '3' } });
  try {
    const far = '/orders/none?minPosition=1000000&waitMs=3000';
    const parked = [1, 2, 3].map(() => send(server.url, 'GET', far));
    await new Promise((resolve) => setTimeout(resolve, 500)); // the three have parked
    const refused = await send(server.url, 'GET', far);
    assertProblem(refused, 503, 'projection-lagging');
    assert.match(refused.json.detail, /3 reads are already waiting/);
    assert.ok(refused.headers['retry-after']);
    for (const response of await Promise.all(parked)) {
      assertProblem(response, 503, 'projection-lagging');
      assert.match(response.json.detail, /did not reach position 1000000/);
    }
  } finally {
    await server.close();
  }
});

test('slow senders are cut: three bodies and one header block at a byte every 5 s', async ({ server }) => {
  // LEDGER_REQUEST_TIMEOUT_MS defaults to 10 s, checked every second; 20 s leaves room for a busy machine.
  const boundMs = 20_000;
  const body = JSON.stringify(orderBody());
  const sockets = [0, 1, 2].map((i) => {
    const socket = openSocket(server.url);
    const head = rawRequest('PUT', `/orders/slow-${i}`, json, body);
    socket.write(head.slice(0, head.length - body.length));
    return { socket, rest: body };
  });
  const header = openSocket(server.url);
  sockets.push({ socket: header, rest: 'X-Slow: 1234567890\r\n' });
  header.write('GET /health HTTP/1.1\r\nHost: x\r\n');
  const drip = setInterval(() => {
    for (const s of sockets) {
      if (s.rest.length > 1 && !s.socket.destroyed) {
        s.socket.write(s.rest[0]!);
        s.rest = s.rest.slice(1);
      }
    }
  }, 5_000);
  try {
    await assertWritesNothing(server, async () => {
      const answers = await Promise.all(sockets.map((s) => readAnswer(s.socket, boundMs)));
      for (const answer of answers) {
        assert.ok(answer.closed, `the server closed a slow sender's socket within ${boundMs} ms`);
        assertProblem(asSent(answer), 408, 'request-timeout');
      }
    });
  } finally {
    clearInterval(drip);
  }
});

test.run();
