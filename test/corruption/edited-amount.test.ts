/**
 * An amount edited at rest — the record still passes its schema, but no longer its hash. The
 * ledger must not decide on it (a further capture is refused, nothing written, the read model
 * never shows a negative outstanding), and the audit's digest must tell the two logs apart.
 */
import { copyFileSync } from 'node:fs';
import { join } from 'node:path';
import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import { rewrite } from '../audit/fixtures.ts';
import { ledger } from '../cli/run.ts';
import { capturePayment, createOrder } from '../support/commands.ts';
import { eventCount, positionOf, writeInChild } from '../support/corrupt-rows.ts';
import { send, startTestServer } from '../support/http.ts';
import { tempDir } from '../support/temp.ts';

const test = suite('an amount edited at rest');
const dir = tempDir('edited-amount');

test('a capture on that order is refused, the read model stays ≥ 0, the digest differs', async () => {
  const path = join(dir, 'ledger.db');
  const clean = join(dir, 'clean.db');
  // 1000 EUR ordered and captured in full, written by another process.
  await writeInChild(path, [createOrder('paid'), createOrder('other'), capturePayment('paid', 'p-1', 1_000)]);

  // A server builds its read models over the clean log, then stops.
  let server = await startTestServer({ dbPath: path });
  try {
    const read = await send(server.url, 'GET', `/orders/paid?minPosition=${eventCount(path)}`);
    assert.is(read.status, 200);
    assert.is(Number(read.json.outstanding), 0);
  } finally {
    await server.close();
  }
  copyFileSync(path, clean);

  // At rest: 1000 → 800, a valid schema; the stored hash is left as it was.
  const position = positionOf(path, 'order-paid', 1);
  rewrite(path, Number(position), (row) => ({ data: { ...row.data, amount: 800 } }));

  server = await startTestServer({ dbPath: path });
  try {
    const before = eventCount(path);
    const body = { paymentId: 'p-2', amount: 200, currency: 'EUR' };
    const capture = await send(server.url, 'POST', '/orders/paid/payments', { body });
    assert.is(capture.status, 500);
    assert.is(capture.json.type, '/problems/event-corrupt');
    const { streamId, revision } = capture.json;
    assert.equal([streamId, revision, capture.json.position], ['order-paid', '1', position.toString()]);
    assert.is(eventCount(path), before, 'nothing written');
    const read = await send(server.url, 'GET', '/orders/paid');
    assert.is(read.status, 200);
    assert.is(Number(read.json.outstanding), 0, 'never negative');
    const other = await send(server.url, 'POST', '/orders/other/payments', { body: { ...body, paymentId: 'p-1' } });
    assert.is(other.status, 201);
  } finally {
    await server.close();
  }

  // The edited log has one event more (the capture on the other order): compare the same prefix.
  const cleanHead = String(eventCount(clean));
  const [cleanAudit, editedAudit] = await Promise.all([
    ledger(['replay', '--store', `sqlite:${clean}`, '--json', '--to-position', cleanHead]),
    ledger(['replay', '--store', `sqlite:${path}`, '--json', '--to-position', cleanHead]),
  ]);
  assert.is(cleanAudit.code, 0, cleanAudit.stdout);
  assert.is(editedAudit.code, 1);
  const said = (f: Record<string, string>) => `${f.code} ${f.stream}@${f.revision} ${f.position}`;
  assert.equal(editedAudit.json.findings.listed.map(said), [`hash-mismatch order-paid@1 ${position}`]);
  // The same events, the same stored hashes: only a recomputed content hash sets them apart.
  assert.is(editedAudit.json.lastPosition, cleanAudit.json.lastPosition);
  assert.is.not(editedAudit.json.digest, cleanAudit.json.digest);
});

test.run();
