/**
 * The audit over a 10,000-event log written by the real command handler: clean, it reports
 * exactly what the test computed from its own commands; tampered, it names the broken rule at
 * the event that broke it, and nothing else.
 */
import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import { audit, type AuditReport } from '../../src/audit/audit.ts';
import { main } from '../../src/cli/main.ts';
import type { FindingCode } from '../../src/audit/findings.ts';
import type { LogScope } from '../../src/audit/source.ts';
import { CORRUPTIONS, corrupt } from '../support/corrupt-rows.ts';
import {
  buildLedger,
  deleteEvent,
  expectedOf,
  insertCapture,
  onStore,
  partlyPaidOrder,
  rehash,
  rewrite,
  rows,
  START,
  type Ledger,
} from './fixtures.ts';

const test = suite<{ ledger: Ledger; clean: AuditReport }>('audit');

function auditFile(path: string, options: { scope?: LogScope; workers?: number } = {}): Promise<AuditReport> {
  return onStore(path, (store, location) =>
    audit({ source: { kind: 'store', store, location }, minEventsForWorkers: 0, ...options }),
  );
}

/** The findings as (code, stream, revision, position), to compare whole. */
function named(report: AuditReport) {
  return report.findings.listed.map((f) => ({
    code: f.code,
    stream: f.stream,
    revision: f.revision,
    position: f.position,
  }));
}

function at(code: FindingCode, row: { stream: string; revision: number; position: number }) {
  return { code, stream: row.stream, revision: String(row.revision), position: String(row.position) };
}

test.before(async (context) => {
  context.ledger = await buildLedger(10_000, 'audit');
  context.clean = await auditFile(context.ledger.path);
});

test('a clean log of 10,000 events: no findings, and counts and sums as the commands imply', ({ ledger, clean }) => {
  const expected = expectedOf(ledger.issued);
  assert.is(expected.events, 10_000);
  assert.equal(clean.findings, { total: 0, byCode: {}, listed: [], truncated: false });
  assert.is(clean.counts.events, expected.events);
  assert.is(clean.counts.streams, expected.streams);
  assert.equal(clean.counts.orders, expected.orders);
  assert.equal(clean.currencies, expected.currencies);
  assert.ok(clean.counts.orders.pending > 0 && clean.counts.orders.partially_paid > 0 && clean.counts.orders.paid > 0);
  assert.is(clean.lastPosition, '10000');
  assert.match(clean.digest, /^[0-9a-f]{64}$/);
});

test('the ledger CLI entry on the clean 10,000-event log: exit 0, and the same report as JSON', async ({
  ledger,
  clean,
}) => {
  let stdout = '';
  const code = await main(['replay', '--store', ledger.url, '--json'], {
    stdout: { write: (t: string) => (stdout += t) },
    stderr: process.stderr,
    env: {},
  });
  assert.is(code, 0);
  const report = JSON.parse(stdout);
  assert.equal([report.counts, report.currencies, report.digest], [clean.counts, clean.currencies, clean.digest]);
});

test('worker threads and a single thread report the same audit', async ({ ledger, clean }) => {
  const inline = await auditFile(ledger.path, { workers: 0 });
  const parallel = await auditFile(ledger.path, { workers: 2 });
  const { timing: _a, ...a } = inline;
  const { timing: _b, ...b } = parallel;
  assert.equal(a, b);
  assert.is(inline.digest, clean.digest);
});

test('daily captured sums add up to the captured total per currency', ({ clean }) => {
  for (const [code, totals] of Object.entries(clean.currencies)) {
    const days = clean.daily.filter((d) => d.currency === code);
    assert.is(days.reduce((sum, d) => sum + BigInt(d.amount), 0n).toString(), totals.captured);
    assert.is(
      days.reduce((sum, d) => sum + d.payments, 0),
      totals.payments,
    );
  }
});

/** A payment followed by another event in its stream, in a stream whose order is not fully paid. */
function paymentWithSuccessor(path: string) {
  const byStream = new Map<string, ReturnType<typeof rows>>();
  for (const row of rows(path)) byStream.set(row.stream, [...(byStream.get(row.stream) ?? []), row]);
  for (const events of byStream.values()) {
    const i = events.findIndex((e, idx) => e.type === 'PaymentCaptured' && idx + 1 < events.length);
    if (i >= 0 && (events[i]!.data.amount as number) > 1) return { payment: events[i]!, next: events[i + 1]! };
  }
  throw new Error('no stream with two payments');
}

