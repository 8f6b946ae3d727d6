/**
 * GET /orders/:orderId/payments/:paymentId answers from the order stream as the command handler
 * decides on it: a stream this server has decided on is not read again, only what was appended
 * since (by this server or another process) is, so the answer is current and its cost does not grow
 * with the order. A corrupt record in what is read is the event-corrupt problem, to the owner only;
 * another client's order answers exactly like a missing one.
 */
import { join } from 'node:path';
import Database from 'better-sqlite3';
import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import { createCommandHandler } from '../../src/commands/handler.ts';
import type { EventStore } from '../../src/eventstore/port.ts';
import { openSqliteStore } from '../../src/eventstore/sqlite-store.ts';
import { capturePayment, context } from '../support/commands.ts';
import { countedReads, readsOf, type StreamRead } from '../support/counted-reads.ts';
import { listenApp, orderBody, type Sent, send } from '../support/http.ts';
import { assertProblem } from '../support/problems.ts';
import { tempDir } from '../support/temp.ts';

const ALICE = 'alice-secret-0123456789';
const BOB = 'bob-secret-0123456789ab';
const as = (secret: string) => ({ authorization: `Bearer ${secret}` });
const env = { LEDGER_API_KEYS: `alice:${ALICE},bob:${BOB}` };

interface Context {
  path: string;
  url: string;
  close(): Promise<void>;
  /** Every stream read the server made: which stream, from which revision, how many records. */
  reads: StreamRead[];
  /** The same file opened as another process would, writing behind the server's back. */
  other: EventStore;
}

const test = suite<Context>('http: a payment read from the decided order stream');
let files = 0;

test.before.each(async (ctx) => {
  ctx.path = join(tempDir('payment-status'), `ledger-${++files}.db`);
  const store = openSqliteStore(ctx.path);
  const counted = countedReads(store);
  ctx.reads = counted.reads;
  const app = await listenApp(counted.store, { env });
  ctx.url = app.url;
  ctx.close = async () => {
    await app.close();
    await store.close();
  };
  ctx.other = openSqliteStore(ctx.path);
});
test.after.each(async (ctx) => {
  await ctx.close();
  await ctx.other.close();
});

const big = orderBody({ lines: [{ sku: 'S', quantity: 1, unitPrice: 1_000_000 }] });

async function orderWithCaptures(url: string, orderId: string, captures: number): Promise<void> {
  const created = await send(url, 'PUT', `/orders/${orderId}`, { body: big, headers: as(ALICE) });
  assert.is(created.status, 201, created.text);
  for (let i = 0; i < captures; i++) {
    const body = { paymentId: `p-${i}`, amount: 10, currency: 'EUR' };
    const captured = await send(url, 'POST', `/orders/${orderId}/payments`, { body, headers: as(ALICE) });
    assert.is(captured.status, 201, captured.text);
  }
}

