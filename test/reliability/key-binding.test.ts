/**
 * Idempotency-Key bindings across real server processes on one SQLite file: one key raced with
 * many different bodies, and processes killed between the durable steps of a keyed write.
 */
import { join } from 'node:path';
import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import { openSqliteStore } from '../../src/eventstore/sqlite-store.ts';
import type { RecordedEvent } from '../../src/eventstore/port.ts';
import { ledger } from '../cli/run.ts';
import { orderBody, send, type Sent } from '../support/http.ts';
import { tempDir } from '../support/temp.ts';
import { freePort, ServerProcess, sleep } from './server-process.ts';

const dir = tempDir('key-binding-processes');
const test = suite('key bindings across processes and crashes');
let files = 0;

const CRASH_SERVER = 'test/support/crash-server.ts';
const ORDER = orderBody({ lines: [{ sku: 'S', quantity: 1, unitPrice: 100_000 }] });

async function eventsOf(path: string): Promise<RecordedEvent[]> {
  const store = openSqliteStore(path);
  try {
    const events: RecordedEvent[] = [];
    for await (const event of store.readAll()) events.push(event);
    return events;
  } finally {
    await store.close();
  }
}

async function server(path: string, options: { crashAt?: string; binding?: string } = {}): Promise<ServerProcess> {
  const env: Record<string, string> = {
    ...(options.crashAt && { LEDGER_TEST_CRASH_AT: options.crashAt }),
    ...(options.binding && { LEDGER_TEST_BINDING: options.binding }),
  };
  const process = new ServerProcess({
    store: `sqlite:${path}`,
    port: await freePort(),
    env,
    entry: options.crashAt || options.binding ? CRASH_SERVER : 'src/main.ts',
  });
  await process.start();
  return process;
}

/** What a client does with a 503: wait and resend the same request. */
async function sendUntilDefinite(url: string, method: string, path: string, body: unknown, key: string): Promise<Sent> {
  for (let attempt = 0; ; attempt++) {
    const response = await send(url, method, path, { body, headers: { 'idempotency-key': key } });
    if (response.status !== 503 || attempt === 30) return response;
    await sleep(20 + Math.random() * 50);
  }
}

async function audit(path: string) {
  const run = await ledger(['replay', '--store', `sqlite:${path}`, '--json']);
  return { code: run.code, findings: run.json?.findings?.total, keys: run.json?.keys };
}

test('100 requests at once with one key and 100 different bodies, across two processes: one takes effect, 99 get 422', async () => {
  const path = join(dir, `race-${++files}.db`);
  const [a, b] = [await server(path), await server(path)];
  try {
    assert.is((await send(a.url, 'PUT', '/orders/raced', { body: ORDER })).status, 201);
    const bodies = Array.from({ length: 100 }, (_, i) => ({ paymentId: `p-${i}`, amount: 100 + i, currency: 'EUR' }));
    const responses = await Promise.all(
      bodies.map((body, i) =>
        sendUntilDefinite(i % 2 === 0 ? a.url : b.url, 'POST', '/orders/raced/payments', body, 'one-key'),
      ),
    );
    const winners = responses.filter((r) => r.status === 201);
    assert.is(
      winners.length,
      1,
      responses
        .filter((r) => r.status !== 201 && r.status !== 422)
        .map((r) => r.text)
        .join('\n'),
    );
    assert.is(responses.filter((r) => r.status === 422 && r.json.type.endsWith('/idempotency-key-reused')).length, 99);
    const payments = (await eventsOf(path)).filter((e) => e.type === 'PaymentCaptured');
    assert.is(payments.length, 1);
    assert.is(payments[0]!.data.paymentId, winners[0]!.json.paymentId);
    assert.is(payments[0]!.data.amount, winners[0]!.json.amount);
  } finally {
    await Promise.all([a.terminate(), b.terminate()]);
  }
  const result = await audit(path);
  assert.is(result.code, 0);
  assert.equal(result.keys, { bindings: 1, pending: 0, legacyKeyedEvents: 0 });
});