test('a changed amount: hash-mismatch at that event, and only that; the digest changes', async ({ ledger, clean }) => {
  const path = ledger.copy('amount');
  const { payment } = paymentWithSuccessor(path);
  rewrite(path, payment.position, (row) => ({ data: { ...row.data, amount: (row.data.amount as number) - 1 } }));
  const report = await auditFile(path);
  assert.equal(named(report), [at('hash-mismatch', payment)]);
  assert.is(report.counts.events, 10_000);
  // Its stored hash, and every other, is as it was: the digest is made of hashes recomputed from content.
  assert.is.not(report.digest, clean.digest);
});

test('a changed amount whose hash was recomputed: the chain breaks at the next event', async ({ ledger }) => {
  const path = ledger.copy('forged');
  const { payment, next } = paymentWithSuccessor(path);
  rewrite(path, payment.position, (row) => ({ data: { ...row.data, amount: (row.data.amount as number) - 1 } }));
  rehash(path, payment.position);
  const report = await auditFile(path);
  assert.equal(named(report), [at('chain-broken', next)]);
  assert.match(report.findings.listed[0]!.message, /first broken link/);
});

test("a stream's last event pointed elsewhere (re-hashed): chain-broken at it, named by stream, revision and position", async ({
  ledger,
}) => {
  const path = ledger.copy('prev');
  const { payment } = paymentWithSuccessor(path);
  const last = rows(path, 'stream = ?', payment.stream).at(-1)!;
  rewrite(path, last.position, (row) => ({ metadata: { ...row.metadata, prevHash: 'f'.repeat(64) } }));
  rehash(path, last.position);
  assert.equal(named(await auditFile(path)), [at('chain-broken', last)]);
});

test('a removed event: revision-gap at the event after it', async ({ ledger }) => {
  const path = ledger.copy('removed');
  const { payment, next } = paymentWithSuccessor(path);
  deleteEvent(path, payment.position);
  const report = await auditFile(path);
  assert.equal(named(report), [at('revision-gap', next)]);
  assert.match(
    report.findings.listed[0]!.message,
    new RegExp(`expected revision ${payment.revision}, found ${next.revision}`),
  );
});

test('a removed OrderCreated: the stream has a gap and no creation', async ({ ledger }) => {
  const path = ledger.copy('uncreated');
  const { payment } = paymentWithSuccessor(path);
  const created = rows(path, 'stream = ? AND revision = 0', payment.stream)[0]!;
  deleteEvent(path, created.position);
  const first = rows(path, 'stream = ? AND revision = 1', payment.stream)[0]!;
  assert.equal(named(await auditFile(path)), [at('revision-gap', first), at('stream-not-created', first)]);
});

test('a duplicated payment (valid chain): duplicate-payment', async ({ ledger }) => {
  const path = ledger.copy('duplicate');
  const order = partlyPaidOrder(path);
  const { paymentId, amount } = order.lastPayment.data as { paymentId: string; amount: number };
  const inserted = insertCapture(path, order, { paymentId, amount }, '00000000-0000-4000-8000-000000000001');
  assert.equal(named(await auditFile(path)), [at('duplicate-payment', inserted)]);
});

test('a capture beyond the total (valid chain): over-captured', async ({ ledger }) => {
  const path = ledger.copy('over');
  const order = partlyPaidOrder(path);
  const inserted = insertCapture(
    path,
    order,
    { paymentId: 'extra', amount: order.total - order.captured + 1 },
    '00000000-0000-4000-8000-000000000002',
  );
  const report = await auditFile(path);
  assert.equal(named(report), [at('over-captured', inserted)]);
  assert.match(report.findings.listed[0]!.message, new RegExp(`exceeds the order total ${order.total}`));
});

test('a payment in another currency: currency-mismatch', async ({ ledger }) => {
  const path = ledger.copy('currency');
  const order = partlyPaidOrder(path);
  const currency = order.currency === 'EUR' ? 'USD' : 'EUR';
  const inserted = insertCapture(
    path,
    order,
    { paymentId: 'elsewhere', amount: 1, currency },
    '00000000-0000-4000-8000-000000000003',
  );
  assert.equal(named(await auditFile(path)), [at('currency-mismatch', inserted)]);
});

