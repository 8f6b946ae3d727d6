/**
 * The Stripe gateway, through the official SDK, against the stand-in over real HTTP: what each
 * answer means for the ledger, and that a charge is made once per key however the call fails.
 */
import { createServer } from 'node:net';
import { once } from 'node:events';
import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import {
  type ChargeRequest,
  type PaymentGateway,
  PermanentGatewayError,
  TransientGatewayError,
} from '../../src/payments/gateway.ts';
import { StripeApiBaseSchema } from '../../src/payments/stripe-config.ts';
import { createStripeGateway } from '../../src/payments/stripe-gateway.ts';
import { STAND_IN_API_KEY, StripeStandIn } from '../support/stripe-stand-in.ts';

const test = suite<{ standIn: StripeStandIn; gateway: PaymentGateway }>('payments: Stripe gateway vs the stand-in');

let payments = 0;
function chargeRequest(fields: Partial<ChargeRequest> = {}): ChargeRequest {
  const paymentId = `pay-${++payments}`;
  return {
    idempotencyKey: `ledger-charge-order-${payments}-${paymentId}`,
    orderId: `order-${payments}`,
    paymentId,
    amount: 1250,
    currency: 'EUR',
    paymentMethod: 'pm_card_visa',
    ...fields,
  };
}

function gatewayFor(url: string, options: { apiKey?: string; timeoutMs?: number } = {}): PaymentGateway {
  return createStripeGateway({
    apiKey: options.apiKey ?? STAND_IN_API_KEY,
    apiBase: StripeApiBaseSchema.parse(url),
    timeoutMs: options.timeoutMs ?? 5_000,
  });
}

/** The charge's failure, asserted to be of the kind given. */
async function rejection<E extends Error>(work: Promise<unknown>, kind: new (...args: never[]) => E): Promise<E> {
  try {
    await work;
  } catch (error) {
    assert.instance(error, kind);
    return error as E;
  }
  throw new Error('expected the charge to fail');
}

/** Asked again with the same key, the gateway answers with the one charge the stand-in made for it. */
async function assertRetryFindsTheCharge(standIn: StripeStandIn, gateway: PaymentGateway, request: ChargeRequest) {
  const outcome = await gateway.charge(request);
  const charge = standIn.charges.find((c) => c.idempotencyKey === request.idempotencyKey);
  assert.equal(outcome, { kind: 'captured', pspReference: charge?.intentId });
  assert.is(standIn.chargesFor(request.idempotencyKey), 1);
}

test.before(async (context) => {
  context.standIn = await StripeStandIn.start();
  context.gateway = gatewayFor(context.standIn.url);
});
test.before.each(({ standIn }) => {
  standIn.configure({
    latencyMs: 0,
    fail500: 0,
    resetAfterCharge: 0,
    concurrencyLimit: Number.POSITIVE_INFINITY,
    overLimit: 'queue',
    echoApiKey: false,
    settleMs: 0,
  });
});
test.after(async ({ standIn }) => standIn.close());

test('success: one PaymentIntent created and confirmed in one call, minor units, lower-case currency, metadata', async ({
  standIn,
  gateway,
}) => {
  const request = chargeRequest({ amount: 1999, currency: 'JPY' });
  const before = standIn.requests.length;
  const outcome = await gateway.charge(request);
  assert.is(outcome.kind, 'captured');
  const pspReference = outcome.kind === 'captured' ? outcome.pspReference : '';
  assert.match(pspReference, /^pi_/);
  assert.is(standIn.chargesFor(request.idempotencyKey), 1);
  const intent = standIn.intent(pspReference);
  assert.equal(
    intent && { amount: intent.amount, currency: intent.currency, status: intent.status, pm: intent.payment_method },
    { amount: 1999, currency: 'jpy', status: 'succeeded', pm: 'pm_card_visa' },
  );
  assert.equal(intent?.metadata, { orderId: request.orderId, paymentId: request.paymentId });
  // One HTTP request, carrying the ledger's key (not one the SDK made up).
  assert.equal(
    standIn.requests.slice(before).map((r) => [r.method, r.path, r.idempotencyKey, r.fate]),
    [['POST', '/v1/payment_intents', request.idempotencyKey, 'charged']],
  );
});

