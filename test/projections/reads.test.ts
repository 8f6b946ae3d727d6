/**
 * The read endpoints over real HTTP, inside the ledger's own app (shared error handler,
 * OpenAPI document): orders, keyset pages, customers, daily reports, projection status, and
 * bounded waiting for minPosition.
 */
import { join } from 'node:path';
import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import { openSqliteStore, type SqliteEventStore } from '../../src/eventstore/sqlite-store.ts';
import { projections } from '../../projections/index.ts';
import { startProjections, type Projections } from '../../src/projections/service.ts';
import { listenApp, send } from '../support/http.ts';
import { tempDir } from '../support/temp.ts';
import { caughtUp, writeOrders } from './support.ts';

interface Context {
  store: SqliteEventStore;
  running: Projections;
  url: string;
  close: () => Promise<void>;
}

const test = suite<Context>('projections: read endpoints');

test.before(async (context) => {
  const path = join(tempDir('projections-reads'), 'ledger.db');
  context.store = openSqliteStore(path, { synchronous: 'NORMAL' });
  await writeOrders(context.store, 60);
  context.running = await startProjections({ store: context.store, readModels: path });
  await caughtUp(context.running, context.store);
  const app = await listenApp(context.store, { reads: context.running, readiness: [context.running.readiness] });
  context.url = app.url;
  context.close = app.close;
});

test.after(async ({ close, running, store }) => {
  await close();
  await running.close();
  await store.close();
});

test('GET /orders/:orderId: the order summary with its ETag; If-None-Match answers 304', async ({ url }) => {
  const response = await send(url, 'GET', '/orders/o4');
  assert.is(response.status, 200);
  assert.is(response.json.orderId, 'o4');
  assert.is(response.json.customerId, 'o-customer-4');
  assert.is(response.json.total, 2_000);
  assert.is(response.json.captured, 600);
  assert.is(response.json.outstanding, 1_400);
  assert.is(response.json.status, 'partially_paid');
  assert.equal(
    response.json.payments.map((p: { paymentId: string }) => p.paymentId),
    ['o4-p0', 'o4-p1'],
  );
  assert.is(typeof response.json.payments[0].position, 'string');
  assert.is(response.headers.etag, `"${response.json.revision}"`);
  const again = await send(url, 'GET', '/orders/o4', { headers: { 'if-none-match': response.headers.etag! } });
  assert.is(again.status, 304);
});

test('GET /orders/:orderId of an unknown order: 404 order-not-found as a problem document', async ({ url }) => {
  const response = await send(url, 'GET', '/orders/nope');
  assert.is(response.status, 404);
  assert.match(response.headers['content-type'] ?? '', /application\/problem\+json/);
  assert.match(response.json.type, /\/problems\/order-not-found$/);
});

test('GET /orders pages by (createdAt, orderId) with an opaque cursor: every order once, in order', async ({ url }) => {
  const seen: Array<{ orderId: string; createdAt: string; customerId: string }> = [];
  let cursor: string | undefined;
  let pages = 0;
  do {
    const query = `/orders?customerId=o-customer-2&limit=3${cursor ? `&cursor=${cursor}` : ''}`;
    const page = await send(url, 'GET', query);
    assert.is(page.status, 200, page.text);
    seen.push(...page.json.items);
    cursor = page.json.nextCursor;
    pages += 1;
  } while (cursor);
  const expected = Array.from({ length: 60 }, (_, i) => i)
    .filter((i) => i % 7 === 2)
    .map((i) => `o${i}`);
  assert.equal(seen.map((o) => o.orderId).sort(), [...expected].sort());
  assert.ok(seen.every((o) => o.customerId === 'o-customer-2'));
  const order = seen.map((o) => `${o.createdAt}|${o.orderId}`);
  assert.equal(order, [...order].sort(), 'oldest first');
  assert.is(pages, Math.ceil(expected.length / 3));

  const paid = await send(url, 'GET', '/orders?status=paid&limit=100');
  assert.ok(paid.json.items.length > 0 && paid.json.items.every((o: { status: string }) => o.status === 'paid'));
  const all = await send(url, 'GET', '/orders?limit=100');
  assert.is(all.json.items.length, 60);
  assert.is(all.json.nextCursor, undefined);
});

test('GET /orders rejects a bad limit or a cursor it did not issue: 400 validation-failed', async ({ url }) => {
  for (const query of ['/orders?limit=0', '/orders?limit=101', '/orders?cursor=bm9wZQ', '/orders?status=lost']) {
    const response = await send(url, 'GET', query);
    assert.is(response.status, 400, query);
    assert.match(response.json.type, /\/problems\/validation-failed$/);
  }
});

