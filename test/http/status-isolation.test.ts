/**
 * A projection stopped by a corrupt record of one client's order: GET /projections and /ready show
 * that record's stream and message only to a key that reads every client; another client's key
 * sees which projection stopped, and at which position, as the read routes already answer.
 */
import { join } from 'node:path';
import Database from 'better-sqlite3';
import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import { orderBody, send, startTestServer } from '../support/http.ts';
import { tempDir } from '../support/temp.ts';

const ALICE = 'alice-secret-0123456789';
const BOB = 'bob-secret-0123456789abcdef';
const AUDIT = 'audit-secret-0123456789xyz';
const as = (secret: string) => ({ authorization: `Bearer ${secret}` });
const ORDER = 'alice-private-order';

const test = suite('http: projection status of another client');

test('/projections and /ready name the corrupt record only to the auditor', async () => {
  const path = join(tempDir('status-isolation'), 'ledger.db');
  const server = await startTestServer({
    dbPath: path,
    env: { LEDGER_API_KEYS: `alice:${ALICE},bob:${BOB},audit:${AUDIT}:auditor` },
  });
  try {
    assert.is(
      (await send(server.url, 'PUT', `/orders/${ORDER}`, { body: orderBody(), headers: as(ALICE) })).status,
      201,
    );
    const db = new Database(path);
    const insert = db.prepare(
      'INSERT INTO events (id, stream, revision, type, data, metadata, created_at) VALUES (?, ?, 1, ?, ?, ?, ?)',
    );
    const { lastInsertRowid } = insert.run(
      '00000000-0000-4000-8000-00000000000f',
      `order-${ORDER}`,
      'PaymentCaptured',
      '{"orderId": "x", "amo',
      '{}',
      new Date().toISOString(),
    );
    db.close();
    const position = String(lastInsertRowid);

    let audited: string | undefined;
    for (let tries = 0; tries < 200 && audited === undefined; tries++) {
      const { json, text } = await send(server.url, 'GET', '/projections', { headers: as(AUDIT) });
      if ((json.projections as Array<{ state: string }>).every((p) => p.state === 'failed')) audited = text;
      else await new Promise((resolve) => setTimeout(resolve, 50));
    }
    assert.ok(audited?.includes(`order-${ORDER}`), 'the auditor sees where each projection stopped');

    const bob = await send(server.url, 'GET', '/projections', { headers: as(BOB) });
    assert.is(bob.status, 200);
    assert.not.ok(bob.text.includes(ORDER), bob.text);
    for (const projection of bob.json.projections as Array<{
      serving: { failure?: object } | null;
      rebuilding: { failure?: object } | null;
    }>) {
      const failure = projection.rebuilding?.failure ?? projection.serving?.failure;
      assert.equal(failure, { position });
    }

    const [bobReady, auditReady] = await Promise.all([
      send(server.url, 'GET', '/ready', { headers: as(BOB) }),
      send(server.url, 'GET', '/ready', { headers: as(AUDIT) }),
    ]);
    assert.is(bobReady.status, auditReady.status);
    assert.ok(auditReady.text.includes(`order-${ORDER}`), auditReady.text);
    assert.not.ok(bobReady.text.includes(ORDER), bobReady.text);
    assert.match(bobReady.text, `stopped at position ${position}`);
  } finally {
    await server.close();
  }
});

test.run();
