/**
 * A projection handler that throws is a bug, not an outage: over real HTTP the instance stays
 * ready, the reads that need that projection answer 503 projection-failed (the full reason for a
 * caller who reads everything, only the position for an API-key client, since the stopping event
 * may be another client's), the other reads and the commands go on, and /metrics shows it.
 */
import { join } from 'node:path';
import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import { customerActivity } from '../../projections/customer-activity.ts';
import { dailyTotals } from '../../projections/daily-totals.ts';
import { orderSummary } from '../../projections/order-summary.ts';
import { defineProjection } from '../../projections/projection.ts';
import { createCommandHandler } from '../../src/commands/handler.ts';
import { openSqliteStore, type SqliteEventStore } from '../../src/eventstore/sqlite-store.ts';
import { buildApp } from '../../src/http/app.ts';
import { registerProjectionMetrics } from '../../src/projections/metrics.ts';
import { startProjections, type Projections } from '../../src/projections/service.ts';
import { context } from '../support/commands.ts';
import { orderBody, send, testConfig } from '../support/http.ts';
import { assertProblem } from '../support/problems.ts';
import { tempDir } from '../support/temp.ts';
import { writeOrders } from './support.ts';

/** order-summary as shipped, except that its OrderCreated handler chokes on one order. */
const brokenOrderSummary = defineProjection({
  name: orderSummary.name,
  version: orderSummary.version,
  indexes: orderSummary.indexes,
  on: {
    OrderCreated: (e, docs) => {
      if (e.event.data.orderId === 'poison') throw new Error('cannot summarise this order');
      return orderSummary.apply(e, docs);
    },
    PaymentCaptured: (e, docs) => orderSummary.apply(e, docs),
  },
});

const SECRET = 'alice-secret-0123456789';

interface Context {
  store: SqliteEventStore;
  running: Projections;
  /** Auth off: one trusted tenant, reads everything. */
  open: string;
  /** API keys: alice reads only her own orders. */
  keyed: string;
  poison: bigint;
  closers: Array<() => Promise<void>>;
}

const test = suite<Context>('projections: a failed projection over HTTP');

async function serve(ctx: Context, env: Record<string, string>): Promise<string> {
  const app = await buildApp({
    store: ctx.store,
    config: testConfig(env),
    reads: ctx.running,
    readiness: [ctx.running.readiness],
  });
  registerProjectionMetrics(app.ledger.metrics.registry, ctx.running.status);
  const url = await app.listen({ host: '127.0.0.1', port: 0 });
  ctx.closers.unshift(() => app.close());
  return url;
}

test.before(async (ctx) => {
  ctx.closers = [];
  const path = join(tempDir('projection-failed'), 'ledger.db');
  ctx.store = openSqliteStore(path, { synchronous: 'NORMAL' });
  ctx.closers.unshift(() => ctx.store.close());
  await writeOrders(ctx.store, 10);
  const handle = createCommandHandler(ctx.store);
  ctx.poison = (await handle({ type: 'CreateOrder', orderId: 'poison', ...orderBody() }, context())).position;
  await writeOrders(ctx.store, 3, 'later');
  const projections = [brokenOrderSummary, customerActivity, dailyTotals];
  ctx.running = await startProjections({ store: ctx.store, readModels: path, projections });
  ctx.closers.unshift(() => ctx.running.close());
  const deadline = Date.now() + 10_000;
  const failed = async () => (await ctx.running.status())[0]!.state === 'failed';
  while (!(await failed()) && Date.now() < deadline) await new Promise((resolve) => setTimeout(resolve, 10));
  ctx.open = await serve(ctx, {});
  ctx.keyed = await serve(ctx, { LEDGER_API_KEYS: `alice:${SECRET}` });
});

test.after(async ({ closers }) => {
  for (const close of closers) await close();
});

test('/ready stays 200; its projections check passes and names what stopped', async ({ open }) => {
  const ready = await send(open, 'GET', '/ready');
  assert.is(ready.status, 200, ready.text);
  const check = ready.json.checks.find((c: { name: string }) => c.name === 'projections');
  assert.is(check.ok, true);
  assert.match(check.detail, /order-summary stopped at order-poison@0/);
});

test('reads that need the failed projection: 503 projection-failed with the reason', async ({ open, poison }) => {
  for (const path of ['/orders/o1', '/orders', '/orders?customerId=o-customer-1']) {
    const response = await send(open, 'GET', path);
    assertProblem(response, 503, 'projection-failed');
    assert.is(
      response.json.detail,
      `order-summary stopped at order-poison@0 (position ${poison}): Error: cannot summarise this order`,
      path,
    );
    assert.is(response.json.projection, 'order-summary');
    assert.is(response.json.position, String(poison));
  }
  // minPosition that the failed projection will never reach: still the failure, not "lagging".
  const waiting = await send(open, 'GET', `/orders/o1?minPosition=${poison - 1n}&waitMs=0`);
  assertProblem(waiting, 503, 'projection-failed');
});

test("an API-key client learns where it stopped, not which order (maybe another's)", async ({ keyed, poison }) => {
  const response = await send(keyed, 'GET', '/orders/o1', { headers: { authorization: `Bearer ${SECRET}` } });
  assertProblem(response, 503, 'projection-failed');
  assert.match(response.json.detail, new RegExp(`^order-summary stopped at position ${poison}: `));
  assert.not.match(response.text, /poison|summarise/);
});

test('the other projections still answer, and commands still work', async ({ open, store }) => {
  const customer = await send(open, 'GET', '/customers/o-customer-1');
  assert.is(customer.status, 200, customer.text);
  const report = await send(open, 'GET', '/reports/daily?from=2024-03-01&to=2024-03-31');
  assert.is(report.status, 200, report.text);
  const created = await send(open, 'PUT', '/orders/after-failure', { body: orderBody() });
  assert.is(created.status, 201, created.text);
  assert.ok((await store.readStream('order-after-failure')).length === 1);
});

test('/metrics: the failed state is a gauge an alert can match', async ({ open }) => {
  const metrics = await send(open, 'GET', '/metrics');
  assert.is(metrics.status, 200);
  assert.match(metrics.text, /ledger_projection_state\{projection="order-summary",state="failed"\} 1/);
  assert.match(metrics.text, /ledger_projection_state\{projection="customer-activity",state="failed"\} 0/);
});

test('projection-failed is documented: a problem page, and in the read routes’ OpenAPI responses', async ({ open }) => {
  const page = await send(open, 'GET', '/problems/projection-failed');
  assert.is(page.status, 200);
  const doc = (await send(open, 'GET', '/openapi.json')).json;
  for (const path of ['/orders/{orderId}', '/orders', '/customers/{customerId}', '/reports/daily']) {
    assert.match(doc.paths[path].get.responses['503'].description, /projection-lagging, projection-failed/, path);
  }
});

test.run();
