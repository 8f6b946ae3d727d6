/**
 * The payment processor against a PSP the test controls: exactly one charge per request with
 * several processors racing, a crash between the durable steps resumed by asking the PSP again
 * with the same key, retries that run out leaving the request pending (and a later processor
 * finishing it), and no call once the PSP's key window has passed.
 */
import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import { openMemoryStore } from '../../src/eventstore/memory-store.ts';
import type { EventStore } from '../../src/eventstore/port.ts';
import type { PaymentGateway } from '../../src/payments/gateway.ts';
import { pspIdempotencyKey } from '../../src/payments/idempotency-key.ts';
import { DECLINED_METHOD, FakeGateway } from '../support/fake-gateway.ts';
import { allResolved, orderEvents, outcomesOf, seedRequests, startBuffer, waitFor } from './support.ts';

const test = suite<{ store: EventStore }>('payment processor');

test.before.each((context) => {
  context.store = openMemoryStore();
});
test.after.each(async ({ store }) => {
  await store.close();
});

test('three processors racing over 60 requests: one charge and one outcome each, declines included', async ({
  store,
}) => {
  const requested = await seedRequests(store, 15, 4, (i) => (i % 5 === 0 ? DECLINED_METHOD : 'pm_card_visa'));
  const gateway = new FakeGateway();
  gateway.latencyMs = 3;
  const buffers = [0, 1, 2].map(() => startBuffer(store, gateway, { concurrency: 4 }));
  try {
    await waitFor(() => allResolved(store, requested), 20_000, 'every request resolved');
  } finally {
    await Promise.all(buffers.map((b) => b.close()));
  }
  const outcomes = await outcomesOf(store, requested);
  for (const [payment, events] of outcomes) assert.is(events.length, 1, `${payment} has one outcome`);
  assert.is(gateway.charges.size, requested.length, 'one real charge per request');
  for (const { orderId, paymentId } of requested) {
    assert.ok(gateway.charges.has(pspIdempotencyKey(orderId, paymentId)), 'charged under the derived key');
  }
  const captured = [...outcomes.values()].flat().filter((e) => e.type === 'PaymentCaptured');
  assert.is(captured.length, gateway.capturedCount(), 'captured in the ledger = captured at the PSP');
  assert.is(captured.length, 48);
  const declined = [...outcomes.values()].flat().filter((e) => e.type === 'PaymentDeclined');
  assert.is(declined.length, 12);
  // Claims are fenced: every charge call was made under a claim the log holds.
  const events = (
    await Promise.all([...new Set(requested.map((r) => r.orderId))].map((o) => orderEvents(store, o)))
  ).flat();
  const claims = events.filter((e) => e.type === 'PaymentProcessingStarted').length;
  assert.ok(claims >= requested.length, `${claims} claims`);
});

test('PSP calls in flight stay within the concurrency bound', async ({ store }) => {
  const requested = await seedRequests(store, 8, 5);
  const gateway = new FakeGateway();
  gateway.latencyMs = 15;
  const buffer = startBuffer(store, gateway, { concurrency: 4 });
  try {
    await waitFor(() => allResolved(store, requested), 20_000, 'every request resolved');
  } finally {
    await buffer.close();
  }
  assert.ok(gateway.maxInFlight <= 4, `at most 4 in flight, saw ${gateway.maxInFlight}`);
  assert.ok(gateway.maxInFlight >= 2, `calls overlap, saw ${gateway.maxInFlight}`);
});

for (const step of ['after-claim', 'after-charge'] as const) {
  test(`a processor that dies ${step} is resumed by another after the lease, with the same key`, async ({ store }) => {
    const [request] = await seedRequests(store, 1, 1);
    const gateway = new FakeGateway();
    let crashed = false;
    const first = startBuffer(store, gateway, {
      leaseMs: 150,
      onStep: (at) => {
        if (at === step) {
          crashed = true;
          throw new Error('simulated crash');
        }
      },
    });
    await waitFor(() => crashed, 5_000, 'the crash');
    await first.close();
    assert.not.ok(await allResolved(store, [request!]), 'no outcome after the crash');
    const second = startBuffer(store, gateway, { leaseMs: 150 });
    try {
      await waitFor(() => allResolved(store, [request!]), 5_000, 'the resumed request');
    } finally {
      await second.close();
    }
    const key = pspIdempotencyKey(request!.orderId, request!.paymentId);
    assert.is(gateway.charges.size, 1, 'charged once');
    assert.is(gateway.calls.get(key), step === 'after-charge' ? 2 : 1, 'asked again with the same key');
    const events = await orderEvents(store, request!.orderId);
    const claims = events.filter((e) => e.type === 'PaymentProcessingStarted');
    assert.is(claims.length, 2);
    assert.is.not(claims[0]!.data.processorId, claims[1]!.data.processorId);
    assert.is(events.filter((e) => e.type === 'PaymentCaptured').length, 1);
  });
}

