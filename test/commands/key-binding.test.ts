/**
 * The key-binding runner over the stores themselves, both protocols: a key names one request for
 * ever, racing requests under one key end as one effect, and a write cut between its steps is
 * completed by the key's retry and by nothing else.
 */
import { join } from 'node:path';
import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import { createCommandHandler, type BindingProtocol, type BindingStep } from '../../src/commands/handler.ts';
import { requestFingerprint } from '../../src/commands/idempotency-key.ts';
import { type CommandRequest, createKeyedRunner, type ResourceIds } from '../../src/commands/key-binding.ts';
import { IdempotencyKeyReused } from '../../src/domain/key-binding.ts';
import { DomainRejection } from '../../src/domain/rejection.ts';
import { openMemoryStore } from '../../src/eventstore/memory-store.ts';
import type { EventStore } from '../../src/eventstore/port.ts';
import { openSqliteStore } from '../../src/eventstore/sqlite-store.ts';
import { keyBindingStreamId } from '../../src/events/binding-codec.ts';
import { createOrder } from '../support/commands.ts';
import { tempDir } from '../support/temp.ts';

const dir = tempDir('key-binding');
let files = 0;
const test = suite('key-binding runner');

class Crash extends Error {}

function runner(store: EventStore, protocol: BindingProtocol, crashAt?: BindingStep) {
  const handle = createCommandHandler(store, {
    bindingProtocol: protocol,
    onBindingStep: (step) => {
      if (step === crashAt) throw new Crash(step);
    },
  });
  return createKeyedRunner(store, handle);
}

/** A capture on `orderId` as the payments route builds it: the paymentId from the body, else the key's. */
function captureRequest(
  key: string,
  orderId: string,
  body: { paymentId?: string; amount: number },
  clientId = 'alice',
): CommandRequest {
  const fingerprint = requestFingerprint({
    method: 'POST',
    route: '/orders/:orderId/payments',
    params: { orderId },
    body: { ...body, currency: 'EUR' },
  });
  return {
    context: {
      clientId,
      correlationId: 'c',
      requestHash: fingerprint.fingerprint,
      idempotencyKey: key,
      enforceOwnership: true,
    },
    keyed: { clientId, idempotencyKey: key, ...fingerprint },
    ids: { orderId, paymentId: body.paymentId ?? `fresh-${Math.random().toString(36).slice(2)}` },
    command: (ids: ResourceIds) => ({
      type: 'CapturePayment',
      orderId,
      paymentId: ids.paymentId!,
      amount: body.amount,
      currency: 'EUR',
    }),
  };
}

async function events(store: EventStore, type?: string) {
  const all = [];
  for await (const e of store.readAll()) if (type === undefined || e.type === type) all.push(e);
  return all;
}

const stores: Array<[string, () => EventStore]> = [
  ['memory', openMemoryStore],
  ['sqlite', () => openSqliteStore(join(dir, `k-${++files}.db`))],
];

for (const [name, open] of stores) {
  for (const protocol of ['atomic', 'two-step'] as const) {
    test(`${name}, ${protocol}: 50 different requests racing under one key: one effect, 49 refused`, async () => {
      const store = open();
      await createCommandHandler(store)(
        createOrder('race', { lines: [{ sku: 'S', quantity: 1, unitPrice: 100_000 }] }),
        { clientId: 'alice', correlationId: 'c' },
      );
      const run = runner(store, protocol);
      const results = await Promise.allSettled(
        Array.from({ length: 50 }, (_, i) => run(captureRequest('k', 'race', { paymentId: `p-${i}`, amount: 10 + i }))),
      );
      assert.is(results.filter((r) => r.status === 'fulfilled').length, 1);
      for (const r of results) if (r.status === 'rejected') assert.instance(r.reason, IdempotencyKeyReused);
      assert.is((await events(store, 'PaymentCaptured')).length, 1);
      assert.is((await events(store, 'IdempotencyKeyBound')).length, 1);
      await store.close();
    });
  }

  test(`${name}: a key whose first request was refused binds nothing and stays free`, async () => {
    const store = open();
    const run = runner(store, 'atomic');
    try {
      await run(captureRequest('free', 'no-such-order', { paymentId: 'p', amount: 5 }));
      assert.unreachable();
    } catch (error) {
      assert.instance(error, DomainRejection);
    }
    assert.equal(await events(store), []);
    await createCommandHandler(store)(createOrder('later'), { clientId: 'alice', correlationId: 'c' });
    const outcome = await run(captureRequest('free', 'later', { paymentId: 'p', amount: 5 }));
    assert.is(outcome.replayed, false);
    await store.close();
  });
}

