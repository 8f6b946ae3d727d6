/**
 * `POST /webhooks/stripe` in a real server whose processor charges through the Stripe gateway and
 * the stand-in: the webhook arriving before, after or instead of the API answer records exactly one
 * outcome; a redelivered event is a no-op; a success for other money than requested is never recorded
 * (counted, left pending for an operator); a bad signature is a 400 problem and writes nothing; the
 * route needs no API key (its signature authenticates it) while every other route still does. On a
 * server without a processor: the webhook reads only what the cached order stream missed.
 */
import { join } from 'node:path';
import Stripe from 'stripe';
import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import { audit } from '../../src/audit/audit.ts';
import { replayCommands } from '../../src/audit/command-replay.ts';
import { createCommandHandler } from '../../src/commands/handler.ts';
import { openMemoryStore } from '../../src/eventstore/memory-store.ts';
import { openSqliteStore } from '../../src/eventstore/sqlite-store.ts';
import { pspIdempotencyKey } from '../../src/payments/idempotency-key.ts';
import { onStore } from '../audit/fixtures.ts';
import { context } from '../support/commands.ts';
import { countedReads, readsOf } from '../support/counted-reads.ts';
import { listenApp, orderBody, send, startTestServer, type TestServer } from '../support/http.ts';
import { assertNothingWritten, assertProblem } from '../support/problems.ts';
import {
  STAND_IN_API_KEY,
  STAND_IN_WEBHOOK_SECRET,
  StripeStandIn,
  type WebhookTiming,
} from '../support/stripe-stand-in.ts';
import { tempDir } from '../support/temp.ts';
import { orderEvents } from './support.ts';

const SECRET = 'alice-secret-0123456789';
const auth = { authorization: `Bearer ${SECRET}` };
const test = suite<{ standIn: StripeStandIn; server: TestServer }>('payments: the Stripe webhook route');

test.before(async (context) => {
  context.standIn = await StripeStandIn.start();
  context.server = await startTestServer({
    env: {
      LEDGER_API_KEYS: `alice:${SECRET}`,
      LEDGER_PSP: 'stripe',
      STRIPE_API_KEY: STAND_IN_API_KEY,
      STRIPE_API_BASE: context.standIn.url,
      STRIPE_WEBHOOK_SECRET: STAND_IN_WEBHOOK_SECRET,
      STRIPE_TIMEOUT_MS: '1000',
    },
    paymentProcessor: { pollMs: 20, backoff: { attempts: 2, baseMs: 5, maxMs: 20 }, retryLaterMs: 100 },
  });
});
test.after(async ({ standIn, server }) => {
  await server.close();
  await standIn.close();
});

let orders = 0;
async function requestPayment(server: TestServer, paymentMethod = 'pm_card_visa') {
  const orderId = `hook-${++orders}`;
  assert.is((await send(server.url, 'PUT', `/orders/${orderId}`, { body: orderBody(), headers: auth })).status, 201);
  const accepted = await send(server.url, 'POST', `/orders/${orderId}/payments`, {
    body: { paymentId: 'pay-1', amount: 1_500, currency: 'EUR', paymentMethod },
    headers: { ...auth, prefer: 'respond-async', 'idempotency-key': `key-${orderId}` },
  });
  assert.is(accepted.status, 202, accepted.text);
  return { orderId, paymentId: 'pay-1' };
}

async function resolved(server: TestServer, orderId: string, paymentId: string) {
  const giveUpAt = Date.now() + 15_000;
  while (Date.now() < giveUpAt) {
    const status = await send(server.url, 'GET', `/orders/${orderId}/payments/${paymentId}`, { headers: auth });
    if (status.status === 200 && status.json.status !== 'pending') return status.json;
    await new Promise((resolve) => setTimeout(resolve, 25));
  }
  throw new Error(`${orderId}/${paymentId} still pending`);
}

const outcomeEvents = async (server: TestServer, orderId: string) =>
  (await orderEvents(server.store, orderId)).filter(
    (e) => e.type === 'PaymentDeclined' || (e.type === 'PaymentCaptured' && e.data.pspReference !== undefined),
  );

