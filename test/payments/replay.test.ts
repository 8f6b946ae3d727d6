/**
 * A log the payment buffer wrote — requests, claims (one lost to a simulated crash and taken over),
 * captures and a decline — audits clean, and `replay-commands` rebuilds every one of its commands
 * from the events alone and replays it as a no-op; a webhook's capture is rebuilt with the money its
 * report carried, when it carried it.
 */
import { randomUUID } from 'node:crypto';
import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import { audit } from '../../src/audit/audit.ts';
import { commandOf, replayCommands } from '../../src/audit/command-replay.ts';
import { commandDigestOf, type LedgerEvent } from '../../src/events/codec.ts';
import { onStore, withFile } from '../audit/fixtures.ts';
import { DECLINED_METHOD, FakeGateway } from '../support/fake-gateway.ts';
import { orderBody, send, startTestServer } from '../support/http.ts';
import { waitFor } from './support.ts';

const test = suite('payment buffer: audit and replay-commands');

test('clean audit; every payment command replays as a no-op', async () => {
  const gateway = new FakeGateway();
  let crashes = 1;
  const server = await startTestServer({
    gateway,
    paymentProcessor: {
      pollMs: 20,
      leaseMs: 100,
      onStep: (step) => {
        if (step === 'after-charge' && crashes > 0) {
          crashes -= 1;
          throw new Error('simulated crash');
        }
      },
    },
  });
  const async = { prefer: 'respond-async' };
  try {
    assert.is((await send(server.url, 'PUT', '/orders/b-1', { body: orderBody() })).status, 201);
    const bodies = [
      { body: { paymentId: 'q-1', amount: 500, currency: 'EUR', paymentMethod: 'pm_card_visa' }, headers: async },
      { body: { paymentId: 'q-2', amount: 300, currency: 'EUR', paymentMethod: DECLINED_METHOD }, headers: async },
      {
        body: { amount: 700, currency: 'EUR', paymentMethod: 'pm_card_visa' },
        headers: { ...async, 'idempotency-key': randomUUID() },
      },
    ];
    for (const sent of bodies) {
      const response = await send(server.url, 'POST', '/orders/b-1/payments', sent);
      assert.is(response.status, 202, response.text);
    }
    await waitFor(() => gateway.charges.size === 3, 10_000, 'three charges');
    for (const id of ['q-1', 'q-2']) {
      await waitFor(
        async () => (await send(server.url, 'GET', `/orders/b-1/payments/${id}`)).json.status !== 'pending',
      );
    }
    await waitFor(async () => {
      const events = (await send(server.url, 'GET', '/orders/b-1/events')).json.events as { type: string }[];
      return events.filter((e) => e.type === 'PaymentCaptured' || e.type === 'PaymentDeclined').length === 3;
    });
  } finally {
    await server.close();
  }
  assert.is(gateway.charges.size, 3);
  const path = server.dbPath;
  const claims = withFile(path, (db) =>
    db.prepare("SELECT count(*) AS n FROM events WHERE type = 'PaymentProcessingStarted'").get(),
  ) as { n: number };
  assert.ok(claims.n >= 4, 'the crashed claim was taken over');
  const report = await onStore(path, (store, location) => audit({ source: { kind: 'store', store, location } }));
  assert.equal(report.findings.listed, []);
  assert.is(report.paymentRequests.requested, 3);
  assert.is(report.paymentRequests.pending, 0);
  const replay = await onStore(path, (store, location) =>
    replayCommands({ source: { kind: 'store', store, location } }),
  );
  assert.equal(replay.findings.listed, []);
  assert.is(replay.replays, replay.commands);
  assert.is(replay.newEvents, 0);
});

test('a capture is rebuilt with what its report said it charged exactly when its command carried it', () => {
  const recorded = {
    type: 'RecordPaymentOutcome' as const,
    orderId: 'b-1',
    paymentId: 'q-1',
    outcome: { kind: 'captured' as const, pspReference: 'pi_1' },
    source: 'webhook' as const,
    pspEventId: 'evt_1',
  };
  const data = { orderId: 'b-1', paymentId: 'q-1', amount: 500, currency: 'EUR', pspReference: 'pi_1' };
  const stored = (requestHash: string) =>
    ({
      event: { type: 'PaymentCaptured', data: { ...data, source: 'webhook', pspEventId: 'evt_1' } },
      metadata: { requestHash },
    }) as unknown as LedgerEvent;
  const withCharge = { ...recorded, charged: { amount: 500, currency: 'EUR' } };
  assert.equal(commandOf(stored(commandDigestOf(withCharge))), withCharge);
  // Written before reports carried their money: rebuilt as it was sent.
  assert.equal(commandOf(stored(commandDigestOf(recorded))), recorded);
});

test.run();
