/**
 * The fastify plugins around the routes, each seen from the outside: security headers, OPTIONS
 * and 405, the rate limit, load shedding, CORS, request ids in answers and logs, probe log levels,
 * and a 304 without a body.
 */
import { Writable } from 'node:stream';
import type { FastifyBaseLogger } from 'fastify';
import { pino } from 'pino';
import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import { openMemoryStore } from '../../src/eventstore/memory-store.ts';
import { listenApp, orderBody, send, startTestServer } from '../support/http.ts';
import { assertProblem } from '../support/problems.ts';

const test = suite('http: the fastify ecosystem around the routes');

const ALICE = 'alice-secret-00000001';
const BOB = 'bob-secret-000000000002';
const KEYS = `alice:${ALICE},bob:${BOB}`;
const bearer = (secret: string) => ({ authorization: `Bearer ${secret}` });

/** A logger whose JSON lines the test reads. */
function capturingLogger(level: string): { logger: FastifyBaseLogger; lines: () => Record<string, unknown>[] } {
  let text = '';
  const sink = new Writable({
    write(chunk, _encoding, done) {
      text += chunk.toString();
      done();
    },
  });
  const logger = pino({ level }, sink) as unknown as FastifyBaseLogger;
  const lines = () =>
    text
      .split('\n')
      .filter(Boolean)
      .map((line) => JSON.parse(line) as Record<string, unknown>);
  return { logger, lines };
}