for (const timing of ['before', 'after', 'instead'] as const satisfies readonly WebhookTiming[]) {
  test(`webhook ${timing} the API answer: one charge, one outcome naming it`, async ({ standIn, server }) => {
    standIn.configure({ webhooks: { url: `${server.url}/webhooks/stripe`, secret: STAND_IN_WEBHOOK_SECRET, timing } });
    try {
      const { orderId, paymentId } = await requestPayment(server);
      const status = await resolved(server, orderId, paymentId);
      await standIn.settled();
      const key = pspIdempotencyKey(orderId, paymentId);
      assert.is(standIn.chargesFor(key), 1);
      const charge = standIn.charges.find((c) => c.idempotencyKey === key);
      assert.is(status.status, 'captured');
      assert.is(status.pspReference, charge?.intentId);
      // Give the processor's late answer (or the webhook's) its chance to record a second outcome.
      await new Promise((resolve) => setTimeout(resolve, 300));
      const outcomes = await outcomeEvents(server, orderId);
      assert.is(outcomes.length, 1, JSON.stringify(outcomes));
      const delivery = standIn.deliveries.at(-1);
      assert.is(delivery?.status, 200, 'the webhook was accepted without an API key');
      if (timing === 'instead') {
        const [recorded] = outcomes;
        assert.is(recorded?.type === 'PaymentCaptured' && recorded.data.source, 'webhook');
        assert.is(recorded?.type === 'PaymentCaptured' && recorded.data.pspEventId, delivery?.eventId);
        // In the owner's name, as the processor records: the owner's per-client read models count it.
        const stored = (await server.store.readStream(`order-${orderId}`)).find(
          (e) => e.type === 'PaymentCaptured' && e.data.source === 'webhook',
        );
        assert.is(stored?.metadata.clientId, 'alice');
      }
    } finally {
      standIn.configure({ webhooks: undefined });
    }
  });
}

test('a decline reported only by webhook is recorded once, with its code', async ({ standIn, server }) => {
  standIn.configure({
    webhooks: { url: `${server.url}/webhooks/stripe`, secret: STAND_IN_WEBHOOK_SECRET, timing: 'instead' },
  });
  try {
    const { orderId, paymentId } = await requestPayment(server, 'pm_card_chargeDeclined');
    const status = await resolved(server, orderId, paymentId);
    assert.equal([status.status, status.declineCode], ['declined', 'generic_decline']);
    await standIn.settled();
    assert.is((await outcomeEvents(server, orderId)).length, 1);
  } finally {
    standIn.configure({ webhooks: undefined });
  }
});

/** Polls `check` until it holds, for at most `ms`. */
async function eventually(what: string, check: () => Promise<boolean> | boolean, ms = 15_000): Promise<void> {
  const giveUpAt = Date.now() + ms;
  while (!(await check())) {
    if (Date.now() > giveUpAt) throw new Error(`not within ${ms} ms: ${what}`);
    await new Promise((resolve) => setTimeout(resolve, 25));
  }
}

const metric = async (server: TestServer, line: RegExp) =>
  Number(line.exec((await send(server.url, 'GET', '/metrics', { headers: auth })).text)?.[1] ?? 0);
const mismatches = (server: TestServer) =>
  metric(server, /^ledger_stripe_webhook_not_recorded_total\{rule="payment-outcome-amount-mismatch"\} (\d+)$/m);

for (const chargeAs of [{ amount: 1_499 }, { currency: 'usd' }]) {
  test(`a success for other money (${JSON.stringify(chargeAs)}) is not recorded: pending, counted, left to an operator`, async ({
    standIn,
    server,
  }) => {
    const url = `${server.url}/webhooks/stripe`;
    standIn.configure({ chargeAs, webhooks: { url, secret: STAND_IN_WEBHOOK_SECRET, timing: 'instead' } });
    const before = await mismatches(server);
    try {
      const sent = standIn.deliveries.length;
      const { orderId, paymentId } = await requestPayment(server);
      await eventually('the webhook was delivered', () => standIn.deliveries.length > sent);
      const delivery = standIn.deliveries.at(-1);
      assert.is(delivery?.status, 200, 'acknowledged: a redelivery could not change the answer');
      assert.is(await mismatches(server), before + 1, 'counted for an alert');
      // Redelivered, it is refused again.
      assert.is((await standIn.redeliver(delivery!.eventId)).status, 200);
      assert.is(await mismatches(server), before + 2);
      const status = await send(server.url, 'GET', `/orders/${orderId}/payments/${paymentId}`, { headers: auth });
      assert.equal([status.status, status.json.status, status.json.amount], [200, 'pending', 1_500]);
      assert.equal(await outcomeEvents(server, orderId), [], 'no capture of the requested amount was recorded');

      // The API answer, once it gets through, says the same; the processor leaves it to an operator.
      const needing = /^ledger_payment_requests_needing_operator (\d+)$/m;
      const flagged = await metric(server, needing);
      standIn.configure({ webhooks: undefined });
      await eventually('the processor flagged it', async () => (await metric(server, needing)) > flagged);
      assert.equal(await outcomeEvents(server, orderId), []);
    } finally {
      standIn.configure({ webhooks: undefined, chargeAs: undefined });
    }
  });
}