test('a total that is not the sum of the lines (re-hashed): total-mismatch', async ({ ledger }) => {
  const path = ledger.copy('total');
  const created = rows(path, "type = 'OrderCreated'").find((r) => r.revision === 0)!;
  const later = rows(path, 'stream = ? AND revision = 1', created.stream)[0];
  rewrite(path, created.position, (row) => ({ data: { ...row.data, total: (row.data.total as number) + 1 } }));
  rehash(path, created.position);
  const expected = [at('total-mismatch', created)];
  // The forged hash breaks the link to the stream's next event, if it has one.
  if (later) expected.push(at('chain-broken', later));
  assert.equal(named(await auditFile(path)), expected);
});

test('an event that fails its schema is a finding, not a crash', async ({ ledger }) => {
  const path = ledger.copy('schema');
  const { payment } = paymentWithSuccessor(path);
  rewrite(path, payment.position, (row) => ({ data: { ...row.data, amount: -5 } }));
  const report = await auditFile(path);
  assert.equal(
    named(report).map((f) => f.code),
    ['hash-mismatch', 'schema-invalid'],
  );
  assert.match(report.findings.listed[1]!.message, /amount/);
});

test('unreadable rows: record-unreadable at each, the rest audited, alike on threads', async ({ ledger, clean }) => {
  const path = ledger.copy('unreadable');
  const kinds = CORRUPTIONS.filter((kind) => kind.unreadable);
  // One payment with a later event in its stream per kind, each in its own stream.
  const byStream = new Map<string, ReturnType<typeof rows>>();
  for (const row of rows(path)) byStream.set(row.stream, [...(byStream.get(row.stream) ?? []), row]);
  const targets = [...byStream.values()]
    .map((events) => events.find((e, i) => e.type === 'PaymentCaptured' && i + 1 < events.length))
    .filter((row) => row !== undefined)
    .slice(0, kinds.length);
  kinds.forEach((kind, i) => {
    corrupt(path, kind, BigInt(targets[i]!.position));
  });

  const inline = await auditFile(path, { workers: 0 });
  const parallel = await auditFile(path, { workers: 2 });
  const expected = kinds
    .map((kind, i) => {
      const { stream, revision, position } = targets[i]!;
      const named = kind.revisionAfter(BigInt(revision));
      return { code: 'record-unreadable', stream, revision: named, position: String(position) };
    })
    .sort((a, b) => Number(a.position) - Number(b.position));
  // Each named once; what follows it in its stream is not blamed for a link that cannot be judged.
  assert.equal(named(inline), expected);
  const { timing: _a, ...a } = inline;
  const { timing: _b, ...b } = parallel;
  assert.equal(a, b);
  assert.is(inline.counts.events, 10_000);
  assert.is.not(inline.digest, clean.digest);
});

test('--as-of between two captures: the state at that time', async ({ ledger }) => {
  const captures = ledger.issued.filter((i) => i.command.type === 'CapturePayment');
  const a = captures[2_000]!;
  const b = captures[2_001]!;
  const asOf = new Date((a.at + b.at) / 2);
  const report = await auditFile(ledger.path, { scope: { asOf } });
  const expected = expectedOf(ledger.issued, asOf.getTime());
  assert.is(report.counts.events, expected.events);
  assert.is(report.counts.eventsAfterAsOf, 10_000 - expected.events);
  assert.is(report.counts.streams, expected.streams);
  assert.equal(report.counts.orders, expected.orders);
  assert.equal(report.currencies, expected.currencies);
  assert.is(report.findings.total, 0);
  assert.is(report.scope.asOf, asOf.toISOString());
});

test('--as-of before the first event: an empty state', async ({ ledger }) => {
  const report = await auditFile(ledger.path, { scope: { asOf: new Date(START - 1) } });
  assert.is(report.counts.events, 0);
  assert.is(report.counts.streams, 0);
  assert.equal(report.currencies, {});
});

test('--to-position: only the log up to that position', async ({ ledger }) => {
  const report = await auditFile(ledger.path, { scope: { toPosition: 2_500n } });
  assert.is(report.counts.events, 2_500);
  assert.is(report.lastPosition, '2500');
  assert.is(report.findings.total, 0);
});

test.run();
