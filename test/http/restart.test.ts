/** The stream is the idempotency record: a replay after a restart on the same file is the original response. */
import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import { orderBody, send, startTestServer } from '../support/http.ts';

const test = suite('http: replay after restart');

test('the same requests after a restart get the original bodies, byte for byte', async () => {
  const first = await startTestServer();
  const create = () =>
    send(current.url, 'POST', '/orders', { body: orderBody(), headers: { 'idempotency-key': 'restart-order' } });
  let current = first;
  const created = await create();
  const capture = () =>
    send(current.url, 'POST', `/orders/${created.json.orderId}/payments`, {
      body: { amount: 250, currency: 'EUR' },
      headers: { 'idempotency-key': 'restart-pay' },
    });
  const captured = await capture();
  assert.is(created.status, 201);
  assert.is(captured.status, 201);
  await first.close();

  current = await startTestServer({ dbPath: first.dbPath });
  try {
    const [createdAgain, capturedAgain] = [await create(), await capture()];
    for (const [again, original] of [
      [createdAgain, created],
      [capturedAgain, captured],
    ] as const) {
      assert.is(again.status, 201);
      assert.is(again.text, original.text);
      assert.is(again.headers.etag, original.headers.etag);
      assert.is(again.headers.location, original.headers.location);
      assert.is(again.headers['idempotent-replayed'], 'true');
    }
  } finally {
    await current.close();
  }
});

test.run();