test('a redelivered event is a 200 no-op', async ({ standIn, server }) => {
  const url = `${server.url}/webhooks/stripe`;
  standIn.configure({ webhooks: { url, secret: STAND_IN_WEBHOOK_SECRET, timing: 'after' } });
  try {
    const { orderId, paymentId } = await requestPayment(server);
    await resolved(server, orderId, paymentId);
    await standIn.settled();
    const eventId = standIn.deliveries.at(-1)?.eventId ?? '';
    await assertNothingWritten(server.store, async () => {
      for (let i = 0; i < 3; i++) assert.is((await standIn.redeliver(eventId)).status, 200);
    });
    assert.is((await outcomeEvents(server, orderId)).length, 1);
  } finally {
    standIn.configure({ webhooks: undefined });
  }
});

test('a bad, missing or foreign signature is 400 webhook-signature-invalid and writes nothing', async ({ server }) => {
  const payload = JSON.stringify({
    id: 'evt_forged',
    object: 'event',
    type: 'payment_intent.succeeded',
    data: { object: { id: 'pi_forged', status: 'succeeded', amount: 1, currency: 'eur', metadata: {} } },
  });
  const signed = Stripe.webhooks.generateTestHeaderString({ payload, secret: STAND_IN_WEBHOOK_SECRET });
  const foreign = Stripe.webhooks.generateTestHeaderString({ payload, secret: 'whsec_someone_else_0123456789' });
  const cases: [string, Record<string, string>][] = [
    [payload.replace('pi_forged', 'pi_other'), { 'stripe-signature': signed }],
    [payload, {}],
    [payload, { 'stripe-signature': foreign }],
    [payload, { 'stripe-signature': 't=1,v1=00' }],
  ];
  for (const [body, headers] of cases) {
    await assertNothingWritten(server.store, async () => {
      const response = await send(server.url, 'POST', '/webhooks/stripe', {
        rawBody: body,
        headers: { 'content-type': 'application/json', ...headers },
      });
      assertProblem(response, 400, 'webhook-signature-invalid');
      assert.not.ok(response.text.includes(STAND_IN_WEBHOOK_SECRET.slice(6)));
    });
  }
});

test('other events are acknowledged and ignored; the rest of the API still needs its key', async ({ server }) => {
  const payload = JSON.stringify({ id: 'evt_other', object: 'event', type: 'charge.refunded', data: { object: {} } });
  const signature = Stripe.webhooks.generateTestHeaderString({ payload, secret: STAND_IN_WEBHOOK_SECRET });
  await assertNothingWritten(server.store, async () => {
    const response = await send(server.url, 'POST', '/webhooks/stripe', {
      rawBody: payload,
      headers: { 'content-type': 'application/json', 'stripe-signature': signature },
    });
    assert.is(response.status, 200, response.text);
    assert.equal([response.json.result, response.json.eventId], ['ignored', 'evt_other']);
  });
  assertProblem(await send(server.url, 'GET', '/orders/hook-1/payments/pay-1'), 401, 'unauthorized');
  // The app's own JSON parsing is untouched elsewhere: a malformed body on a command route is still 400 malformed-json.
  const malformed = await send(server.url, 'PUT', '/orders/x-1', {
    rawBody: '{"customerId":',
    headers: { ...auth, 'content-type': 'application/json' },
  });
  assertProblem(malformed, 400, 'malformed-json');
});

/** A signed event about the intent of a ledger payment, as Stripe would send it. */
function signedEvent(
  orderId: string,
  paymentId: string,
  amount: number,
  declined?: { code: string },
  intentId = `pi_${paymentId}`,
) {
  const status = declined ? 'requires_payment_method' : 'succeeded';
  const error = declined && { type: 'card_error', code: declined.code, message: 'Your card was declined.' };
  const intent = { id: intentId, object: 'payment_intent', status, amount, currency: 'eur' };
  const payload = JSON.stringify({
    id: `evt_${paymentId}`,
    object: 'event',
    type: declined ? 'payment_intent.payment_failed' : 'payment_intent.succeeded',
    data: { object: { ...intent, last_payment_error: error ?? null, metadata: { orderId, paymentId } } },
  });
  const signature = Stripe.webhooks.generateTestHeaderString({ payload, secret: STAND_IN_WEBHOOK_SECRET });
  return { rawBody: payload, headers: { 'content-type': 'application/json', 'stripe-signature': signature } };
}

const reads = suite('payments: the Stripe webhook on a server without a processor');

