/**
 * The audit's money rules on crafted logs: a real log written by the command handler, then events
 * slipped into one order's stream with a valid hash chain (so only the rule under test can fire),
 * audited through the same path as `ledger replay` (worker threads included).
 */
import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import { audit, type AuditReport } from '../../src/audit/audit.ts';
import type { FindingCode } from '../../src/audit/findings.ts';
import type { OrderEvent } from '../../src/domain/events.ts';
import { buildLedger, insertEvent, onStore, rows, type Ledger } from './fixtures.ts';

const test = suite<{ ledger: Ledger }>('audit: holds, refunds, cancellations');

function auditFile(path: string, pendingLongerThanMs?: number): Promise<AuditReport> {
  return onStore(path, (store, location) =>
    audit({
      source: { kind: 'store', store, location },
      minEventsForWorkers: 0,
      workers: 2,
      ...(pendingLongerThanMs !== undefined && { pendingLongerThanMs }),
    }),
  );
}

interface Pending {
  readonly stream: string;
  readonly orderId: string;
  readonly currency: string;
  readonly total: number;
}

/** An order nothing was captured on, with a total of at least 100 minor units. */
function pendingOrder(path: string): Pending {
  const all = rows(path);
  const paid = new Set(all.filter((r) => r.type === 'PaymentCaptured').map((r) => r.stream));
  const row = all.find((r) => r.type === 'OrderCreated' && !paid.has(r.stream) && (r.data.total as number) >= 100);
  if (!row) throw new Error('no pending order');
  return {
    stream: row.stream,
    orderId: row.data.orderId as string,
    currency: row.data.currency as string,
    total: row.data.total as number,
  };
}

let ids = 0;
/** Slips `events` into the order's stream in turn; returns the rows written. */
function craft(path: string, order: Pending, events: readonly ((o: Pending) => OrderEvent)[]) {
  return events.map((make) => {
    const id = `00000000-0000-4000-8000-${String(++ids).padStart(12, '0')}`;
    return insertEvent(path, order.stream, make(order), id, new Date().toISOString());
  });
}

const authorize =
  (paymentId: string, amount: number) =>
  (o: Pending): OrderEvent => ({
    type: 'PaymentAuthorized',
    data: { orderId: o.orderId, paymentId, amount, currency: o.currency },
  });
const capture =
  (paymentId: string, amount: number) =>
  (o: Pending): OrderEvent => ({
    type: 'PaymentCaptured',
    data: { orderId: o.orderId, paymentId, amount, currency: o.currency },
  });
/** The capture of an authorization names it, as the decider writes it. */
const captureHold =
  (paymentId: string, amount: number) =>
  (o: Pending): OrderEvent => ({
    type: 'PaymentCaptured',
    data: { orderId: o.orderId, paymentId, amount, currency: o.currency, authorizationId: paymentId },
  });
const voided =
  (paymentId: string) =>
  (o: Pending): OrderEvent => ({
    type: 'AuthorizationVoided',
    data: { orderId: o.orderId, paymentId },
  });
const refund =
  (paymentId: string, refundId: string, amount: number) =>
  (o: Pending): OrderEvent => ({
    type: 'PaymentRefunded',
    data: { orderId: o.orderId, paymentId, refundId, amount, currency: o.currency },
  });
const cancel =
  () =>
  (o: Pending): OrderEvent => ({ type: 'OrderCancelled', data: { orderId: o.orderId, reason: 'customer asked' } });

const requested =
  (paymentId: string, amount: number) =>
  (o: Pending): OrderEvent => ({
    type: 'PaymentRequested',
    data: { orderId: o.orderId, paymentId, amount, currency: o.currency, paymentMethod: 'pm_card_visa' },
  });
const claimed =
  (paymentId: string) =>
  (o: Pending): OrderEvent => ({
    type: 'PaymentProcessingStarted',
    data: {
      orderId: o.orderId,
      paymentId,
      processorId: 'proc-1',
      attempt: 1,
      at: new Date().toISOString(),
      leaseMs: 1,
    },
  });
const capturedByPsp =
  (paymentId: string, amount: number, pspReference: string) =>
  (o: Pending): OrderEvent => ({
    type: 'PaymentCaptured',
    data: { orderId: o.orderId, paymentId, amount, currency: o.currency, pspReference, source: 'processor' },
  });
