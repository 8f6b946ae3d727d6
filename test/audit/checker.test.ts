/**
 * The checker's rules on hand-made facts: the cases a SQLite file's own constraints make hard
 * to produce (a repeated event id, a second OrderCreated), the --as-of prefix rule, and the cap
 * on listed findings.
 */
import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import { noOrderCounts } from '../../projections/order-status.ts';
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

const unkeyed = { clientId: 'alice', requestHash: 'h'.repeat(64), keyBinding: '', keyed: false };
const created = (orderId: string, total = 100, currency = 'EUR'): FactEvent => ({
  type: 'OrderCreated',
  orderId,
  currency,
  total,
  linesTotal: total,
  ...unkeyed,
});
const captured = (orderId: string, paymentId: string, amount: number, currency = 'EUR'): FactEvent => ({
  type: 'PaymentCaptured',
  orderId,
  paymentId,
  amount,
  currency,
  pspReference: '',
  ...unkeyed,
});

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

test('amounts at 2^53 − 1: the over-capture is named exactly, and the sums stay exact', () => {
  const max = Number.MAX_SAFE_INTEGER;
  const checker = createChecker();
  checker.visit(fact('order-m', created('m', max)));
  checker.visit(fact('order-m', captured('m', 'p1', max)));
  checker.visit(fact('order-m', captured('m', 'p2', 2)));
  const result = checker.finish();
  const over = String(2n ** 53n + 1n);
  assert.equal(
    result.findings.listed.map((f) => f.message),
    [`captured ${over} exceeds the order total ${max}`],
  );
  assert.equal(result.currencies.EUR, {
    ordered: String(max),
    captured: over,
    refunded: '0',
    net: over,
    orders: 1,
    payments: 2,
    refunds: 0,
  });
  assert.equal(result.counts.orders, { ...noOrderCounts(), paid: 1 });
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
  assert.equal(result.counts.orders, { ...noOrderCounts(), pending: 1 });
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
    fact('order-r', {
      type: 'OrderCreated',
      orderId: 'r',
      currency: 'JPY',
      total: 1,
      linesTotal: undefined,
      ...unkeyed,
    }),
    fact('idempotency-k', bound('r', '', 'order-r', 'id-9')),
    fact('order-s', { type: 'unreadable', problem: 'revision is "one"' }, { ...UNREADABLE, revision: '"one"' }),
    fact('order-s', { type: 'unreadable', problem: 'data is not JSON' }, { ...UNREADABLE, time: Number.NaN }),
    fact('order-t', {
      type: 'PaymentAuthorized',
      orderId: 't',
      paymentId: 'a1',
      amount: 7,
      currency: 'EUR',
      ...unkeyed,
    }),
    fact('order-t', { type: 'AuthorizationVoided', orderId: 't', paymentId: 'a1', ...unkeyed }),
    fact('order-t', { type: 'PaymentRefunded', orderId: 't', paymentId: 'p1', refundId: 'r1', amount: 3, ...unkeyed }),
    fact('order-t', { type: 'OrderCancelled', orderId: 't', ...unkeyed }),
  ];
  for (const f of kinds) assert.equal(unpackFacts(packFacts(f)), f);
});

const keyStream = (n: number) => `idempotency-${n.toString(16).padStart(64, '0')}`;
const KEY = keyStream(1);
const bound = (
  orderId: string,
  paymentId: string,
  effectStream: string,
  effectEventId: string,
  requestHash = 'r'.repeat(64),
): FactEvent => ({
  type: 'KeyBound',
  clientId: 'alice',
  orderId,
  paymentId,
  effectStream,
  effectEventId,
  effectRequestHash: requestHash,
});
const underKey = (event: FactEvent, overrides: Partial<typeof unkeyed> = {}): FactEvent =>
  ({
    ...event,
    ...unkeyed,
    keyed: true,
    keyBinding: KEY,
    requestHash: 'r'.repeat(64),
    ...overrides,
  }) as FactEvent;

test('a key binding and the effect it names, written together: clean, nothing pending', () => {
  const checker = createChecker();
  checker.visit(fact(KEY, bound('k1', '', 'order-k1', 'effect-1')));
  checker.visit(fact('order-k1', underKey(created('k1')), { id: 'effect-1' }));
  const result = checker.finish();
  assert.equal(codes(checker), []);
  assert.equal(result.keys, { bindings: 1, pending: 0, legacyKeyedEvents: 0 });
});