test('GET /customers/:customerId: orders and per-currency ordered, captured, outstanding; 404 when unknown', async ({
  url,
}) => {
  const response = await send(url, 'GET', '/customers/o-customer-0');
  assert.is(response.status, 200);
  assert.is(response.json.orders, 9);
  for (const totals of response.json.currencies) {
    assert.is(totals.outstanding, String(BigInt(totals.ordered) - BigInt(totals.captured)));
  }
  const missing = await send(url, 'GET', '/customers/nobody');
  assert.is(missing.status, 404);
  assert.match(missing.json.type, /\/problems\/customer-not-found$/);
});

test('GET /reports/daily: per day and currency within [from, to], with totals; the range is checked', async ({
  url,
}) => {
  const report = await send(url, 'GET', '/reports/daily?from=2024-03-01&to=2024-03-31');
  assert.is(report.status, 200, report.text);
  assert.ok(report.json.days.length > 3);
  assert.ok(report.json.days.every((d: { day: string }) => d.day >= '2024-03-01' && d.day <= '2024-03-31'));
  const ordered = report.json.totals.reduce((sum: number, t: { ordersCreated: number }) => sum + t.ordersCreated, 0);
  assert.is(ordered, 60);
  const euros = await send(url, 'GET', '/reports/daily?from=2024-03-01&to=2024-03-31&currency=EUR');
  assert.ok(euros.json.days.every((d: { currency: string }) => d.currency === 'EUR'));
  assert.equal(
    euros.json.totals.map((t: { currency: string }) => t.currency),
    ['EUR'],
  );
  const oneDay = await send(url, 'GET', '/reports/daily?from=2024-03-02&to=2024-03-02');
  assert.ok(oneDay.json.days.every((d: { day: string }) => d.day === '2024-03-02'));
  for (const query of [
    '/reports/daily?from=2024-03-05&to=2024-03-01',
    '/reports/daily?from=2024-01-01&to=2025-06-01',
    '/reports/daily?from=2024-02-30&to=2024-03-01',
    '/reports/daily?to=2024-03-01',
  ]) {
    assert.is((await send(url, 'GET', query)).status, 400, query);
  }
});

test('GET /projections: name, version, checkpoint, lag and state of each', async ({ url, store }) => {
  const response = await send(url, 'GET', '/projections');
  assert.is(response.status, 200);
  const head = String(await store.headPosition());
  assert.equal(
    response.json.projections.map(
      (p: { name: string; state: string; serving: { checkpoint: string; version: number; lag: unknown } }) => [
        p.name,
        p.state,
        p.serving.version,
        p.serving.checkpoint,
        p.serving.lag,
      ],
    ),
    projections.map((p) => [p.name, 'running', p.version, head, { events: 0, ms: 0 }]),
  );
  const ready = await send(url, 'GET', '/ready');
  assert.is(ready.status, 200);
  assert.ok(ready.json.checks.some((c: { name: string; ok: boolean }) => c.name === 'projections' && c.ok));
});

test('minPosition past the log: 503 projection-lagging with Retry-After once the bound passes (query or header)', async ({
  url,
  store,
}) => {
  const beyond = String((await store.headPosition())! + 1_000n);
  const started = Date.now();
  const viaQuery = await send(url, 'GET', `/orders/o1?minPosition=${beyond}&waitMs=150`);
  assert.ok(Date.now() - started >= 140, 'it waited for the bound');
  assert.is(viaQuery.status, 503);
  assert.is(viaQuery.headers['retry-after'], '1');
  assert.match(viaQuery.json.type, /\/problems\/projection-lagging$/);
  const viaHeader = await send(url, 'GET', '/customers/o-customer-1?waitMs=50', {
    headers: { 'x-min-position': beyond },
  });
  assert.is(viaHeader.status, 503);
  for (const bad of ['/orders/o1?minPosition=abc', '/orders/o1?minPosition=1&waitMs=10001'])
    assert.is((await send(url, 'GET', bad)).status, 400, bad);
});

test('minPosition a little ahead: the read waits for the write, then answers with it', async ({ url, store }) => {
  const next = (await store.headPosition())! + 1n;
  const read = send(url, 'GET', `/orders/late0?minPosition=${next}&waitMs=5000`);
  await new Promise((resolve) => setTimeout(resolve, 100));
  await writeOrders(store, 1, 'late');
  const response = await read;
  assert.is(response.status, 200, response.text);
  assert.is(response.json.orderId, 'late0');
});

test('the read routes are in the OpenAPI document, with minPosition', async ({ url }) => {
  const doc = (await send(url, 'GET', '/openapi.json')).json;
  for (const path of ['/orders/{orderId}', '/orders', '/customers/{customerId}', '/reports/daily', '/projections'])
    assert.ok(doc.paths[path]?.get, path);
  const parameters = doc.paths['/orders/{orderId}'].get.parameters.map((p: { name: string }) => p.name);
  assert.ok(parameters.includes('minPosition') && parameters.includes('x-min-position'), parameters.join());
});

test.run();
