/**
 * The webhook verifier: the SDK's signature check over the raw bytes, and which events become a
 * ledger outcome. Also the stand-in's own deliveries (signed the way Stripe signs), received over
 * real HTTP and verified with the same module.
 */
import { once } from 'node:events';
import { createServer, type IncomingMessage } from 'node:http';
import type { AddressInfo } from 'node:net';
import Stripe from 'stripe';
import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import { StripeApiBaseSchema } from '../../src/payments/stripe-config.ts';
import { createStripeGateway } from '../../src/payments/stripe-gateway.ts';
import {
  createStripeWebhookVerifier,
  type StripeWebhookResult,
  StripeWebhookSignatureError,
} from '../../src/payments/stripe-webhook.ts';
import { STAND_IN_API_KEY, STAND_IN_WEBHOOK_SECRET, StripeStandIn } from '../support/stripe-stand-in.ts';

const test = suite('payments: Stripe webhook verification');
const SECRET = 'whsec_test_0123456789abcdefghij';
const verifier = createStripeWebhookVerifier(SECRET);

function intentEvent(type: string, intent: Record<string, unknown>, id = 'evt_1TestEventId') {
  return JSON.stringify({
    id,
    object: 'event',
    type,
    created: Math.floor(Date.now() / 1000),
    livemode: false,
    data: {
      object: {
        id: 'pi_3TestIntent',
        object: 'payment_intent',
        amount: 4200,
        currency: 'eur',
        status: 'succeeded',
        metadata: { orderId: 'order-7', paymentId: 'pay-7' },
        last_payment_error: null,
        ...intent,
      },
    },
  });
}

const sign = (payload: string, secret = SECRET, timestamp?: number) =>
  Stripe.webhooks.generateTestHeaderString({ payload, secret, ...(timestamp === undefined ? {} : { timestamp }) });

function refused(work: () => unknown): StripeWebhookSignatureError {
  try {
    work();
  } catch (error) {
    assert.instance(error, StripeWebhookSignatureError);
    return error as StripeWebhookSignatureError;
  }
  throw new Error('expected the webhook to be refused');
}

test('a good signature: payment_intent.succeeded is the capture of the payment named in its metadata', () => {
  const payload = intentEvent('payment_intent.succeeded', {});
  const result = verifier.verify(Buffer.from(payload), sign(payload));
  assert.equal(result, {
    kind: 'outcome',
    pspEventId: 'evt_1TestEventId',
    orderId: 'order-7',
    paymentId: 'pay-7',
    outcome: { kind: 'captured', pspReference: 'pi_3TestIntent' },
    amount: 4200,
    currency: 'EUR',
  } satisfies StripeWebhookResult);
});

test('payment_intent.payment_failed is a decline with the decline code, else the error code', () => {
  const failed = (last_payment_error: Record<string, unknown>) => {
    const payload = intentEvent('payment_intent.payment_failed', {
      status: 'requires_payment_method',
      last_payment_error,
    });
    const result = verifier.verify(payload, sign(payload));
    return result.kind === 'outcome' ? result.outcome : result;
  };
  assert.equal(failed({ code: 'card_declined', decline_code: 'insufficient_funds', message: 'Insufficient funds.' }), {
    kind: 'declined',
    code: 'insufficient_funds',
    message: 'Insufficient funds.',
    pspReference: 'pi_3TestIntent',
  });
  assert.equal(failed({ code: 'expired_card', message: 'Your card has expired.' }), {
    kind: 'declined',
    code: 'expired_card',
    message: 'Your card has expired.',
    pspReference: 'pi_3TestIntent',
  });
});

test('a bad signature: a body changed after signing, a forged header, or no header, is refused', () => {
  const payload = intentEvent('payment_intent.succeeded', {});
  const header = sign(payload);
  refused(() => verifier.verify(payload.replace('4200', '1'), header));
  refused(() => verifier.verify(payload, header.replace(/v1=[0-9a-f]+/, `v1=${'0'.repeat(64)}`)));
  refused(() => verifier.verify(payload, 'not a signature'));
  refused(() => verifier.verify(payload, undefined));
  // A parsed-and-reserialised body is not the raw bytes: refused, so the route must hand over the raw body.
  refused(() => verifier.verify(JSON.stringify(JSON.parse(payload), null, 2), header));
});

test('signed with another secret: refused, and the error quotes neither secret', () => {
  const otherSecret = 'whsec_other_9876543210zyxwvu';
  const payload = intentEvent('payment_intent.succeeded', {});
  const error = refused(() => verifier.verify(payload, sign(payload, otherSecret)));
  assert.not.ok(error.message.includes(SECRET.slice(6)), error.message);
  assert.not.ok(error.message.includes(otherSecret.slice(6)), error.message);
});

