/**
 * Two server processes on one SQLite file, each holding its own cached entry of the same order,
 * stale whenever the other has written since: the expected revision must fence every append made
 * from a stale entry, a refusal must hold on the stream as stored, and a duplicate sent to the other
 * process must replay. Commands alternate between the processes one by one, then run all at once.
 */
import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import type { OrderEvent } from '../../src/domain/events.ts';
import { decodeStream } from '../../src/events/codec.ts';
import { openSqliteStore } from '../../src/eventstore/sqlite-store.ts';
import { orderBody, type Sent, send } from '../support/http.ts';
import { onTwoServers, resendingOn503, type TwoServers } from '../support/two-servers.ts';

const test = suite<TwoServers>('http: stale cache entries across two processes');
onTwoServers(test, 'stale-cache');

const post = (url: string, path: string, body: unknown): Promise<Sent> =>
  resendingOn503(() => send(url, 'POST', path, { body }));

async function eventsOf(path: string, orderId: string): Promise<OrderEvent[]> {
  const store = openSqliteStore(path);
  try {
    return decodeStream(await store.readStream(`order-${orderId}`)).map((e) => e.event);
  } finally {
    await store.close();
  }
}

const captures = (events: OrderEvent[]) =>
  events.flatMap((e) => (e.type === 'PaymentCaptured' ? [e.data.paymentId] : []));
const code = (r: Sent) =>
  `${r.status} ${String(r.json?.type ?? '')
    .split('/')
    .pop()}`;

test('alternating, then concurrent captures from two stale caches: every 201 stored once, nothing more', async ({
  servers,
  path,
}) => {
  const [a, b] = servers.map((s) => s.url) as [string, string];
  const created = await send(a, 'PUT', '/orders/shared', {
    body: orderBody({ lines: [{ sku: 'S', quantity: 1, unitPrice: 10_000 }] }),
  });
  assert.is(created.status, 201, created.text);
  // Each process decides on the order once, so both hold an entry of it.
  assert.is(
    (await post(a, '/orders/shared/payments', { paymentId: 'warm-a', amount: 100, currency: 'EUR' })).status,
    201,
  );
  assert.is(
    (await post(b, '/orders/shared/payments', { paymentId: 'warm-b', amount: 100, currency: 'EUR' })).status,
    201,
  );

  // One by one, alternating: each command meets an entry one write behind; its duplicate goes to the other.
  for (let i = 0; i < 20; i++) {
    const [here, there] = i % 2 === 0 ? [a, b] : [b, a];
    const body = { paymentId: `seq-${i}`, amount: 100, currency: 'EUR' };
    const first = await post(here, '/orders/shared/payments', body);
    assert.is(first.status, 201, first.text);
    assert.is(first.json.revision, String(3 + i), 'appended at the head, not at a stale revision');
    const again = await post(there, '/orders/shared/payments', body);
    assert.is(again.status, 201, again.text);
    assert.is(again.headers['idempotent-replayed'], 'true');
    assert.equal(again.json, first.json, 'the duplicate answers the original');
  }

  // All at once, half to each: 10,000 − 2,200 = 7,800 outstanding, so exactly 78 of 100 × 100 fit.
  const responses = await Promise.all(
    Array.from({ length: 100 }, (_, i) =>
      post(i % 2 === 0 ? a : b, '/orders/shared/payments', { paymentId: `burst-${i}`, amount: 100, currency: 'EUR' }),
    ),
  );
  for (const r of responses) assert.ok(r.status === 201 || code(r) === '409 capture-exceeds-outstanding', r.text);
  const accepted = responses.filter((r) => r.status === 201).map((r) => r.json.paymentId as string);
  assert.is(accepted.length, 78);

  // Every duplicate of the burst, sent to the other process, replays or is refused as before.
  const duplicates = await Promise.all(
    responses.map((r, i) =>
      post(i % 2 === 0 ? b : a, '/orders/shared/payments', { paymentId: `burst-${i}`, amount: 100, currency: 'EUR' }),
    ),
  );
  duplicates.forEach((d, i) => {
    const original = responses[i]!;
    if (original.status === 201) assert.equal([d.status, d.json], [201, original.json], d.text);
    else assert.is(code(d), '409 capture-exceeds-outstanding', d.text);
  });

  const stored = captures(await eventsOf(path, 'shared'));
  assert.is(new Set(stored).size, stored.length, 'no payment stored twice');
  assert.is(stored.length, 2 + 20 + 78);
  for (const id of accepted) assert.ok(stored.includes(id), `${id} answered 201 but not stored`);
});

test('a refund seen by one process frees room the other stale process must see before refusing', async ({
  servers,
  path,
}) => {
  const [a, b] = servers.map((s) => s.url) as [string, string];
  for (let round = 0; round < 10; round++) {
    const orderId = `room-${round}`;
    const [here, there] = round % 2 === 0 ? [a, b] : [b, a];
    const put = await send(here, 'PUT', `/orders/${orderId}`, {
      body: orderBody({ lines: [{ sku: 'S', quantity: 1, unitPrice: 1_000 }] }),
    });
    assert.is(put.status, 201, put.text);
    // Both processes cache the order with nothing outstanding.
    const full = { paymentId: 'all', amount: 1_000, currency: 'EUR' };
    assert.is((await post(here, `/orders/${orderId}/payments`, full)).status, 201);
    assert.is((await post(there, `/orders/${orderId}/payments`, full)).headers['idempotent-replayed'], 'true');
    const refund = await post(there, `/orders/${orderId}/payments/all/refunds`, { refundId: 'r', amount: 300 });
    assert.is(refund.status, 201, refund.text);
    // `here` still holds the entry without the refund: its refusal would be wrong.
    const more = await post(here, `/orders/${orderId}/payments`, { paymentId: 'more', amount: 300, currency: 'EUR' });
    assert.is(more.status, 201, more.text);
    const over = await post(there, `/orders/${orderId}/payments`, { paymentId: 'over', amount: 1, currency: 'EUR' });
    assert.is(code(over), '409 capture-exceeds-outstanding', over.text);
    assert.equal(captures(await eventsOf(path, orderId)), ['all', 'more']);
  }
});

test.run();