const declined =
  (paymentId: string, pspReference?: string) =>
  (o: Pending): OrderEvent => ({
    type: 'PaymentDeclined',
    data: {
      orderId: o.orderId,
      paymentId,
      code: 'card_declined',
      message: 'declined',
      source: 'processor',
      ...(pspReference && { pspReference }),
    },
  });

function findings(report: AuditReport) {
  return report.findings.listed.map((f) => ({ code: f.code, revision: f.revision, position: f.position }));
}

function at(code: FindingCode, row: { revision: number; position: number }) {
  return { code, revision: String(row.revision), position: String(row.position) };
}

test.before(async (context) => {
  context.ledger = await buildLedger(300, 'audit-money');
});

test('hold, partial capture, refund of all of it, then cancel: clean, and the sums say so', async ({ ledger }) => {
  const path = ledger.copy('clean');
  const order = pendingOrder(path);
  craft(path, order, [
    authorize('a1', 60),
    captureHold('a1', 40),
    refund('a1', 'r1', 25),
    refund('a1', 'r2', 15),
    authorize('a2', 10),
    cancel(),
    voided('a2'), // the hold the cancellation released, voided in the same decision
  ]);
  const report = await auditFile(path);
  assert.equal(findings(report), []);
  assert.is(report.counts.orders.cancelled, 1);
  const sums = report.currencies[order.currency]!;
  assert.is(BigInt(sums.net), BigInt(sums.captured) - BigInt(sums.refunded));
  assert.ok(sums.refunds >= 2);
});

test('refunds beyond what the payment captured: over-refunded at the refund that passes it', async ({ ledger }) => {
  const path = ledger.copy('over-refunded');
  const order = pendingOrder(path);
  const [, , , over] = craft(path, order, [
    capture('p1', 50),
    refund('p1', 'r1', 30),
    refund('p1', 'r2', 20),
    refund('p1', 'r3', 1),
  ]);
  assert.equal(findings(await auditFile(path)), [at('over-refunded', over!)]);
});

test('a refund of a payment never captured: over-refunded', async ({ ledger }) => {
  const path = ledger.copy('refund-nothing');
  const order = pendingOrder(path);
  const [, refunded] = craft(path, order, [authorize('a1', 50), refund('a1', 'r1', 10)]);
  assert.equal(findings(await auditFile(path)), [at('over-refunded', refunded!)]);
});

test('the same refundId twice on a payment: duplicate-refund', async ({ ledger }) => {
  const path = ledger.copy('duplicate-refund');
  const order = pendingOrder(path);
  const [, , again] = craft(path, order, [capture('p1', 50), refund('p1', 'r1', 10), refund('p1', 'r1', 10)]);
  assert.equal(findings(await auditFile(path)), [at('duplicate-refund', again!)]);
});

test('an authorization captured for more than it holds: capture-exceeds-authorization', async ({ ledger }) => {
  const path = ledger.copy('capture-exceeds');
  const order = pendingOrder(path);
  const [, over] = craft(path, order, [authorize('a1', 50), captureHold('a1', 51)]);
  assert.equal(findings(await auditFile(path)), [at('capture-exceeds-authorization', over!)]);
});

test('a voided authorization captured: voided-authorization-captured', async ({ ledger }) => {
  const path = ledger.copy('voided-captured');
  const order = pendingOrder(path);
  const [, , captured] = craft(path, order, [authorize('a1', 50), voided('a1'), captureHold('a1', 50)]);
  assert.equal(findings(await auditFile(path)), [at('voided-authorization-captured', captured!)]);
});

test('a captured authorization voided, or a void of none: captured-authorization-voided, authorization-missing', async ({
  ledger,
}) => {
  const path = ledger.copy('void-captured');
  const order = pendingOrder(path);
  const [, , late, none] = craft(path, order, [
    authorize('a1', 50),
    captureHold('a1', 50),
    voided('a1'),
    voided('nope'),
  ]);
  assert.equal(findings(await auditFile(path)), [
    at('captured-authorization-voided', late!),
    at('authorization-missing', none!),
  ]);
});

