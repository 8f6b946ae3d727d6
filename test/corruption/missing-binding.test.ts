/**
 * A key binding removed from the log while its effect stays: the key's first request has taken
 * effect, so the key must not bind anew. A retry is refused as `event-corrupt` and writes nothing.
 */
import { join } from 'node:path';
import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import { withFile } from '../audit/fixtures.ts';
import { allEvents, orderBody, send, startTestServer } from '../support/http.ts';
import { assertProblem } from '../support/problems.ts';
import { tempDir } from '../support/temp.ts';

const test = suite('a deleted key binding');

test('a capture under the key, sent again after its binding row is gone: event-corrupt, nothing written', async () => {
  const path = join(tempDir('missing-binding'), 'ledger.db');
  const body = orderBody({ lines: [{ sku: 'S', quantity: 1, unitPrice: 1_000 }] });
  const capture = { amount: 400, currency: 'EUR' };
  let server = await startTestServer({ dbPath: path });
  try {
    assert.is((await send(server.url, 'PUT', '/orders/o-1', { body })).status, 201);
    const first = await send(server.url, 'POST', '/orders/o-1/payments', {
      body: capture,
      headers: { 'idempotency-key': 'k' },
    });
    assert.is(first.status, 201, first.text);
  } finally {
    await server.close();
  }
  const removed = withFile(
    path,
    (db) => db.prepare("DELETE FROM events WHERE stream LIKE 'idempotency-%'").run().changes,
  );
  assert.is(removed, 1);

  server = await startTestServer({ dbPath: path });
  try {
    const before = (await allEvents(server.store)).length;
    const retry = await send(server.url, 'POST', '/orders/o-1/payments', {
      body: capture,
      headers: { 'idempotency-key': 'k' },
    });
    assertProblem(retry, 500, 'event-corrupt');
    assert.match(retry.json.detail, 'order-o-1');
    const other = await send(server.url, 'POST', '/orders/o-1/payments', {
      body: { ...capture, amount: 1 },
      headers: { 'idempotency-key': 'k' },
    });
    assertProblem(other, 500, 'event-corrupt');
    assert.is((await allEvents(server.store)).length, before);
  } finally {
    await server.close();
  }
});

test.run();