test('security headers on answers, on a 401 too; the docs get a policy that lets Swagger UI run', async () => {
  const server = await startTestServer({ env: { LEDGER_API_KEYS: KEYS } });
  try {
    const created = await send(server.url, 'PUT', '/orders/h-1', { body: orderBody(), headers: bearer(ALICE) });
    const refused = await send(server.url, 'GET', '/orders/h-1/events');
    assertProblem(refused, 401, 'unauthorized');
    for (const answer of [created, refused]) {
      assert.is(answer.headers['x-content-type-options'], 'nosniff');
      assert.match(String(answer.headers['strict-transport-security']), /max-age=\d+/);
      assert.is(answer.headers['x-frame-options'], 'SAMEORIGIN');
      assert.match(String(answer.headers['content-security-policy']), /default-src 'none'/);
      assert.is(answer.headers['x-powered-by'], undefined);
    }
    const docs = await send(server.url, 'GET', '/docs/');
    assert.is(docs.status, 200);
    const policy = String(docs.headers['content-security-policy']);
    assert.match(policy, /script-src 'self'(;| 'sha256-)/, "Swagger UI's own scripts, nothing else");
    assert.not.match(policy, /default-src 'none'/);
  } finally {
    await server.close();
  }
});

test('OPTIONS: 204 with Allow at a served path, without a key; 404 elsewhere; 405 names the same Allow', async () => {
  const server = await startTestServer({ env: { LEDGER_API_KEYS: KEYS } });
  try {
    const options = await send(server.url, 'OPTIONS', '/orders/o-1');
    assert.is(options.status, 204);
    assert.is(options.headers.allow, 'GET, HEAD, OPTIONS, PUT');
    assert.is(options.text, '');
    assertProblem(await send(server.url, 'OPTIONS', '/no/such/path'), 404, 'not-found');
    const deleted = await send(server.url, 'DELETE', '/orders/o-1', { headers: bearer(ALICE) });
    assertProblem(deleted, 405, 'method-not-allowed');
    assert.is(deleted.headers.allow, options.headers.allow);
  } finally {
    await server.close();
  }
});

test('rate limit per client: 429 rate-limited with Retry-After; another key is not affected; probes never', async () => {
  const server = await startTestServer({
    env: { LEDGER_API_KEYS: KEYS, LEDGER_RATE_LIMIT: '3', LEDGER_RATE_LIMIT_LOOPBACK: 'on' },
  });
  try {
    const read = (secret: string) => send(server.url, 'GET', '/orders?limit=1', { headers: bearer(secret) });
    for (let i = 0; i < 3; i++) assert.is((await read(ALICE)).status, 200);
    const limited = await read(ALICE);
    assertProblem(limited, 429, 'rate-limited');
    assert.match(String(limited.headers['retry-after']), /^[1-9]\d*$/);
    assert.is((await read(BOB)).status, 200, 'bob has a budget of his own');
    for (let i = 0; i < 5; i++) assert.is((await send(server.url, 'GET', '/health')).status, 200);
  } finally {
    await server.close();
  }
});

test('loopback clients are not limited by default', async () => {
  const server = await startTestServer({ env: { LEDGER_RATE_LIMIT: '2' } });
  try {
    for (let i = 0; i < 6; i++) assert.is((await send(server.url, 'GET', '/orders?limit=1')).status, 200);
  } finally {
    await server.close();
  }
});

/** Keeps this thread busy: the server, in the same process, lags by as much. */
function blockEventLoop(ms: number): void {
  const until = Date.now() + ms;
  while (Date.now() < until) {
    // busy: nothing else runs
  }
}

test('an event loop lagging past the bound: 503 overloaded with Retry-After; liveness still answers', async () => {
  const app = await listenApp(openMemoryStore(), {
    env: { LEDGER_MAX_EVENT_LOOP_DELAY_MS: '100' },
    loadSampleIntervalMs: 200,
  });
  try {
    assert.is((await send(app.url, 'GET', '/metrics')).status, 200, 'not shedding while idle');
    let shed: Awaited<ReturnType<typeof send>> | undefined;
    let health: Awaited<ReturnType<typeof send>> | undefined;
    // The lag is sampled every 200 ms; the request must land in the sample after the stall.
    for (let attempt = 0; attempt < 5 && shed?.status !== 503; attempt++) {
      blockEventLoop(800);
      [shed, health] = await Promise.all([
        send(app.url, 'PUT', '/orders/lag-1', { body: orderBody() }),
        send(app.url, 'GET', '/health'),
      ]);
    }
    assertProblem(shed!, 503, 'overloaded');
    assert.match(String(shed!.headers['retry-after']), /^[1-9]\d*$/);
    assert.is(health!.status, 200, 'liveness is never shed');
    await new Promise((resolve) => setTimeout(resolve, 600));
    assert.is((await send(app.url, 'PUT', '/orders/lag-1', { body: orderBody() })).status, 201, 'recovered');
  } finally {
    await app.close();
  }
});

test('CORS only for the configured origins: preflight answered, headers exposed; none without the setting', async () => {
  const origin = 'https://shop.example';
  const server = await startTestServer({ env: { LEDGER_API_KEYS: KEYS, LEDGER_CORS_ORIGINS: origin } });
  const closed = await startTestServer();
  try {
    const preflight = await send(server.url, 'OPTIONS', '/orders', {
      headers: {
        origin,
        'access-control-request-method': 'POST',
        'access-control-request-headers': 'authorization,content-type,idempotency-key',
      },
    });
    assert.is(preflight.status, 204);
    assert.is(preflight.headers['access-control-allow-origin'], origin);
    assert.match(String(preflight.headers['access-control-allow-methods']), /POST/);
    assert.match(String(preflight.headers['access-control-allow-headers']), /idempotency-key/);
    assert.is(preflight.headers.allow, 'GET, HEAD, OPTIONS, POST', 'the path still says what it serves');
    const read = await send(server.url, 'GET', '/orders?limit=1', { headers: { origin, ...bearer(ALICE) } });
    assert.is(read.headers['access-control-allow-origin'], origin);
    assert.match(String(read.headers['access-control-expose-headers']), /etag/);
    const stranger = await send(server.url, 'GET', '/orders?limit=1', {
      headers: { origin: 'https://evil.example', ...bearer(ALICE) },
    });
    assert.is(stranger.headers['access-control-allow-origin'], undefined);
    const off = await send(closed.url, 'GET', '/orders?limit=1', { headers: { origin } });
    assert.is(off.headers['access-control-allow-origin'], undefined, 'no CORS without LEDGER_CORS_ORIGINS');
  } finally {
    await server.close();
    await closed.close();
  }
});

test('X-Request-Id becomes the request id: echoed, and with the correlation id in every line of its request', async () => {
  const { logger, lines } = capturingLogger('info');
  const server = await startTestServer({ logger });
  try {
    const headers = { 'x-request-id': 'req-abc-123', 'x-correlation-id': 'checkout-9' };
    const created = await send(server.url, 'PUT', '/orders/r-1', { body: orderBody(), headers });
    assert.is(created.status, 201);
    assert.is(created.headers['x-request-id'], 'req-abc-123');
    assert.is(created.headers['x-correlation-id'], 'checkout-9');
    const own = lines().filter((line) => line.reqId === 'req-abc-123');
    assert.ok(own.length >= 2, 'incoming request and request completed');
    for (const line of own) assert.is(line.correlationId, 'checkout-9', JSON.stringify(line));
    const events = (await send(server.url, 'GET', '/orders/r-1/events')).json.events;
    assert.is(events[0].metadata.correlationId, 'checkout-9');

    // Without a correlation id, the request id is one.
    await send(server.url, 'GET', '/orders/r-1/events', { headers: { 'x-request-id': 'req-def-456' } });
    const second = lines().filter((line) => line.reqId === 'req-def-456');
    assert.ok(second.length >= 2);
    for (const line of second) assert.is(line.correlationId, 'req-def-456');

    for (const unusable of ['has space', 'x'.repeat(129)]) {
      const answer = await send(server.url, 'GET', '/health', { headers: { 'x-request-id': unusable } });
      assert.match(String(answer.headers['x-request-id']), /^[0-9a-f-]{36}$/, 'replaced by a fresh UUID');
    }
  } finally {
    await server.close();
  }
});

test('probes and the docs are logged at debug; a failing /ready logs a warning without a stack', async () => {
  const quiet = ['/health', '/ready', '/openapi.json', '/docs/', '/docs/static/swagger-ui.css'];
  for (const level of ['info', 'debug'] as const) {
    const { logger, lines } = capturingLogger(level);
    const server = await startTestServer({ logger });
    try {
      for (const path of quiet) assert.is((await send(server.url, 'GET', path)).status, 200, path);
      await send(server.url, 'GET', '/orders?limit=1');
      const urls = lines()
        .map((line) => (line.req as { url?: string } | undefined)?.url)
        .filter(Boolean);
      assert.ok(urls.includes('/orders?limit=1'), 'an API request is logged at info');
      for (const path of quiet) {
        assert.is(urls.includes(path), level === 'debug', `${path} at ${level}`);
      }
    } finally {
      await server.close();
    }
  }
  const { logger, lines } = capturingLogger('info');
  const failing = async () => ({ name: 'downstream', ok: false, detail: 'unreachable' });
  const server = await startTestServer({ logger, readiness: [failing] });
  try {
    assertProblem(await send(server.url, 'GET', '/ready'), 503, 'not-ready');
    const logged = lines().filter((line) => line.problem === 'not-ready');
    assert.is(logged.length, 1);
    assert.is(logged[0]!.level, 40, 'a warning');
    assert.not.match(JSON.stringify(logged), /\n\s+at |"stack"/, 'no stack trace');
  } finally {
    await server.close();
  }
});

test('304 Not Modified carries no body and no Content-Length of a serialized null', async () => {
  const server = await startTestServer();
  try {
    const created = await send(server.url, 'PUT', '/orders/e-1', { body: orderBody() });
    const read = await send(server.url, 'GET', `/orders/e-1?minPosition=${created.json.position}`);
    const unchanged = await send(server.url, 'GET', '/orders/e-1', {
      headers: { 'if-none-match': String(read.headers.etag) },
    });
    assert.is(unchanged.status, 304);
    assert.is(unchanged.text, '');
    assert.ok(
      [undefined, '0'].includes(unchanged.headers['content-length']),
      String(unchanged.headers['content-length']),
    );
    assert.is(unchanged.headers.etag, read.headers.etag);
  } finally {
    await server.close();
  }
});

test.run();