test('a second void of one authorization: authorization-voided-again', async ({ ledger }) => {
  const path = ledger.copy('voided-again');
  const order = pendingOrder(path);
  const [, , again] = craft(path, order, [authorize('a1', 50), voided('a1'), voided('a1')]);
  assert.equal(findings(await auditFile(path)), [at('authorization-voided-again', again!)]);
});

test('anything after a cancellation: event-after-cancellation at each such event', async ({ ledger }) => {
  const path = ledger.copy('after-cancel');
  const order = pendingOrder(path);
  const [, , auth, paid, late] = craft(path, order, [
    authorize('a0', 10),
    cancel(),
    authorize('a1', 10),
    capture('p1', 10),
    voided('a1'),
  ]);
  assert.equal(findings(await auditFile(path)), [
    at('event-after-cancellation', auth!),
    at('event-after-cancellation', paid!),
    // a1 was authorized after the cancellation: its void is no release of the cancellation's.
    at('event-after-cancellation', late!),
  ]);
});

test('holds plus net captured above the total: holds-exceed-total at the revision that first passes it', async ({
  ledger,
}) => {
  const path = ledger.copy('holds');
  const order = pendingOrder(path);
  const half = Math.floor(order.total / 2);
  const rest = order.total - half;
  const [, , over, , , again] = craft(path, order, [
    capture('p1', half),
    authorize('a1', rest),
    authorize('a2', 1), // one past the total
    voided('a2'), // back within it
    refund('p1', 'r1', 1), // net falls by one: room for one more
    authorize('a3', 2), // one past again
  ]);
  assert.equal(findings(await auditFile(path)), [at('holds-exceed-total', over!), at('holds-exceed-total', again!)]);
});

test('payment requests captured, declined and pending: clean; the pending one is listed once too old', async ({
  ledger,
}) => {
  const path = ledger.copy('psp-clean');
  const order = pendingOrder(path);
  craft(path, order, [
    requested('q1', 60),
    claimed('q1'),
    capturedByPsp('q1', 60, 'pi_1'),
    requested('q2', 20),
    claimed('q2'),
    declined('q2', 'pi_2'),
    requested('q3', 10),
    refund('q1', 'r1', 60),
  ]);
  const report = await auditFile(path, 0);
  assert.equal(findings(report), []);
  assert.is(report.paymentRequests.requested, 3);
  assert.is(report.paymentRequests.pending, 1);
  assert.equal(
    report.paymentRequests.pendingTooLong.map((r) => r.paymentId),
    ['q3'],
  );
  assert.equal((await auditFile(path)).paymentRequests.pendingTooLong, [], 'not listed under the hour');
});

test('a second outcome of a request: payment-outcome-twice', async ({ ledger }) => {
  const path = ledger.copy('psp-twice');
  const order = pendingOrder(path);
  const [, , again] = craft(path, order, [requested('q1', 50), capturedByPsp('q1', 50, 'pi_1'), declined('q1')]);
  assert.equal(findings(await auditFile(path)), [at('payment-outcome-twice', again!)]);
});

test('one PSP charge recorded for two requests: psp-reference-twice', async ({ ledger }) => {
  const path = ledger.copy('psp-reference');
  const order = pendingOrder(path);
  const [, , , second] = craft(path, order, [
    requested('q1', 10),
    requested('q2', 10),
    capturedByPsp('q1', 10, 'pi_1'),
    capturedByPsp('q2', 10, 'pi_1'),
  ]);
  assert.equal(findings(await auditFile(path)), [at('psp-reference-twice', second!)]);
});

test('a capture past the total counting pending requests: holds-exceed-total', async ({ ledger }) => {
  const path = ledger.copy('psp-over');
  const order = pendingOrder(path);
  const [, over] = craft(path, order, [requested('q1', order.total), capture('p1', 1)]);
  assert.equal(findings(await auditFile(path)), [at('holds-exceed-total', over!)]);
});

test('an outcome naming no request, a capture of another amount: their findings', async ({ ledger }) => {
  const path = ledger.copy('psp-missing');
  const order = pendingOrder(path);
  const [missing, , differs] = craft(path, order, [
    declined('nope'),
    requested('q1', 10),
    capturedByPsp('q1', 11, 'pi_9'),
  ]);
  assert.equal(findings(await auditFile(path)), [
    at('payment-request-missing', missing!),
    at('capture-differs-from-request', differs!),
  ]);
});

test.run();