test('killed after the effect is committed and before the answer: the retry gets the original, exactly once', async () => {
  const path = join(dir, `after-effect-${++files}.db`);
  const crashing = await server(path, { crashAt: 'after-effect' });
  assert.is((await send(crashing.url, 'PUT', '/orders/ae', { body: ORDER })).status, 201, 'no key: no binding step');
  const capture = { amount: 700, currency: 'EUR' };
  const cut = await send(crashing.url, 'POST', '/orders/ae/payments', {
    body: capture,
    headers: { 'idempotency-key': 'ae-key' },
  }).catch((error: Error) => error);
  assert.instance(cut, Error, 'the process died before answering');
  assert.is(await crashing.exited(), 'SIGKILL');
  assert.equal(
    (await eventsOf(path)).map((e) => e.type),
    ['OrderCreated', 'IdempotencyKeyBound', 'PaymentCaptured'],
  );

  const restarted = await server(path);
  try {
    const retry = await sendUntilDefinite(restarted.url, 'POST', '/orders/ae/payments', capture, 'ae-key');
    assert.is(retry.status, 201, retry.text);
    assert.is(retry.headers['idempotent-replayed'], 'true');
    const again = await sendUntilDefinite(restarted.url, 'POST', '/orders/ae/payments', capture, 'ae-key');
    assert.is(again.text, retry.text);
    const other = await sendUntilDefinite(
      restarted.url,
      'POST',
      '/orders/ae/payments',
      { amount: 701, currency: 'EUR' },
      'ae-key',
    );
    assert.is(other.status, 422);
  } finally {
    await restarted.terminate();
  }
  assert.is((await eventsOf(path)).filter((e) => e.type === 'PaymentCaptured').length, 1);
  assert.equal((await audit(path)).findings, 0);
});

test('killed after the reservation and before the effect (two-step): nothing else gets the key, the retry writes the effect once', async () => {
  const path = join(dir, `after-reservation-${++files}.db`);
  const crashing = await server(path, { crashAt: 'after-reservation', binding: 'two-step' });
  const cut = await send(crashing.url, 'POST', '/orders', {
    body: ORDER,
    headers: { 'idempotency-key': 'ar-key' },
  }).catch((error: Error) => error);
  assert.instance(cut, Error, 'the process died before answering');
  assert.is(await crashing.exited(), 'SIGKILL');
  const [reservation, ...rest] = await eventsOf(path);
  assert.is(reservation?.type, 'IdempotencyKeyBound');
  assert.is(rest.length, 0, 'the effect was never written');
  const pending = await audit(path);
  assert.is(pending.code, 0, 'a binding without its effect is pending, not corruption');
  assert.equal(pending.keys, { bindings: 1, pending: 1, legacyKeyedEvents: 0 });

  const restarted = await server(path);
  try {
    const other = await sendUntilDefinite(
      restarted.url,
      'POST',
      '/orders',
      orderBody({ customerId: 'someone-else' }),
      'ar-key',
    );
    assert.is(other.status, 422, 'a different request does not get through the half-done key');
    const retry = await sendUntilDefinite(restarted.url, 'POST', '/orders', ORDER, 'ar-key');
    assert.is(retry.status, 201, retry.text);
    assert.is(retry.headers['idempotent-replayed'], undefined, 'this retry is the one that wrote the effect');
    assert.is(
      retry.json.orderId,
      (reservation!.data as { orderId: string }).orderId,
      'the id chosen at the reservation',
    );
    const again = await sendUntilDefinite(restarted.url, 'POST', '/orders', ORDER, 'ar-key');
    assert.is(again.headers['idempotent-replayed'], 'true');
    assert.is(again.text, retry.text);
  } finally {
    await restarted.terminate();
  }
  assert.is((await eventsOf(path)).filter((e) => e.type === 'OrderCreated').length, 1);
  const done = await audit(path);
  assert.is(done.code, 0);
  assert.equal(done.keys, { bindings: 1, pending: 0, legacyKeyedEvents: 0 });
});

test('the two-step protocol on its own: racing different bodies under one key still let exactly one through', async () => {
  const path = join(dir, `two-step-race-${++files}.db`);
  const [a, b] = [await server(path, { binding: 'two-step' }), await server(path, { binding: 'two-step' })];
  try {
    assert.is((await send(a.url, 'PUT', '/orders/raced2', { body: ORDER })).status, 201);
    const responses = await Promise.all(
      Array.from({ length: 40 }, (_, i) =>
        sendUntilDefinite(
          i % 2 === 0 ? a.url : b.url,
          'POST',
          '/orders/raced2/payments',
          { paymentId: `q-${i}`, amount: 10 + i, currency: 'EUR' },
          'k2',
        ),
      ),
    );
    assert.is(responses.filter((r) => r.status === 201).length, 1);
    assert.is(responses.filter((r) => r.status === 422).length, 39);
  } finally {
    await Promise.all([a.terminate(), b.terminate()]);
  }
  assert.is((await eventsOf(path)).filter((e) => e.type === 'PaymentCaptured').length, 1);
});

test.run();