test('replay: the same signed request ten minutes later is refused; a fresh redelivery keeps its event id', () => {
  const payload = intentEvent('payment_intent.succeeded', {}, 'evt_1Redelivered');
  const tenMinutesAgo = Math.floor(Date.now() / 1000) - 600;
  const error = refused(() => verifier.verify(payload, sign(payload, SECRET, tenMinutesAgo)));
  assert.match(error.message, /tolerance/i);
  const first = verifier.verify(payload, sign(payload));
  const redelivered = verifier.verify(payload, sign(payload));
  assert.is(first.pspEventId, 'evt_1Redelivered');
  assert.equal(redelivered, first, 'the recorder deduplicates on pspEventId');
});

test('other events and intents that are not the ledger’s are ignored (answered 200 by the route)', () => {
  const cases: [string, string][] = [
    [intentEvent('charge.refunded', {}), 'not a payment outcome'],
    [intentEvent('payment_intent.created', { status: 'requires_payment_method' }), 'not a payment outcome'],
    [intentEvent('payment_intent.succeeded', { metadata: {} }), 'no ledger orderId/paymentId'],
    [intentEvent('payment_intent.succeeded', { metadata: { orderId: 'a b', paymentId: 'p' } }), 'no ledger orderId'],
    [intentEvent('payment_intent.succeeded', { metadata: { orderId: 'o'.repeat(65), paymentId: 'p' } }), 'no ledger'],
    [intentEvent('payment_intent.succeeded', { id: `pi_${'x'.repeat(5_000)}` }), 'cannot hold'],
    [intentEvent('payment_intent.succeeded', { status: 'processing' }), 'processing'],
    [intentEvent('payment_intent.payment_failed', { status: 'succeeded' }), 'succeeded'],
  ];
  for (const [payload, reason] of cases) {
    const result = verifier.verify(payload, sign(payload));
    assert.is(result.kind, 'ignored', payload);
    if (result.kind === 'ignored') assert.match(result.reason, reason);
  }
});

async function receiver() {
  const received: { result?: StripeWebhookResult; refused?: string }[] = [];
  const standInVerifier = createStripeWebhookVerifier(STAND_IN_WEBHOOK_SECRET);
  const server = createServer(async (req: IncomingMessage, res) => {
    const chunks: Buffer[] = [];
    for await (const chunk of req) chunks.push(chunk as Buffer);
    try {
      received.push({
        result: standInVerifier.verify(Buffer.concat(chunks), req.headers['stripe-signature'] as string),
      });
      res.writeHead(200).end();
    } catch (error) {
      received.push({ refused: String(error) });
      res.writeHead(400).end();
    }
  });
  server.listen(0, '127.0.0.1');
  await once(server, 'listening');
  const url = `http://127.0.0.1:${(server.address() as AddressInfo).port}/webhooks/stripe`;
  return { url, received, close: () => new Promise((resolve) => server.close(resolve)) };
}

test('the stand-in signs its events as Stripe does: before, after and instead of the API answer', async () => {
  const hook = await receiver();
  const standIn = await StripeStandIn.start();
  const gateway = createStripeGateway({
    apiKey: STAND_IN_API_KEY,
    apiBase: StripeApiBaseSchema.parse(standIn.url),
    timeoutMs: 2_000,
  });
  try {
    for (const timing of ['before', 'after', 'instead'] as const) {
      standIn.configure({ webhooks: { url: hook.url, secret: STAND_IN_WEBHOOK_SECRET, timing } });
      const request = {
        idempotencyKey: `key-${timing}`,
        orderId: `order-${timing}`,
        paymentId: `pay-${timing}`,
        amount: 700,
        currency: 'USD',
        paymentMethod: 'pm_card_visa',
      };
      const answer = await gateway.charge(request).catch((error: Error) => error);
      await standIn.settled();
      const charge = standIn.charges.at(-1);
      const last = hook.received.at(-1);
      assert.equal(last?.result, {
        kind: 'outcome',
        pspEventId: standIn.deliveries.at(-1)?.eventId,
        orderId: request.orderId,
        paymentId: request.paymentId,
        outcome: { kind: 'captured', pspReference: charge?.intentId },
        amount: 700,
        currency: 'USD',
      });
      if (timing === 'instead') assert.instance(answer, Error, 'the API answer never came');
      else assert.equal(answer, { kind: 'captured', pspReference: charge?.intentId });
      assert.is(standIn.chargesFor(request.idempotencyKey), 1);
    }
    assert.equal(
      standIn.deliveries.map((d) => d.status),
      [200, 200, 200],
    );
    // Redelivery sends the identical event: same id, verified again.
    const [first] = standIn.eventIds();
    await standIn.redeliver(first ?? '');
    assert.is(hook.received.at(-1)?.result?.pspEventId, first);
  } finally {
    await standIn.close();
    await hook.close();
  }
});

test.run();