test('declines: card errors map to their decline code (else the error code) and message, nothing charged', async ({
  standIn,
  gateway,
}) => {
  const charges = standIn.totalCharges;
  const cases: [string, string, string][] = [
    ['pm_card_chargeDeclined', 'generic_decline', 'Your card was declined.'],
    ['pm_card_chargeDeclinedInsufficientFunds', 'insufficient_funds', 'Your card has insufficient funds.'],
    ['pm_card_chargeDeclinedExpiredCard', 'expired_card', 'Your card has expired.'],
    [
      'pm_card_authenticationRequired',
      'authentication_required',
      'Your card was declined. This transaction requires authentication.',
    ],
  ];
  for (const [paymentMethod, code, message] of cases) {
    const outcome = await gateway.charge(chargeRequest({ paymentMethod }));
    assert.is(outcome.kind, 'declined', paymentMethod);
    if (outcome.kind !== 'declined') continue;
    assert.equal([outcome.code, outcome.message], [code, message], paymentMethod);
    assert.is(standIn.intent(outcome.pspReference ?? '')?.status, 'requires_payment_method', paymentMethod);
  }
  assert.is(standIn.totalCharges, charges);
});

test('a decline is replayed as the same decline for the same key: asking again never turns it into a charge', async ({
  standIn,
  gateway,
}) => {
  const request = chargeRequest({ paymentMethod: 'pm_card_chargeDeclined' });
  const first = await gateway.charge(request);
  const again = await gateway.charge(request);
  assert.equal(again, first);
  assert.is(standIn.chargesFor(request.idempotencyKey), 0);
  assert.is(standIn.requests.at(-1)?.fate, 'replayed');
});

test('reset after the charge: the SDK retries once with the same key and gets the same intent; one charge', async ({
  standIn,
  gateway,
}) => {
  const request = chargeRequest();
  standIn.configure({ resetAfterCharge: 1 });
  const outcome = await gateway.charge(request);
  assert.is(outcome.kind, 'captured');
  assert.is(standIn.chargesFor(request.idempotencyKey), 1);
  assert.is(outcome.kind === 'captured' && outcome.pspReference, standIn.charges.at(-1)?.intentId);
  const calls = standIn.requests.filter((r) => r.idempotencyKey === request.idempotencyKey);
  assert.equal(
    calls.map((r) => [r.fate, r.reset]),
    [
      ['charged', true],
      ['replayed', false],
    ],
  );
});

const faults = [
  {
    name: 'reset after the charge, twice: transient (outcome unknown)',
    fault: { resetAfterCharge: 2 },
    message: /socket hang up|ECONNRESET|connection/i,
    charged: 1,
  },
  {
    name: '500: transient, the SDK does not retry by itself, nothing charged',
    fault: { fail500: 1 },
    message: /HTTP 500/,
    charged: 0,
  },
];
for (const { name, fault, message, charged } of faults) {
  test(`${name}; the retry with the same key finds or makes the one charge`, async ({ standIn, gateway }) => {
    const request = chargeRequest();
    standIn.configure(fault);
    const error = await rejection(gateway.charge(request), TransientGatewayError);
    assert.match(error.message, message);
    assert.is(standIn.requests.filter((r) => r.idempotencyKey === request.idempotencyKey).length, 1 + charged);
    assert.is(standIn.chargesFor(request.idempotencyKey), charged, 'charged or not, the ledger could not know');
    await assertRetryFindsTheCharge(standIn, gateway, request);
  });
}

test('409: a concurrent call with the same key while the first executes is transient; one charge, one intent', async ({
  standIn,
  gateway,
}) => {
  const request = chargeRequest();
  standIn.configure({ latencyMs: 150 });
  const results = await Promise.allSettled([gateway.charge(request), gateway.charge(request), gateway.charge(request)]);
  const captured = results.filter((r) => r.status === 'fulfilled');
  const failed = results.flatMap((r) => (r.status === 'rejected' ? [r.reason as Error] : []));
  assert.is(captured.length, 1);
  assert.is(failed.length, 2);
  for (const error of failed) {
    assert.instance(error, TransientGatewayError);
    assert.match(error.message, /HTTP 409/);
  }
  assert.is(standIn.chargesFor(request.idempotencyKey), 1);
  const retried = await gateway.charge(request);
  assert.equal(retried, (captured[0] as PromiseFulfilledResult<unknown>).value);
});

