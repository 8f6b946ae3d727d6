/**
 * The checker's rules on hand-made facts: the cases a SQLite file's own constraints make hard
 * to produce (a repeated event id, a second OrderCreated), the --as-of prefix rule, and the cap
 * on listed findings.
 */
import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import { createChecker } from '../../src/audit/checker.ts';
import { packFacts, unpackFacts, type EventFacts, type FactEvent } from '../../src/audit/facts.ts';

const test = suite('audit checker');

let position = 0n;
const heads = new Map<string, { revision: bigint; hash: string }>();

/** A well-formed event at the stream's next revision, chained to the previous one. */
function fact(stream: string, event: FactEvent, overrides: Partial<EventFacts> = {}): EventFacts {
  const head = heads.get(stream);
  const revision = head ? head.revision + 1n : 0n;
  position += 1n;
  const hash = position.toString(16).padStart(64, '0');
  heads.set(stream, { revision, hash });
  const at = { id: `id-${position}`, stream, revision, position, time: Number(position) * 1_000 };
  return { ...at, hash, prevHash: head?.hash ?? '', hashValid: true, contentHash: hash, event, ...overrides };
}

/** What an unreadable record's facts hold besides its place: nothing. */
const UNREADABLE = { id: '', hash: '', hashValid: false, contentHash: '' } as const;

const created = (orderId: string, total = 100, currency = 'EUR'): FactEvent => ({ type: 'OrderCreated', orderId, currency, total, linesTotal: total });
const captured = (orderId: string, paymentId: string, amount: number, currency = 'EUR'): FactEvent => ({ type: 'PaymentCaptured', orderId, paymentId, amount, currency });

function codes(checker: ReturnType<typeof createChecker>) {
  return checker.finish().findings.listed.map((f) => `${f.code}@${f.stream}:${f.revision}`);
}

test('an event id used twice: duplicate-event-id at the second', () => {
  const checker = createChecker();
  checker.visit(fact('order-a', created('a')));
  checker.visit(fact('order-b', created('b'), { id: 'id-1' }));
  assert.equal(codes(checker), ['duplicate-event-id@order-b:0']);
});

test('a second OrderCreated in a stream: order-created-again', () => {
  const checker = createChecker();
  checker.visit(fact('order-c', created('c')));
  checker.visit(fact('order-c', created('c')));
  assert.equal(codes(checker), ['order-created-again@order-c:1']);
});

test('an event in the wrong stream: order-id-mismatch', () => {
  const checker = createChecker();
  checker.visit(fact('order-d', created('d')));
  checker.visit(fact('order-d', captured('other', 'p1', 10)));
  assert.equal(codes(checker), ['order-id-mismatch@order-d:1']);
});

test('payments in a stream without OrderCreated: said once for the stream', () => {
  const checker = createChecker();
  checker.visit(fact('order-e', captured('e', 'p1', 10)));
  checker.visit(fact('order-e', captured('e', 'p2', 10)));
  assert.equal(codes(checker), ['stream-not-created@order-e:0']);
  // Counted anyway: the log says the money moved.
  assert.is(checker.finish().currencies.EUR?.captured, '20');
});

test('over-captured is reported when the total is first passed, not again for each later capture', () => {
  const checker = createChecker();
  checker.visit(fact('order-f', created('f', 100)));
  checker.visit(fact('order-f', captured('f', 'p1', 90)));
  checker.visit(fact('order-f', captured('f', 'p2', 20)));
  checker.visit(fact('order-f', captured('f', 'p3', 5)));
  assert.equal(codes(checker), ['over-captured@order-f:2']);
});

test('--as-of keeps each stream a prefix: once past the instant, a stream takes no later event', () => {
  const checker = createChecker({ asOf: 2_500 });
  checker.visit(fact('order-g', created('g'), { time: 1_000 }));
  checker.visit(fact('order-g', captured('g', 'p1', 10), { time: 3_000 }));
  // Recorded "earlier" than its predecessor (a clock step back): still after the cut in this stream.
  checker.visit(fact('order-g', captured('g', 'p2', 10), { time: 2_000 }));
  const result = checker.finish();
  assert.is(result.counts.events, 1);
  assert.is(result.counts.eventsAfterAsOf, 2);
  assert.equal(result.counts.orders, { pending: 1, partially_paid: 0, paid: 0 });
  assert.is(result.findings.total, 0);
});

test("the digest depends on every event's recomputed content hash, even where the stored hashes are unchanged", () => {
  const first = fact('order-j', created('j'));
  const second = fact('order-j', captured('j', 'p1', 10));
  const digestOf = (...facts: EventFacts[]) => {
    const checker = createChecker();
    for (const f of facts) checker.visit(f);
    return checker.finish().digest;
  };
  const clean = digestOf(first, second);
  assert.is(digestOf(first, second), clean, 'the same log, the same digest');
  // Not the head, and its stored hash untouched: only its content changed.
  assert.is.not(digestOf({ ...first, contentHash: 'e'.repeat(64), hashValid: false }, second), clean);
});

test('an unreadable record: record-unreadable, once; the event after it is not blamed for its link', () => {
  const checker = createChecker();
  checker.visit(fact('order-u', created('u')));
  const unreadable: FactEvent = { type: 'unreadable', problem: 'data is not JSON' };
  checker.visit(fact('order-u', unreadable, { ...UNREADABLE, revision: '"one"' }));
  checker.visit(fact('order-u', captured('u', 'p2', 10), { prevHash: 'a'.repeat(64) }));
  assert.equal(codes(checker), ['record-unreadable@order-u:"one"']);
});

test('the digest depends on every stream head and not on the order streams were seen in', () => {
  const a = createChecker();
  const b = createChecker();
  const one = fact('order-h', created('h'));
  const two = fact('order-i', created('i'));
  a.visit(one);
  a.visit(two);
  b.visit(two);
  b.visit(one);
  assert.is(a.finish().digest, b.finish().digest);
  const c = createChecker();
  c.visit(one);
  c.visit({ ...two, hash: 'f'.repeat(64) });
  assert.is.not(c.finish().digest, a.finish().digest);
});

test('listed findings are capped; the counts still cover all of them', () => {
  const checker = createChecker({ maxListedFindings: 3 });
  for (let i = 0; i < 10; i++) checker.visit(fact(`order-x${i}`, captured(`x${i}`, 'p', 1)));
  const { findings } = checker.finish();
  assert.is(findings.total, 10);
  assert.is(findings.listed.length, 3);
  assert.ok(findings.truncated);
  assert.equal(findings.byCode, { 'stream-not-created': 10 });
});

test('facts survive the trip between threads unchanged, whatever their kind', () => {
  const kinds: EventFacts[] = [
    fact('order-p', created('p', 5)),
    { ...fact('order-p', captured('p', 'p1', 5)), position: 2n ** 60n },
    fact('order-q', { type: 'invalid', problem: 'data.amount: too small' }, { hashValid: false, hash: '' }),
    fact('order-r', { type: 'OrderCreated', orderId: 'r', currency: 'JPY', total: 1, linesTotal: undefined }),
    fact('order-s', { type: 'unreadable', problem: 'revision is "one"' }, { ...UNREADABLE, revision: '"one"' }),
    fact('order-s', { type: 'unreadable', problem: 'data is not JSON' }, { ...UNREADABLE, time: Number.NaN }),
  ];
  for (const f of kinds) assert.equal(unpackFacts(packFacts(f)), f);
});

test.run();
