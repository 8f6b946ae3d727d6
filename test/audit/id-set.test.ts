import fc from 'fast-check';
import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import { IdSet } from '../../src/audit/id-set.ts';

const test = suite('IdSet');

test('answers exactly as a Set of strings would, for UUIDs and anything else', () => {
  const id = fc.oneof(
    fc.uuid(),
    fc.string({ maxLength: 40 }),
    fc.constantFrom(
      '00000000-0000-0000-0000-000000000000',
      'A0000000-0000-4000-8000-000000000000',
      'a0000000-0000-4000-8000-000000000000',
    ),
  );
  fc.assert(
    fc.property(fc.array(id, { maxLength: 3_000 }), (ids) => {
      const packed = new IdSet();
      const plain = new Set<string>();
      for (const value of ids) {
        assert.is(packed.add(value), !plain.has(value));
        plain.add(value);
      }
      assert.is(packed.size, plain.size);
    }),
    { numRuns: 60 },
  );
});

test('keeps every id across many growths', () => {
  const packed = new IdSet();
  const ids = Array.from(
    { length: 50_000 },
    (_, i) => `${i.toString(16).padStart(8, '0')}-0000-4000-8000-${(i * 7919).toString(16).padStart(12, '0')}`,
  );
  for (const id of ids) assert.ok(packed.add(id));
  for (const id of ids) assert.not.ok(packed.add(id));
  assert.is(packed.size, ids.length);
});

test.run();
