/**
 * replay-commands over a log holding every money command: authorizations, their captures (with
 * and without an amount) and voids, refunds, and a cancellation that voids open holds with it.
 */
import { join } from 'node:path';
import { copyFileSync } from 'node:fs';
import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import { replayCommands, type CommandReplayResult } from '../../src/audit/command-replay.ts';
import { orderBody, send, startTestServer } from '../support/http.ts';
import { tempDir } from '../support/temp.ts';
import { onStore, rewrite, withFile } from './fixtures.ts';

const test = suite<{ path: string; commands: number }>('replay-commands: every command type');
const dir = tempDir('command-replay-money');

const replayFile = (path: string): Promise<CommandReplayResult> =>
  onStore(path, (store, url) => replayCommands({ source: { kind: 'store', store, url } }));

test.before(async (context) => {
  const server = await startTestServer({ dbPath: join(dir, 'http.db') });
  const requests: [string, string, object, Record<string, string>?][] = [
    ['PUT', '/orders/m-1', orderBody()],
    ['POST', '/orders/m-1/authorizations', { paymentId: 'a-1', amount: 500, currency: 'EUR' }],
    ['POST', '/orders/m-1/authorizations/a-1/capture', {}],
    ['POST', '/orders/m-1/authorizations', { amount: 700, currency: 'EUR' }, { 'idempotency-key': 'auth-k' }],
    ['POST', '/orders/m-1/payments', { paymentId: 'p-1', amount: 300, currency: 'EUR' }],
    ['POST', '/orders/m-1/payments/p-1/refunds', { refundId: 'r-1', amount: 100 }],
    ['POST', '/orders/m-1/payments/a-1/refunds', { amount: 500 }, { 'idempotency-key': 'refund-k' }],
    ['PUT', '/orders/m-2', orderBody()],
    ['POST', '/orders/m-2/authorizations', { paymentId: 'a-1', amount: 900, currency: 'EUR' }],
    ['POST', '/orders/m-2/authorizations/a-1/capture', { amount: 400 }],
    ['POST', '/orders/m-2/authorizations', { paymentId: 'a-2', amount: 100, currency: 'EUR' }],
    ['POST', '/orders/m-2/authorizations/a-2/void', {}],
    ['POST', '/orders/m-2/payments/a-1/refunds', { refundId: 'r-1', amount: 400 }],
    ['PUT', '/orders/m-3', orderBody()],
    ['POST', '/orders/m-3/authorizations', { paymentId: 'a-1', amount: 100, currency: 'EUR' }],
    ['POST', '/orders/m-3/authorizations', { paymentId: 'a-2', amount: 200, currency: 'EUR' }],
    // Voids a-1 and a-2 in the same write: one command.
    ['POST', '/orders/m-3/cancel', { reason: 'customer asked' }],
    ['POST', '/orders/m-2/cancel', { reason: 'refunded in full' }],
  ];
  try {
    for (const [method, path, body, headers] of requests) {
      const response = await send(server.url, method, path, { body, ...(headers && { headers }) });
      if (response.status !== 201) throw new Error(`${method} ${path}: ${response.status} ${response.text}`);
    }
  } finally {
    await server.close();
  }
  context.path = server.dbPath;
  context.commands = requests.length;
});

test('every command replays, and nothing is written', async ({ path, commands }) => {
  const events = withFile(path, (db) =>
    db.prepare("SELECT count(*) AS n FROM events WHERE type != 'IdempotencyKeyBound'").get(),
  );
  // The cancellation of m-3 wrote two voids beside itself.
  assert.equal(events, { n: commands + 2 });
  const result = await replayFile(path);
  assert.equal(result.findings.listed, []);
  assert.is(result.commands, commands);
  assert.is(result.replays, commands);
  assert.is(result.newEvents, 0);
});

test('a refund amount changed at rest is command-decided-differently at that event', async ({ path }) => {
  const target = join(dir, 'changed.db');
  copyFileSync(path, target);
  const row = withFile(target, (db) =>
    db.prepare("SELECT position FROM events WHERE type = 'PaymentRefunded' ORDER BY position LIMIT 1").get(),
  ) as { position: number };
  rewrite(target, row.position, (stored) => ({ data: { ...stored.data, amount: 99 } }));
  const result = await replayFile(target);
  assert.equal(
    result.findings.listed.map((f) => [f.code, f.position]),
    [['command-decided-differently', String(row.position)]],
  );
});

test.run();
