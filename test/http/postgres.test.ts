/**
 * The ledger over HTTP on a PostgreSQL store (read models in the same database, shared): two
 * server processes on one database, as on two hosts, where only the store can keep duplicates to
 * one effect and concurrent writers from losing updates, and either server reads what the other
 * wrote; and a database that
 * goes away (its backends terminated, connections refused) answering 503 + Retry-After, then
 * recovering by itself. Needs the local server (skipped, saying why, without it; PG_REQUIRED=1 fails).
 */
import { randomUUID } from 'node:crypto';
import pg from 'pg';
import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import { audit } from '../../src/audit/audit.ts';
import { openPgStore } from '../../src/eventstore/pg-store.ts';
import { StoreUrlSchema } from '../../src/eventstore/store-url.ts';
import type { RecordedEvent } from '../../src/eventstore/port.ts';
import { freePort, ServerProcess, sleep } from '../reliability/server-process.ts';
import { allEvents, orderBody, send, type Sent, startTestServer } from '../support/http.ts';
import {
  createScratchDatabase,
  pgAvailableOrSkip,
  type ScratchDatabase,
  terminateBackends,
} from '../support/postgres.ts';

/**
 * The whole committed log. A reader sees only what is below the visibility bound, which any
 * transaction open anywhere on the (shared) server holds back: wait until it is past the last
 * committed event.
 */
async function logOf(url: string): Promise<RecordedEvent[]> {
  const client = new pg.Client({ connectionString: url });
  await client.connect();
  const { rows } = await client
    .query('SELECT max(position)::text AS last FROM ledger_events')
    .finally(() => client.end());
  const last = rows[0].last === null ? undefined : BigInt(rows[0].last);
  const store = await openPgStore(url);
  try {
    for (let waited = 0; last !== undefined && ((await store.headPosition()) ?? -1n) < last; waited += 20) {
      if (waited > 10_000) throw new Error(`the visibility bound stayed below ${last}`);
      await sleep(20);
    }
    return await allEvents(store);
  } finally {
    await store.close();
  }
}

const lastPosition = (responses: readonly Sent[]): bigint =>
  responses.reduce((max, r) => (BigInt(r.json.position) > max ? BigInt(r.json.position) : max), 0n);

/** Resends on 503 (a writer that lost its race, or a store that is away), as a client must. */
async function persist(request: () => Promise<Sent>, attempts = 40): Promise<Sent> {
  for (let attempt = 0; ; attempt++) {
    const response = await request();
    if (response.status !== 503 || attempt === attempts) return response;
    assert.ok(response.headers['retry-after'], 'a 503 says when to retry');
    await sleep(5 + Math.random() * 20);
  }
}

async function setConnections(database: ScratchDatabase, allowed: boolean): Promise<void> {
  const admin = new pg.Client({ connectionString: database.url.replace(`/${database.name}`, '/postgres') });
  await admin.connect();
  try {
    await admin.query(`ALTER DATABASE ${database.name} ALLOW_CONNECTIONS ${allowed}`);
  } finally {
    await admin.end();
  }
}

