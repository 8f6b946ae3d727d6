/**
 * Event ids are stored facts: a retried command is recognised only if it derives the very same
 * ids. The codec computes UUID v5 for ASCII names itself (for speed); it must agree with the
 * uuid package bit for bit, and leave every other name to the package.
 */
import fc from 'fast-check';
import { v5 as uuidv5 } from 'uuid';
import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import { deterministicEventId } from '../../src/events/codec.ts';

const NAMESPACE = '3f0c1a52-8f0e-4c8a-9d67-0b6b1f4f3a10';
const viaPackage = (streamId: string, scope: string, digest: string, index: number): string | Error => {
  try {
    return uuidv5(`${streamId}|${scope}|${digest}|${index}`, NAMESPACE);
  } catch (error) {
    return error as Error;
  }
};
const viaCodec = (streamId: string, scope: string, digest: string, index: number): string | Error => {
  try {
    return deterministicEventId(streamId, scope, digest, index);
  } catch (error) {
    return error as Error;
  }
};

const test = suite('event ids');

test('a known id stays the same (ids already stored must be derived again)', () => {
  assert.is(
    deterministicEventId('order-o-1', 'payment:p-1', 'a'.repeat(64), 0),
    '9332ee50-043e-5b94-b737-5003d7f444cb',
  );
});

test('the same ids as the uuid package, for any name (ASCII, Unicode, lone surrogates)', () => {
  const text = fc.oneof(
    fc.string(),
    fc.string({ unit: 'binary' }),
    fc.string({ unit: 'grapheme' }),
    fc.constantFrom('\ud800', 'a\udfff', '\u00e9'),
  );
  fc.assert(
    fc.property(
      text,
      text,
      fc.oneof(fc.string(), fc.stringMatching(/^[0-9a-f]{64}$/)),
      fc.nat(1_000),
      (stream, scope, digest, index) => {
        const expected = viaPackage(stream, scope, digest, index);
        const actual = viaCodec(stream, scope, digest, index);
        if (expected instanceof Error) assert.instance(actual, expected.constructor as new () => Error);
        else assert.is(actual, expected);
      },
    ),
    { numRuns: 5_000 },
  );
});

test.run();