test('a stream the server decided on is read from its head only; its own write is visible at once', async (ctx) => {
  await orderWithCaptures(ctx.url, 'long', 40);
  const before = readsOf(ctx.reads, 'order-long').length;
  for (const paymentId of ['p-0', 'p-39']) {
    const got = await send(ctx.url, 'GET', `/orders/long/payments/${paymentId}`, { headers: as(ALICE) });
    assert.is(got.status, 200, got.text);
    assert.equal([got.json.status, got.json.amount, got.json.currency], ['captured', 10, 'EUR']);
    assert.is(got.json.revision, '40');
    assert.is(got.headers.etag, '"40"');
  }
  assert.equal(
    readsOf(ctx.reads, 'order-long').slice(before),
    [
      { streamId: 'order-long', fromRevision: 41n, records: 0 },
      { streamId: 'order-long', fromRevision: 41n, records: 0 },
    ],
    'only what follows the head this server knows is read, not the 41 events',
  );

  // Another process appends: the next read brings in just that event.
  await createCommandHandler(ctx.other)(capturePayment('long', 'elsewhere', 10), context({ clientId: 'alice' }));
  const elsewhere = await send(ctx.url, 'GET', '/orders/long/payments/elsewhere', { headers: as(ALICE) });
  assert.is(elsewhere.status, 200, elsewhere.text);
  assert.equal([elsewhere.json.status, elsewhere.json.revision], ['captured', '41']);
  assert.equal(readsOf(ctx.reads, 'order-long').at(-1), { streamId: 'order-long', fromRevision: 41n, records: 1 });

  // A capture accepted here is in the very next read.
  const body = { paymentId: 'mine', amount: 25, currency: 'EUR' };
  const captured = await send(ctx.url, 'POST', '/orders/long/payments', { body, headers: as(ALICE) });
  assert.is(captured.status, 201, captured.text);
  const mine = await send(ctx.url, 'GET', '/orders/long/payments/mine', { headers: as(ALICE) });
  assert.equal([mine.status, mine.json.amount, mine.json.revision], [200, 25, '42']);
});

/** The same answer apart from the id in the detail and the per-request instance URN. */
function assertSameAnswer(other: Sent, missing: Sent): void {
  assert.equal([other.status, other.headers['content-type']], [missing.status, missing.headers['content-type']]);
  const general = ({ instance: _, ...body }: Record<string, unknown>) => ({
    ...body,
    detail: String(body.detail).replace(/order \S+ /, 'order <id> '),
  });
  assert.equal(general(other.json), general(missing.json));
}

test("another client's order answers exactly like a missing one", async (ctx) => {
  await orderWithCaptures(ctx.url, 'alices', 1);
  const own = await send(ctx.url, 'GET', '/orders/alices/payments/p-0', { headers: as(ALICE) });
  assert.is(own.status, 200, own.text);
  const other = await send(ctx.url, 'GET', '/orders/alices/payments/p-0', { headers: as(BOB) });
  const missing = await send(ctx.url, 'GET', '/orders/nobodys/payments/p-0', { headers: as(BOB) });
  assertProblem(other, 404, 'order-not-found');
  assertSameAnswer(other, missing);
  assertProblem(
    await send(ctx.url, 'GET', '/orders/alices/payments/none', { headers: as(ALICE) }),
    404,
    'payment-not-found',
  );
});

test('a corrupt record after the cached head: event-corrupt for the owner, not found for anyone else', async (ctx) => {
  await orderWithCaptures(ctx.url, 'rot', 2);
  assert.is((await send(ctx.url, 'GET', '/orders/rot/payments/p-1', { headers: as(ALICE) })).status, 200);
  await createCommandHandler(ctx.other)(capturePayment('rot', 'p-2', 10), context({ clientId: 'alice' }));
  // At rest, the amount of the event the server has not read yet is edited; its hash is left alone.
  const raw = new Database(ctx.path);
  const { position } = raw
    .prepare("SELECT position FROM events WHERE stream = 'order-rot' AND revision = 3")
    .safeIntegers(true)
    .get() as { position: bigint };
  raw.prepare("UPDATE events SET data = json_set(data, '$.amount', 9) WHERE position = ?").run(position);
  raw.close();

  for (const paymentId of ['p-2', 'p-0']) {
    const corrupt = await send(ctx.url, 'GET', `/orders/rot/payments/${paymentId}`, { headers: as(ALICE) });
    assertProblem(corrupt, 500, 'event-corrupt');
    assert.equal(
      [corrupt.json.streamId, corrupt.json.revision, corrupt.json.position],
      ['order-rot', '3', position.toString()],
    );
  }
  const foreign = await send(ctx.url, 'GET', '/orders/rot/payments/p-0', { headers: as(BOB) });
  assertSameAnswer(foreign, await send(ctx.url, 'GET', '/orders/nobodys/payments/p-0', { headers: as(BOB) }));
});

test.run();