test('two-step, cut after the reservation: another request is refused; the retry writes the effect once, then replays', async () => {
  const store = openMemoryStore();
  await createCommandHandler(store)(createOrder('cut'), { clientId: 'alice', correlationId: 'c' });
  const request = captureRequest('cut-key', 'cut', { amount: 100 });
  try {
    await runner(store, 'two-step', 'after-reservation')(request);
    assert.unreachable();
  } catch (error) {
    assert.instance(error, Crash);
  }
  const [binding] = await events(store, 'IdempotencyKeyBound');
  assert.is(binding!.streamId, keyBindingStreamId('alice', 'cut-key'));
  assert.equal(await events(store, 'PaymentCaptured'), []);

  const restarted = runner(store, 'atomic');
  try {
    await restarted(captureRequest('cut-key', 'cut', { amount: 101 }));
    assert.unreachable();
  } catch (error) {
    assert.instance(error, IdempotencyKeyReused);
  }
  // The retry is a new process's request: its fresh id is ignored for the one the reservation chose.
  const completed = await restarted(captureRequest('cut-key', 'cut', { amount: 100 }));
  assert.is(completed.replayed, false);
  const payments = await events(store, 'PaymentCaptured');
  assert.is(payments.length, 1);
  assert.is(payments[0]!.data.paymentId, (binding!.data as { paymentId: string }).paymentId);
  assert.is(payments[0]!.metadata.keyBinding, binding!.streamId);
  assert.is((await restarted(captureRequest('cut-key', 'cut', { amount: 100 }))).replayed, true);
  assert.is((await events(store, 'PaymentCaptured')).length, 1);
});

test('ownership: a capture on another client’s order is the rejection of a missing order, and binds nothing', async () => {
  const store = openMemoryStore();
  await createCommandHandler(store)(createOrder('owned'), { clientId: 'alice', correlationId: 'c' });
  const run = runner(store, 'atomic');
  const attempt = async (orderId: string) => {
    try {
      await run(captureRequest('bob-key', orderId, { paymentId: 'p', amount: 5 }, 'bob'));
    } catch (error) {
      return error as DomainRejection;
    }
    throw new Error('expected a rejection');
  };
  const [foreign, missing] = [await attempt('owned'), await attempt('absent')];
  assert.is(foreign.rule, 'order-not-found');
  assert.is(foreign.message.replace('owned', '?'), missing.message.replace('absent', '?'));
  assert.is((await events(store)).length, 1);
});

test('two-step: a keyed create of an order this process holds nothing of reads it first, and a refused one binds nothing', async () => {
  const store = openMemoryStore();
  await createCommandHandler(store)(createOrder('taken'), { clientId: 'alice', correlationId: 'c' });
  // A fresh handler (another process's cache): decided unread, the reservation would be written before the store refused the create.
  const run = runner(store, 'two-step');
  const body = { customerId: 'someone-else', currency: 'EUR', lines: [{ sku: 'SKU-1', quantity: 1, unitPrice: 5 }] };
  const fingerprint = requestFingerprint({
    method: 'PUT',
    route: '/orders/:orderId',
    params: { orderId: 'taken' },
    body,
  });
  const refused = await run({
    context: { clientId: 'alice', correlationId: 'c', requestHash: fingerprint.fingerprint, idempotencyKey: 'put-key' },
    keyed: { clientId: 'alice', idempotencyKey: 'put-key', ...fingerprint },
    ids: { orderId: 'taken' },
    command: (ids: ResourceIds) => ({ type: 'CreateOrder', orderId: ids.orderId, ...body }),
  }).catch((error) => error);
  assert.instance(refused, DomainRejection);
  assert.is((await events(store, 'IdempotencyKeyBound')).length, 0, 'the key is still free');
  assert.is((await events(store)).length, 1);
});

test.run();