test('a reset connection after the charge is retried with the same key: one charge', async ({ store }) => {
  const requested = await seedRequests(store, 2, 2);
  const gateway = new FakeGateway();
  gateway.resetAfterChargeNext = 3;
  const buffer = startBuffer(store, gateway);
  try {
    await waitFor(() => allResolved(store, requested), 5_000, 'every request resolved');
  } finally {
    await buffer.close();
  }
  assert.is(gateway.charges.size, 4);
  assert.ok(gateway.totalCalls >= 7, `${gateway.totalCalls} calls`);
});

test('retries that run out leave the request pending and counted; a later processor finishes it', async ({ store }) => {
  const requested = await seedRequests(store, 1, 2);
  const gateway = new FakeGateway();
  gateway.down = true;
  const exhausted: number[] = [];
  const first = startBuffer(store, gateway, { leaseMs: 100, retryLaterMs: 60_000 });
  try {
    await waitFor(() => gateway.totalCalls >= 6, 5_000, 'both requests tried 3 times');
    await new Promise((resolve) => setTimeout(resolve, 100));
    exhausted.push(gateway.totalCalls);
    assert.is(gateway.totalCalls, 6, 'bounded: three calls each, then it waits');
    assert.is(first.depth(), 2, 'still pending in the buffer');
    assert.not.ok(await allResolved(store, requested));
  } finally {
    await first.close();
  }
  gateway.down = false;
  const second = startBuffer(store, gateway, { leaseMs: 100 });
  try {
    await waitFor(() => allResolved(store, requested), 5_000, 'resolved after the outage');
    await waitFor(() => second.depth() === 0, 5_000, 'the buffer empty');
  } finally {
    await second.close();
  }
  assert.is(gateway.charges.size, 2);
});

test('past the key window a request is not sent again: it waits for an operator', async ({ store }) => {
  const [request] = await seedRequests(store, 1, 1);
  const gateway = new FakeGateway();
  let crashed = false;
  const first = startBuffer(store, gateway, {
    leaseMs: 10,
    onStep: () => {
      crashed = true;
      throw new Error('simulated crash');
    },
  });
  await waitFor(() => crashed, 5_000, 'the crash');
  await first.close();
  await new Promise((resolve) => setTimeout(resolve, 80));
  const second = startBuffer(store, gateway, { leaseMs: 10, keyWindowMs: 50 });
  try {
    await waitFor(() => (second.processor?.needsOperator().length ?? 0) === 1, 5_000, 'the operator list');
    await new Promise((resolve) => setTimeout(resolve, 60));
  } finally {
    await second.close();
  }
  assert.is(gateway.totalCalls, 0, 'never called the PSP');
  assert.not.ok(await allResolved(store, [request!]), 'still pending');
});

test('an outcome the ledger cannot hold is not charged again and again: one claim, one call, an operator', async ({
  store,
}) => {
  const [request] = await seedRequests(store, 1, 1);
  const fake = new FakeGateway();
  // A decline whose message is longer than the ledger stores, as a buggy or hostile PSP may send.
  const gateway: PaymentGateway = {
    name: 'verbose',
    charge: async (charge) => ({
      ...(await fake.charge(charge)),
      kind: 'declined',
      code: 'x',
      message: 'm'.repeat(2_000),
    }),
  };
  const buffer = startBuffer(store, gateway, { leaseMs: 20, retryLaterMs: 20 });
  try {
    await waitFor(() => (buffer.processor?.needsOperator().length ?? 0) === 1, 5_000, 'the operator list');
    await new Promise((resolve) => setTimeout(resolve, 300));
  } finally {
    await buffer.close();
  }
  assert.is(fake.totalCalls, 1, 'asked the PSP once');
  const events = await orderEvents(store, request!.orderId);
  assert.is(events.filter((e) => e.type === 'PaymentProcessingStarted').length, 1, 'claimed once');
  assert.not.ok(await allResolved(store, [request!]), 'still pending');
});

test.run();
