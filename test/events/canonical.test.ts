import { createRequire } from 'node:module';
import fc from 'fast-check';
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { canonicalJson } from '../../src/events/canonical.ts';

// The reference: the package the ledger's hashes were first computed with.
const reference = createRequire(import.meta.url)('canonicalize') as (value: unknown) => string | undefined;

test('the same bytes as the canonicalize package on any JSON value', () => {
  fc.assert(
    fc.property(fc.jsonValue(), (value) => {
      assert.is(canonicalJson(value), reference(value));
    }),
    { numRuns: 2_000 },
  );
});

test('the same bytes on values a writer builds: undefined members, dates, sparse and odd strings', () => {
  const values = fc.letrec((tie) => ({
    value: fc.oneof(
      { depthSize: 'small' },
      fc.string({ unit: 'binary' }),
      fc.double({ noNaN: true, noDefaultInfinity: true }),
      fc.integer(),
      fc.boolean(),
      fc.constant(null),
      fc.date({ noInvalidDate: true }),
      fc.array(fc.oneof(tie('value'), fc.constant(undefined))),
      fc.dictionary(fc.string({ unit: 'binary' }), fc.oneof(tie('value'), fc.constant(undefined))),
    ),
  })).value;
  fc.assert(
    fc.property(fc.dictionary(fc.string(), values), (value) => {
      assert.is(canonicalJson(value), reference(value));
    }),
    { numRuns: 2_000 },
  );
});

test('what has no canonical form is refused, as before', () => {
  assert.throws(() => canonicalJson(Number.NaN), /NaN/);
  assert.throws(() => canonicalJson({ a: Number.POSITIVE_INFINITY }), /Infinity/);
  assert.throws(() => canonicalJson(undefined), TypeError);
  assert.throws(() => canonicalJson({ a: 1n }), TypeError);
  assert.is(canonicalJson({ b: 1, a: [undefined, 'x'], c: undefined }), '{"a":[null,"x"],"b":1}');
});

test.run();
