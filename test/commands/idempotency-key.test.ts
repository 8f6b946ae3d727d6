import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import {
  legacyDerivedOrderId as derivedOrderId,
  legacyDerivedPaymentId as derivedPaymentId,
} from '../../src/commands/derived-ids.ts';
import { legacyRequestHash, parseIdempotencyKey, requestFingerprint } from '../../src/commands/idempotency-key.ts';
import { createSingleFlight } from '../../src/commands/single-flight.ts';
import { EntityId } from '../../src/domain/ids.ts';

const test = suite('idempotency keys, fingerprints, derived ids');

test('keys: bare or quoted structured-field strings of 1-255 printable ASCII characters', () => {
  const key = (...values: string[]) => parseIdempotencyKey(values);
  assert.equal(key(), { kind: 'absent' });
  assert.equal(key('abc-123'), { kind: 'key', key: 'abc-123' });
  assert.equal(key('"abc-123"'), { kind: 'key', key: 'abc-123' }, 'quoted is the same key as bare');
  assert.equal(key('"a \\"quoted\\" \\\\ key"'), { kind: 'key', key: 'a "quoted" \\ key' });
  assert.equal(key('  padded  '), { kind: 'key', key: 'padded' });
  assert.equal(key('~'.repeat(255)), { kind: 'key', key: '~'.repeat(255) });
  assert.equal(
    key(`"${'a'.repeat(255)}"`),
    { kind: 'key', key: 'a'.repeat(255) },
    'the limit is on the key, not the quotes',
  );
  for (const bad of ['', '""', 'k'.repeat(256), 'clé', 'tab\there', '"open', '"a"b', '"a\\nb"', '"a";p=1']) {
    assert.is(key(bad).kind, 'invalid', JSON.stringify(bad));
  }
  assert.is(key('a', 'b').kind, 'invalid', 'two header lines');
});

test('fingerprint: canonical (key order and spacing do not matter), and bound to method, route and path parameters', () => {
  const base = {
    method: 'POST',
    route: '/orders/:orderId',
    params: { orderId: 'a' },
    body: { a: 1, b: [1, 2], c: { x: 'y' } },
  };
  const of = (input: typeof base) => requestFingerprint(input).fingerprint;
  const fingerprint = of(base);
  assert.match(fingerprint, /^[0-9a-f]{64}$/);
  assert.is(of({ ...base, body: { c: { x: 'y' }, b: [1, 2], a: 1 } }), fingerprint);
  assert.is(of({ ...base, method: 'post' }), fingerprint);
  assert.is.not(of({ ...base, body: { ...base.body, b: [2, 1] } }), fingerprint);
  assert.is.not(of({ ...base, route: '/orders/:orderId/payments' }), fingerprint);
  assert.is.not(of({ ...base, method: 'PUT' }), fingerprint);
  assert.is.not(of({ ...base, params: { orderId: 'b' } }), fingerprint);
  assert.is(
    requestFingerprint({ ...base, body: { c: { x: 'y' }, b: [1, 2], a: 1 } }).bodyHash,
    requestFingerprint(base).bodyHash,
  );
});

test('legacy request hash: the 0.1.0 formula (method, route, body), stable for the stored fixture', () => {
  const body = { customerId: 'cust-a', currency: 'EUR', lines: [{ sku: 'SKU-1', quantity: 2, unitPrice: 1500 }] };
  const hash = legacyRequestHash({ method: 'put', route: '/orders/:orderId', body });
  assert.is(
    hash,
    legacyRequestHash({
      method: 'PUT',
      route: '/orders/:orderId',
      body: { lines: body.lines, currency: 'EUR', customerId: 'cust-a' },
    }),
  );
  assert.is.not(
    hash,
    requestFingerprint({ method: 'PUT', route: '/orders/:orderId', params: { orderId: 'fx-put-1' }, body }).fingerprint,
  );
});

test('legacy derived ids (0.1.0): stable, valid entity ids, scoped to client, order and route', () => {
  const order = derivedOrderId('alice', 'k');
  assert.is(derivedOrderId('alice', 'k'), order);
  assert.ok(EntityId.safeParse(order).success);
  assert.is.not(derivedOrderId('bob', 'k'), order);
  assert.is.not(derivedOrderId('alice', 'k2'), order);
  // Parts are kept apart: ("a:b", "c") and ("a", "b:c") are different scopes.
  assert.is.not(derivedOrderId('a:b', 'c'), derivedOrderId('a', 'b:c'));
  const payment = derivedPaymentId('alice', 'o-1', 'k');
  assert.ok(EntityId.safeParse(payment).success);
  assert.is.not(derivedPaymentId('alice', 'o-2', 'k'), payment);
  assert.is.not(derivedPaymentId('bob', 'o-1', 'k'), payment);
  assert.is.not(payment, order, 'routes have their own namespaces');
});

test('single-flight: overlapping identical work runs once; later work runs again; failures are shared, not cached', async () => {
  const flight = createSingleFlight<number>();
  let runs = 0;
  const work = async () => {
    runs += 1;
    await new Promise((resolve) => setTimeout(resolve, 10));
    return runs;
  };
  const results = await Promise.all([flight.run('k', work), flight.run('k', work), flight.run('other', work)]);
  assert.is(runs, 2);
  assert.equal(
    results.map((r) => r.shared),
    [false, true, false],
  );
  assert.is(results[0]!.value, results[1]!.value);
  await flight.run('k', work);
  assert.is(runs, 3);
  const failing = () => Promise.reject(new Error('no'));
  const failures = await Promise.allSettled([flight.run('f', failing), flight.run('f', failing)]);
  assert.ok(failures.every((f) => f.status === 'rejected'));
  assert.is((await flight.run('f', async () => 7)).value, 7);
});

test.run();