reads('owner and outcome from the cached stream (only the missed tail read); other money refused', async () => {
  const path = join(tempDir('webhook-reads'), 'ledger.db');
  const store = openSqliteStore(path);
  const counted = countedReads(store);
  const app = await listenApp(counted.store, {
    env: {
      LEDGER_API_KEYS: `alice:${SECRET}`,
      LEDGER_PSP: 'stripe',
      STRIPE_API_KEY: STAND_IN_API_KEY,
      STRIPE_WEBHOOK_SECRET: STAND_IN_WEBHOOK_SECRET,
    },
  });
  const other = openSqliteStore(path);
  try {
    const body = orderBody({ lines: [{ sku: 'S', quantity: 1, unitPrice: 1_000_000 }] });
    assert.is((await send(app.url, 'PUT', '/orders/long', { body, headers: auth })).status, 201);
    for (let i = 0; i < 30; i++) {
      const capture = { paymentId: `p-${i}`, amount: 10, currency: 'EUR' };
      const sent = await send(app.url, 'POST', '/orders/long/payments', { body: capture, headers: auth });
      assert.is(sent.status, 201, sent.text);
    }
    // The request comes from another process (one with the processor), so this server's entry is stale.
    const request = { orderId: 'long', paymentId: 'psp', amount: 500, currency: 'EUR', paymentMethod: 'pm_card_visa' };
    await createCommandHandler(other)({ type: 'RequestPayment', ...request }, context({ clientId: 'alice' }));
    const before = counted.reads.length;
    const hook = await send(app.url, 'POST', '/webhooks/stripe', signedEvent('long', 'psp', 500));
    assert.is(hook.status, 200, hook.text);
    assert.is(hook.json.result, 'recorded');
    assert.equal(
      readsOf(counted.reads.slice(before), 'order-long'),
      [{ streamId: 'order-long', fromRevision: 31n, records: 1 }],
      'the 31 events this server decided on are not read again',
    );
    const captured = (await store.readStream('order-long', { fromRevision: 32n }))[0];
    assert.equal([captured?.type, captured?.metadata.clientId], ['PaymentCaptured', 'alice']);

    // A success for other money than the request's is acknowledged, says why, and writes nothing.
    const differs = {
      orderId: 'long',
      paymentId: 'other',
      amount: 500,
      currency: 'EUR',
      paymentMethod: 'pm_card_visa',
    };
    await createCommandHandler(store)({ type: 'RequestPayment', ...differs }, context({ clientId: 'alice' }));
    await assertNothingWritten(store, async () => {
      const refused = await send(app.url, 'POST', '/webhooks/stripe', signedEvent('long', 'other', 499));
      assert.is(refused.status, 200, refused.text);
      assert.is(refused.json.result, 'ignored');
      assert.match(refused.json.detail, /reports 499 EUR captured for payment other, which requested 500 EUR/);
    });
    // A decline moved no money: recorded whatever the intent was for.
    const declined = await send(app.url, 'POST', '/webhooks/stripe', signedEvent('long', 'other', 499, { code: 'x' }));
    assert.equal([declined.status, declined.json.result], [200, 'recorded'], declined.text);
  } finally {
    await app.close();
    await other.close();
    await store.close();
  }
  // What the webhook recorded audits clean, and every command rebuilt from the log replays as a no-op.
  const report = await onStore(path, (store, location) => audit({ source: { kind: 'store', store, location } }));
  assert.equal(report.findings.listed, []);
  const replay = await onStore(path, (store, location) =>
    replayCommands({ source: { kind: 'store', store, location } }),
  );
  assert.equal(replay.findings.listed, []);
  assert.equal([replay.replays, replay.newEvents], [replay.commands, 0]);
});

reads(
  'a signed event naming ids or an intent the ledger cannot hold is acknowledged as ignored, not redelivered',
  async () => {
    const store = openMemoryStore();
    const app = await listenApp(store, {
      env: {
        LEDGER_API_KEYS: `alice:${SECRET}`,
        LEDGER_PSP: 'stripe',
        STRIPE_API_KEY: STAND_IN_API_KEY,
        STRIPE_WEBHOOK_SECRET: STAND_IN_WEBHOOK_SECRET,
      },
    });
    try {
      const cases: [string, string, { intentId?: string }?][] = [
        ['no such id!', 'pay-1'],
        ['o'.repeat(65), 'pay-1'],
        ['order-1', 'pay/1'],
        ['order-1', 'pay-1', { intentId: `pi_${'x'.repeat(300)}` }],
      ];
      for (const [orderId, paymentId, fields] of cases) {
        await assertNothingWritten(store, async () => {
          const hook = await send(
            app.url,
            'POST',
            '/webhooks/stripe',
            signedEvent(orderId, paymentId, 500, undefined, fields?.intentId),
          );
          assert.is(hook.status, 200, hook.text);
          assert.is(hook.json.result, 'ignored');
        });
      }
    } finally {
      await app.close();
      await store.close();
    }
  },
);

test.run();
reads.run();