test('a binding whose effect differs from what it records: binding-mismatch at the effect', () => {
  const checker = createChecker();
  checker.visit(fact(keyStream(2), bound('k2', 'p-1', 'order-k2', 'effect-2')));
  checker.visit(fact('order-k2', created('k2', 500)));
  checker.visit(
    fact('order-k2', underKey(captured('k2', 'p-1', 5), { requestHash: 'x'.repeat(64), keyBinding: keyStream(2) }), {
      id: 'effect-2',
    }),
  );
  assert.equal(codes(checker), ['binding-mismatch@order-k2:1']);
});

test('a binding whose effect is not in the log: pending, not a finding', () => {
  const checker = createChecker();
  checker.visit(fact(keyStream(3), bound('k3', '', 'order-k3', 'effect-3')));
  const result = checker.finish();
  assert.equal(codes(checker), []);
  assert.is(result.keys.pending, 1);
});

test('an event written under a key binding that does not exist: key-unbound', () => {
  const checker = createChecker();
  checker.visit(fact('order-k4', underKey(created('k4'))));
  assert.equal(codes(checker), ['key-unbound@order-k4:0']);
});

test('a decision of several events under one binding (voids, then the cancellation it names): clean', () => {
  const checker = createChecker();
  const under = { keyBinding: keyStream(7) };
  checker.visit(fact('order-k7', created('k7', 500)));
  checker.visit(
    fact('order-k7', {
      type: 'PaymentAuthorized',
      orderId: 'k7',
      paymentId: 'a1',
      amount: 100,
      currency: 'EUR',
      ...unkeyed,
    }),
  );
  checker.visit(fact(keyStream(7), bound('k7', '', 'order-k7', 'effect-7')));
  checker.visit(
    fact('order-k7', underKey({ type: 'AuthorizationVoided', orderId: 'k7', paymentId: 'a1', ...unkeyed }, under)),
  );
  checker.visit(
    fact('order-k7', underKey({ type: 'OrderCancelled', orderId: 'k7', ...unkeyed }, under), { id: 'effect-7' }),
  );
  assert.equal(codes(checker), []);
  assert.equal(checker.finish().keys.pending, 0);
});

test("an event under a pending binding whose outcome is in another stream, or another request's: key-unbound", () => {
  const checker = createChecker();
  checker.visit(fact('order-k8', created('k8', 500)));
  checker.visit(fact(keyStream(8), bound('k8', '', 'order-elsewhere', 'effect-8')));
  checker.visit(
    fact('order-k8', underKey({ type: 'OrderCancelled', orderId: 'k8', ...unkeyed }, { keyBinding: keyStream(8) })),
  );
  checker.visit(fact(keyStream(9), bound('k8', '', 'order-k8', 'effect-9')));
  const other = { keyBinding: keyStream(9), requestHash: 'x'.repeat(64) };
  checker.visit(fact('order-k8', underKey({ type: 'OrderCancelled', orderId: 'k8', ...unkeyed }, other)));
  assert.equal(
    codes(checker).filter((c) => c.startsWith('key-unbound')),
    ['key-unbound@order-k8:1', 'key-unbound@order-k8:2'],
  );
});

test('a binding written after its effect: checked against the order, its owner and its payments', () => {
  const checker = createChecker();
  checker.visit(fact('order-k5', { ...created('k5', 500), keyed: true } as FactEvent, { id: 'legacy-5' }));
  checker.visit(fact('order-k5', captured('k5', 'p-5', 5), { id: 'legacy-6' }));
  checker.visit(fact(keyStream(5), bound('k5', 'p-5', 'order-k5', 'legacy-6', 'h'.repeat(64))));
  checker.visit(fact(keyStream(6), { ...bound('k5', '', 'order-k5', 'legacy-5'), clientId: 'mallory' } as FactEvent));
  const result = checker.finish();
  assert.equal(codes(checker), [`binding-mismatch@${keyStream(6)}:0`]);
  assert.equal(result.keys, { bindings: 2, pending: 0, legacyKeyedEvents: 1 });
});

test.run();
