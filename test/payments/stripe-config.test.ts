/** The Stripe settings: where the API is (turned into the SDK's host/port/protocol) and what a key must look like. */
import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import { ConfigError, ConfigSchema } from '../../src/config.ts';
import { gatewayFromConfig } from '../../src/payments/gateway-from-config.ts';
import { StripeApiBaseSchema } from '../../src/payments/stripe-config.ts';

const test = suite('payments: Stripe configuration');
const KEY = 'sk_test_51AbCdEfGhIjKlMnOp';

test('STRIPE_API_BASE becomes the SDK options; the default is api.stripe.com over https', () => {
  assert.equal(StripeApiBaseSchema.parse('http://127.0.0.1:12111'), {
    host: '127.0.0.1',
    port: 12111,
    protocol: 'http',
  });
  assert.equal(StripeApiBaseSchema.parse('https://stripe.internal/'), {
    host: 'stripe.internal',
    port: 443,
    protocol: 'https',
  });
  assert.equal(StripeApiBaseSchema.parse('http://[::1]:8080'), { host: '::1', port: 8080, protocol: 'http' });
  assert.equal(ConfigSchema.parse({ STRIPE_API_KEY: KEY }).STRIPE_API_BASE, {
    host: 'api.stripe.com',
    port: 443,
    protocol: 'https',
  });
});

test('STRIPE_API_BASE with a path, a query, userinfo or another scheme is refused', () => {
  for (const base of ['http://127.0.0.1:12111/v1', 'https://h?x=1', 'https://u:p@h', 'ftp://h', 'not a url', '']) {
    assert.not.ok(StripeApiBaseSchema.safeParse(base).success, base);
  }
});

test('keys: secret or restricted keys only; issues never quote the value', () => {
  for (const key of [KEY, 'sk_live_51AbCdEfGhIjKlMnOp', 'rk_live_51AbCdEfGhIjKlMnOp']) {
    assert.ok(ConfigSchema.safeParse({ STRIPE_API_KEY: key }).success, key);
  }
  for (const key of ['pk_live_51AbCdEfGhIjKlMnOp', 'sk_test_', 'sk_test_short', 'hunter2hunter2hunter2']) {
    const result = ConfigSchema.safeParse({ STRIPE_API_KEY: key });
    assert.not.ok(result.success, key);
    // (a bare prefix is quoted by the message itself, as an example of the expected shape)
    if (key !== 'sk_test_') assert.not.ok(JSON.stringify(result.error?.issues).includes(key), key);
  }
  const webhook = ConfigSchema.safeParse({
    STRIPE_API_KEY: KEY,
    STRIPE_WEBHOOK_SECRET: 'whsec_0123456789abcdef',
  });
  assert.ok(webhook.success);
  assert.not.ok(ConfigSchema.safeParse({ STRIPE_API_KEY: KEY, STRIPE_WEBHOOK_SECRET: 'secret' }).success);
});

test('LEDGER_PSP=stripe: without STRIPE_API_KEY the start-up stops; with it the gateway is Stripe', async () => {
  const without = ConfigSchema.parse({ LEDGER_PSP: 'stripe' });
  const refused = await gatewayFromConfig(without).then(
    () => undefined,
    (error: unknown) => error,
  );
  assert.instance(refused, ConfigError);
  assert.match(String(refused), /STRIPE_API_KEY/);
  const config = ConfigSchema.parse({
    LEDGER_PSP: 'stripe',
    STRIPE_API_KEY: KEY,
    STRIPE_API_BASE: 'http://127.0.0.1:1',
  });
  assert.is((await gatewayFromConfig(config))?.name, 'stripe');
  assert.is(await gatewayFromConfig(ConfigSchema.parse({})), undefined);
});

test.run();
