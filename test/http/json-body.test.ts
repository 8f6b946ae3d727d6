/** The body parser: what JSON.parse gives for ordinary JSON, a refusal where it would silently lose something. */
import fc from 'fast-check';
import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import { parseJsonBody } from '../../src/http/json-body.ts';
import { Problem } from '../../src/http/problem.ts';

const test = suite('http: JSON body parser');

function refusal(text: string): { slug: string; path: string | undefined } | undefined {
  try {
    parseJsonBody(text);
    return undefined;
  } catch (error) {
    assert.instance(error, Problem);
    const problem = error as Problem;
    return { slug: problem.slug, path: problem.extras.errors?.[0]?.path };
  }
}

const safeIntegersOnly = (_key: string, v: unknown) => (Number.isInteger(v) && !Number.isSafeInteger(v) ? 0 : v);

/** JSON values without the keys and numbers the parser refuses by design. */
const ordinary = fc
  .jsonValue()
  .filter((value) => !/"__proto__"|"prototype"/.test(JSON.stringify(value)))
  .map((value) => JSON.parse(JSON.stringify(value, safeIntegersOnly)));

test('ordinary JSON parses exactly as JSON.parse does, compact or pretty-printed', () => {
  fc.assert(
    fc.property(ordinary, fc.boolean(), (value, pretty) => {
      const text = JSON.stringify(value, null, pretty ? 2 : undefined);
      assert.equal(parseJsonBody(text), JSON.parse(text));
    }),
    { numRuns: 500 },
  );
});

test('duplicate keys anywhere are refused with the path of the second one', () => {
  assert.equal(refusal('{"a":1,"a":1}'), { slug: 'validation-failed', path: 'body.a' });
  assert.equal(refusal('{"a":{"b":[1,{"c":1,"d":2,"c":3}]}}'), { slug: 'validation-failed', path: 'body.a.b[1].c' });
  assert.equal(refusal('{"k\\u00e9":1,"ké":2}'), { slug: 'validation-failed', path: 'body.ké' });
  assert.equal(
    refusal(String.raw`{"x":"\\","y":"\"","x":1}`),
    { slug: 'validation-failed', path: 'body.x' },
    'escapes end right',
  );
  assert.equal(refusal(String.raw`{"a\\":1,"a\\":2}`), { slug: 'validation-failed', path: 'body.a\\' });
  assert.equal(refusal('[{"a":1},{"a":1}]'), undefined, 'equal keys in sibling objects are fine');
  assert.equal(refusal('[{},"",{"a":{}},"a"]'), undefined, 'strings after a closed object are values');
  assert.equal(refusal('{"a":"\\"a\\":1","b":{"a":1}}'), undefined, 'a key-like string value is not a key');
});

test('numbers: refused when parsing would change them unseen, kept otherwise', () => {
  for (const kept of ['1', '-0', '1.0', '1.50e1', '1e3', '0.5', '-12.25', '9007199254740991', '1e400', '123.456e-2']) {
    assert.is(refusal(`{"n":${kept}}`), undefined, kept);
  }
  const refusedNumbers = [
    '4503599627370497.5',
    '9007199254740993',
    '1e16',
    '-9007199254740992',
    '1e-400',
    '1000000000.00000001',
  ];
  for (const refused of refusedNumbers) {
    assert.equal(refusal(`{"n":${refused}}`), { slug: 'validation-failed', path: 'body.n' }, refused);
  }
});

test('pollution keys and bad text are malformed-json', () => {
  const pollution = ['{"__proto__":{}}', '{"a":[{"__proto__":1}]}', '{"constructor":{"prototype":{}}}'];
  for (const text of [...pollution, '', '  ', '{', '{"a":1}x', 'NaN']) {
    assert.is(refusal(text)?.slug, 'malformed-json', JSON.stringify(text));
  }
  assert.is(refusal('{"constructor":{"name":"x"}}'), undefined, 'a constructor key alone is data');
});

test.run();
