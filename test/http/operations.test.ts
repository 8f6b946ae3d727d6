/** Health, readiness, metrics, the OpenAPI document, and the plug-in points for other route groups. */
import type { FastifyPluginAsyncZod } from 'fastify-type-provider-zod';
import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import { z } from 'zod';
import { DomainRejection } from '../../src/domain/rejection.ts';
import { problemResponses } from '../../src/http/schemas.ts';
import { orderBody, send, startTestServer, type TestServer } from '../support/http.ts';
import { assertProblem } from '../support/problems.ts';

/** What a read-model plugin looks like: zod schemas, app.ledger, errors thrown for the shared handler. */
const readsLike: FastifyPluginAsyncZod = async (app) => {
  app.get(
    '/plugged/:id',
    {
      schema: {
        params: z.object({ id: z.string().max(3) }),
        // A plugged route documents its rejections like any other: the test client checks answers against it.
        response: {
          200: z.object({ id: z.string(), store: z.string() }),
          ...problemResponses('validation-failed', 'order-not-found'),
        },
      },
    },
    async (request) => {
      if (request.params.id === 'no') throw new DomainRejection('order-not-found', 'nothing here');
      return { id: request.params.id, store: app.ledger.store.kind };
    },
  );
  app.ledger.readiness.push(async () => ({ name: 'plugged', ok: true, detail: 'caught up' }));
};

const test = suite<{ server: TestServer }>('http: operations');

test.before(async (context) => {
  context.server = await startTestServer({
    extraRoutes: [readsLike],
    readiness: [async () => ({ name: 'given', ok: true })],
  });
});
test.after(async ({ server }) => server.close());

test('GET /health and GET /ready with every registered check', async ({ server }) => {
  assert.equal((await send(server.url, 'GET', '/health')).json, { status: 'ok' });
  const ready = await send(server.url, 'GET', '/ready');
  assert.is(ready.status, 200);
  assert.equal(
    ready.json.checks.map((c: { name: string }) => c.name),
    ['event-store (sqlite)', 'projections', 'given', 'plugged'],
  );
});

test('GET /metrics: requests by route and status, commands by outcome, append latency', async ({ server }) => {
  await send(server.url, 'PUT', '/orders/m-1', { body: orderBody() });
  await send(server.url, 'PUT', '/orders/m-1', { body: orderBody() });
  await send(server.url, 'PUT', '/orders/m-1', { body: orderBody({ currency: 'USD' }) });
  const metrics = await send(server.url, 'GET', '/metrics');
  assert.is(metrics.status, 200);
  assert.match(String(metrics.headers['content-type']), /^text\/plain/);
  assert.match(metrics.text, /ledger_http_requests_total\{method="PUT",route="\/orders\/:orderId",status="201"\} 2/);
  assert.match(metrics.text, /ledger_http_requests_total\{method="PUT",route="\/orders\/:orderId",status="409"\} 1/);
  assert.match(metrics.text, /ledger_commands_total\{outcome="created"\} 1/);
  assert.match(metrics.text, /ledger_commands_total\{outcome="replayed"\} 1/);
  assert.match(metrics.text, /ledger_commands_total\{outcome="rejected"\} 1/);
  assert.match(metrics.text, /ledger_store_append_duration_seconds_count\{store="sqlite",outcome="written"\} 1/);
  for (const projection of ['order-summary', 'customer-activity', 'daily-totals']) {
    assert.match(metrics.text, new RegExp(`ledger_projection_state\\{projection="${projection}",state="failed"\\} 0`));
    assert.match(metrics.text, new RegExp(`ledger_projection_lag_events\\{projection="${projection}"\\} \\d+`));
  }
});

test('GET /openapi.json documents every route with its zod schemas, plugged routes included; /docs serves the UI', async ({
  server,
}) => {
  const doc = (await send(server.url, 'GET', '/openapi.json')).json;
  assert.is(doc.openapi, '3.1.0');
  for (const path of [
    '/orders',
    '/orders/{orderId}',
    '/orders/{orderId}/payments',
    '/orders/{orderId}/events',
    '/health',
    '/ready',
    '/metrics',
    '/plugged/{id}',
  ]) {
    assert.ok(doc.paths[path], `${path} is documented`);
  }
  const put = doc.paths['/orders/{orderId}'].put;
  assert.ok(put.requestBody.content['application/json'].schema.properties.lines);
  assert.ok(put.responses['201']);
  assert.ok(put.responses['409']);
  assert.ok(put.parameters.some((p: { name: string }) => p.name === 'idempotency-key'));
  const ui = await send(server.url, 'GET', '/docs/');
  assert.is(ui.status, 200);
  assert.match(ui.text, /swagger/i);
});

test('plugged routes share the zod validation and the one error handler', async ({ server }) => {
  assert.equal((await send(server.url, 'GET', '/plugged/ab')).json, { id: 'ab', store: 'sqlite' });
  assertProblem(await send(server.url, 'GET', '/plugged/toolong'), 400, 'validation-failed');
  assertProblem(await send(server.url, 'GET', '/plugged/no'), 404, 'order-not-found');
});

test.run();