if (await pgAvailableOrSkip('http on postgres suite')) {
  const test = suite<{ database: ScratchDatabase; servers: ServerProcess[] }>('http: two servers on one PostgreSQL');

  test.before(async (context) => {
    context.database = await createScratchDatabase();
    context.servers = await Promise.all(
      [0, 1].map(async () => new ServerProcess({ store: context.database.url, port: await freePort() })),
    );
    // Both at once: the schema is created under an advisory lock, whoever comes first.
    await Promise.all(context.servers.map((s) => s.start()));
  });
  test.after(async ({ servers, database }) => {
    await Promise.all(servers.map((s) => s.terminate()));
    await database.drop();
  });

  test('200 duplicates of one capture across both servers: one PaymentCaptured, one original answer', async ({
    servers,
    database,
  }) => {
    const [a, b] = servers.map((s) => s.url) as [string, string];
    assert.is((await send(a, 'PUT', '/orders/pg-dup', { body: orderBody() })).status, 201);
    const responses = await Promise.all(
      Array.from({ length: 200 }, (_, i) =>
        persist(() =>
          send(i % 2 === 0 ? a : b, 'POST', '/orders/pg-dup/payments', {
            body: { amount: 700, currency: 'EUR' },
            headers: { 'idempotency-key': 'pg-dup-key' },
          }),
        ),
      ),
    );
    for (const response of responses) assert.is(response.status, 201, response.text);
    assert.is(new Set(responses.map((r) => r.json.paymentId)).size, 1, 'every answer names the same payment');
    const captures = (await logOf(database.url)).filter(
      (e) => e.streamId === 'order-pg-dup' && e.type === 'PaymentCaptured',
    );
    assert.is(captures.length, 1, 'no double effect');
  });

  test('100 different captures on one order across both servers: every one stored, none lost', async ({
    servers,
    database,
  }) => {
    const [a, b] = servers.map((s) => s.url) as [string, string];
    const body = orderBody({ lines: [{ sku: 'S', quantity: 1, unitPrice: 100_000 }] });
    assert.is((await send(b, 'PUT', '/orders/pg-many', { body })).status, 201);
    const responses = await Promise.all(
      Array.from({ length: 100 }, (_, i) =>
        persist(() =>
          send(i % 2 === 0 ? a : b, 'POST', '/orders/pg-many/payments', {
            body: { paymentId: `p-${i}`, amount: 10, currency: 'EUR' },
            headers: { 'idempotency-key': `pg-many-${i}` },
          }),
        ),
      ),
    );
    for (const response of responses) assert.is(response.status, 201, response.text);
    const stream = (await logOf(database.url)).filter((e) => e.streamId === 'order-pg-many');
    const captured = stream.filter((e) => e.type === 'PaymentCaptured').map((e) => e.data.paymentId);
    assert.is(captured.length, 100, 'no lost update');
    assert.is(new Set(captured).size, 100, 'no capture stored twice');
    assert.equal(
      stream.map((e) => e.revision),
      stream.map((_, i) => BigInt(i)),
    );
  });

  test('one set of read models in the database: a write on either server reads back on the other (minPosition)', async ({
    servers,
    database,
  }) => {
    const [a, b] = servers.map((s) => s.url) as [string, string];
    const written = await Promise.all(
      Array.from({ length: 40 }, (_, i) =>
        persist(() => send(i % 2 === 0 ? a : b, 'PUT', `/orders/pg-read-${i}`, { body: orderBody() })),
      ),
    );
    const reads = await Promise.all(
      written.map((response, i) => {
        const other = i % 2 === 0 ? b : a;
        return send(other, 'GET', `/orders/pg-read-${i}?minPosition=${response.json.position}&waitMs=10000`);
      }),
    );
    for (const [i, read] of reads.entries()) {
      assert.is(read.status, 200, read.text);
      assert.is(read.json.orderId, `pg-read-${i}`);
    }
    const listed = await send(a, 'GET', `/orders?limit=100&minPosition=${lastPosition(written)}&waitMs=10000`);
    assert.is(listed.status, 200, listed.text);
    const ids = new Set(listed.json.items.map((o: { orderId: string }) => o.orderId));
    assert.ok(
      written.every((_, i) => ids.has(`pg-read-${i}`)),
      'the list on one server holds what both wrote',
    );
    // Nothing per server: the read models are tables in the log's database.
    const admin = new pg.Client({ connectionString: database.url });
    await admin.connect();
    try {
      const { rows } = await admin.query(
        `SELECT count(*)::int AS n FROM ledger_rm_documents d JOIN ledger_rm_checkpoints c
           ON c.projection = d.projection AND c.generation = d.generation AND c.status = 'active'
         WHERE d.projection = 'order-summary' AND d.key LIKE 'pg-read-%'`,
      );
      assert.is(rows[0].n, 40);
    } finally {
      await admin.end();
    }
  });

  test('the database the two servers wrote audits clean', async ({ database }) => {
    const store = await openPgStore(database.url);
    try {
      const report = await audit({ source: { kind: 'store', store, location: StoreUrlSchema.parse(database.url) } });
      assert.is(report.findings.total, 0, JSON.stringify(report.findings));
      assert.ok(report.counts.events > 100);
    } finally {
      await store.close();
    }
  });

  test.run();

  const outage = suite('http: the PostgreSQL store goes away and comes back');

  outage('backends terminated and connections refused: 503 + Retry-After, /ready 503; then recovery', async () => {
    const database = await createScratchDatabase();
    const server = await startTestServer({
      env: { LEDGER_STORE: database.url },
    });
    try {
      assert.is((await send(server.url, 'PUT', '/orders/before', { body: orderBody() })).status, 201);

      await setConnections(database, false);
      await terminateBackends(database.name);
      const refused = await send(server.url, 'PUT', '/orders/during', { body: orderBody() });
      assert.is(refused.status, 503, refused.text);
      assert.match(refused.headers['content-type'] ?? '', /application\/problem\+json/);
      assert.match(String(refused.json.type), /store-unavailable$/);
      assert.ok(Number(refused.headers['retry-after']) > 0);
      assert.not.match(refused.text, /at .*\.ts:\d+/, 'no stack trace');
      const ready = await send(server.url, 'GET', '/ready');
      assert.is(ready.status, 503, ready.text);

      await setConnections(database, true);
      const key = randomUUID();
      const recovered = await persist(() =>
        send(server.url, 'PUT', '/orders/during', { body: orderBody(), headers: { 'idempotency-key': key } }),
      );
      assert.is(recovered.status, 201, recovered.text);
      const events = await logOf(database.url);
      assert.is(events.filter((e) => e.streamId === 'order-during' && e.type === 'OrderCreated').length, 1);
      const back = await persist(() => send(server.url, 'GET', '/ready'));
      assert.is(back.status, 200, back.text);
    } finally {
      await setConnections(database, true).catch(() => {});
      await server.close();
      await database.drop();
    }
  });

  outage.run();
}