test('429 at the concurrency limit: transient; queued calls instead all complete, never beyond the limit', async ({
  standIn,
  gateway,
}) => {
  standIn.configure({ latencyMs: 60, concurrencyLimit: 2, overLimit: 'reject' });
  const rejected = await Promise.allSettled([1, 2, 3, 4].map(() => gateway.charge(chargeRequest())));
  const limited = rejected.flatMap((r) => (r.status === 'rejected' ? [r.reason as Error] : []));
  assert.is(limited.length, 2);
  for (const error of limited) assert.match(error.message, /HTTP 429/);
  for (const error of limited) assert.instance(error, TransientGatewayError);

  standIn.configure({ overLimit: 'queue' });
  standIn.peakConcurrency = 0;
  const queued = await Promise.all([1, 2, 3, 4, 5].map(() => gateway.charge(chargeRequest())));
  assert.ok(queued.every((outcome) => outcome.kind === 'captured'));
  assert.is(standIn.peakConcurrency, 2);
});

test('the same key with other parameters: permanent idempotency_error, the first charge stands alone', async ({
  standIn,
  gateway,
}) => {
  const request = chargeRequest();
  await gateway.charge(request);
  const error = await rejection(gateway.charge({ ...request, amount: request.amount + 1 }), PermanentGatewayError);
  assert.is(error.code, 'idempotency_error');
  assert.is(standIn.chargesFor(request.idempotencyKey), 1);
});

test('an invalid request (unknown payment method) is permanent and charges nothing', async ({ standIn, gateway }) => {
  const request = chargeRequest({ paymentMethod: 'pm_no_such_method' });
  const error = await rejection(gateway.charge(request), PermanentGatewayError);
  assert.is(error.code, 'resource_missing');
  assert.is(standIn.chargesFor(request.idempotencyKey), 0);
});

test('a wrong API key is permanent, and no key appears in the error even when the PSP quotes it', async ({
  standIn,
}) => {
  const wrongKey = 'sk_live_51WrongKeyAbCdEfGhIjKlMnOp';
  standIn.configure({ echoApiKey: true });
  const error = await rejection(
    gatewayFor(standIn.url, { apiKey: wrongKey }).charge(chargeRequest()),
    PermanentGatewayError,
  );
  assert.is(error.code, 'authentication');
  assert.match(error.message, /sk_live_\*\*\*/);
  const everything = `${error.message} ${error.stack ?? ''} ${JSON.stringify(error)}`;
  assert.not.ok(everything.includes(wrongKey.slice(8)), everything);
  assert.not.ok(everything.includes(STAND_IN_API_KEY.slice(8)), everything);
});

test('a timeout is transient though the PSP went on and charged; the retry with the same key finds that charge', async ({
  standIn,
}) => {
  const request = chargeRequest();
  standIn.configure({ latencyMs: 400 });
  const error = await rejection(gatewayFor(standIn.url, { timeoutMs: 100 }).charge(request), TransientGatewayError);
  assert.match(error.message, /timeout/i);
  await new Promise((resolve) => setTimeout(resolve, 450));
  assert.is(standIn.chargesFor(request.idempotencyKey), 1);
  standIn.configure({ latencyMs: 0 });
  await assertRetryFindsTheCharge(standIn, gatewayFor(standIn.url), request);
});

test('an intent still processing is not an outcome: transient until a retrieve sees it succeed', async ({
  standIn,
  gateway,
}) => {
  const request = chargeRequest({ paymentMethod: 'pm_standin_processing' });
  standIn.configure({ settleMs: 300 });
  const error = await rejection(gateway.charge(request), TransientGatewayError);
  assert.match(error.message, /still processing/);
  await standIn.settled();
  const outcome = await gateway.charge(request);
  assert.is(outcome.kind, 'captured');
  assert.is(standIn.chargesFor(request.idempotencyKey), 1);
  const calls = standIn.requests.filter((r) => r.fate === 'retrieved').length;
  assert.ok(calls >= 2, 'each answer of processing was followed by a retrieve');
});

test('an aborted call and an unreachable PSP are transient', async ({ gateway }) => {
  const controller = new AbortController();
  controller.abort();
  await rejection(gateway.charge(chargeRequest(), controller.signal), TransientGatewayError);

  const probe = createServer().listen(0, '127.0.0.1');
  await once(probe, 'listening');
  const { port } = probe.address() as { port: number };
  probe.close();
  await rejection(gatewayFor(`http://127.0.0.1:${port}`).charge(chargeRequest()), TransientGatewayError);
});

test.run();
