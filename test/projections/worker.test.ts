/**
 * The server's projection runner on its worker thread: many writes in flight, each read back with
 * minPosition (read-your-writes across threads); the runner crashing is logged and it restarts,
 * after which reads catch up again; a stop ends the thread (the process would not exit otherwise).
 */
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { Writable } from 'node:stream';
import type { FastifyBaseLogger } from 'fastify';
import { pino } from 'pino';
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { orderBody, send, startTestServer, type TestServer } from '../support/http.ts';
import { tempDir } from '../support/temp.ts';

async function createAndRead(server: TestServer, n: number): Promise<void> {
  const created = await send(server.url, 'POST', '/orders', {
    body: orderBody({ customerId: `cust-${n}` }),
    headers: { 'idempotency-key': `worker-test-${n}-${Date.now()}` },
  });
  assert.is(created.status, 201, created.text);
  const { orderId, position } = created.json as { orderId: string; position: string };
  const read = await send(server.url, 'GET', `/orders/${orderId}?minPosition=${position}&waitMs=10000`);
  assert.is(read.status, 200, read.text);
  assert.is(read.json.customerId, `cust-${n}`);
  assert.ok(BigInt(read.json.position) <= BigInt(position));
}

test('read-your-writes with the runner on its own thread: 40 writes in flight, each read back at once', async () => {
  const server = await startTestServer();
  try {
    await Promise.all(Array.from({ length: 40 }, (_, n) => createAndRead(server, n)));
    const status = await send(server.url, 'GET', '/projections');
    assert.is(status.status, 200);
    for (const projection of status.json.projections as Array<{ state: string; serving: { lag: { events: number } } }>)
      assert.is(projection.state, 'running');
    const ready = await send(server.url, 'GET', '/ready');
    assert.is(ready.status, 200, ready.text);
  } finally {
    await server.close();
  }
});

test('a crash of the projection worker is logged as an alert; it restarts and reads catch up', async () => {
  const marker = join(tempDir('projection-worker'), 'crash-once');
  writeFileSync(marker, '');
  process.env.LEDGER_TEST_PROJECTION_CRASH = marker;
  const lines: Array<Record<string, unknown>> = [];
  const sink = new Writable({
    write(chunk: Buffer, _encoding, done) {
      for (const line of chunk.toString('utf8').split('\n')) if (line) lines.push(JSON.parse(line));
      done();
    },
  });
  const logger = pino({ level: 'info' }, sink) as unknown as FastifyBaseLogger;
  const server = await startTestServer({
    logger,
    projectionWorker: new URL('./fixtures/crashing-projection-worker.ts', import.meta.url),
  });
  try {
    const deadline = Date.now() + 20_000;
    while (!lines.some((line) => line.alert === 'background-job-crashed') && Date.now() < deadline)
      await new Promise((resolve) => setTimeout(resolve, 50));
    const alert = lines.find((line) => line.alert === 'background-job-crashed');
    assert.ok(alert, 'the crash was logged');
    assert.is(alert.job, 'projections');
    assert.match(String(alert.err), /the projection worker crashed \(test\)/);
    // Written while the runner may still be restarting: the read waits for it.
    await Promise.all(Array.from({ length: 5 }, (_, n) => createAndRead(server, 100 + n)));
    const ready = await send(server.url, 'GET', '/ready');
    assert.is(ready.status, 200, ready.text);
  } finally {
    delete process.env.LEDGER_TEST_PROJECTION_CRASH;
    await server.close();
  }
});

test.run();
