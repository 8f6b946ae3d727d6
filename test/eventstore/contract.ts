/**
 * The one contract every EventStore adapter passes (memory, sqlite, and EventStoreDB when a
 * server is configured). Its streams have a prefix of their own (`contract-<run>-`), never the
 * ledger's `order-`, so the suite can run against a shared, non-empty server without its events
 * looking like orders to a ledger reading the same log.
 */
import { randomUUID } from 'node:crypto';
import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import { WrongExpectedVersionError } from '../../src/eventstore/errors.ts';
import type { EventStore, EventToAppend, RecordedEvent } from '../../src/eventstore/port.ts';
import { withTimeout } from '../../src/timeout.ts';

/** Every stream the suite writes starts with this; a store that filters the log by prefix must include it. */
export const CONTRACT_STREAM_PREFIX = 'contract-';

export interface ContractOptions {
  /** EventStoreDB does not say whether an append was an idempotent no-op. */
  readonly reportsDuplicates: boolean;
  /**
   * Others may write to the same log while the suite runs (a shared server): the head is then at
   * or past the suite's last event, not on it. Otherwise the head must be exactly that event.
   */
  readonly sharedLog?: boolean;
  /** Runs once after the whole suite (e.g. to stop the server it ran against). */
  readonly after?: () => Promise<void>;
}

export function runEventStoreContract(
  name: string,
  open: () => Promise<EventStore>,
  close: (store: EventStore) => Promise<void> = (store) => store.close(),
  options: ContractOptions = { reportsDuplicates: true },
): void {
  const test = suite<{ store: EventStore }>(`event store contract: ${name}`);
  const run = randomUUID().slice(0, 8);
  let counter = 0;
  const streamName = () => `${CONTRACT_STREAM_PREFIX}${run}-${++counter}`;
  const event = (label: string): EventToAppend => ({
    id: randomUUID(),
    type: 'TestEvent',
    data: { label, amount: 1 },
    metadata: { note: label },
  });

  test.before.each(async (context) => {
    context.store = await open();
  });
  test.after.each(async (context) => {
    await close(context.store);
  });
  if (options.after) test.after(options.after);

  test('creates a stream with no_stream; revisions start at 0', async ({ store }) => {
    const stream = streamName();
    const result = await store.append(stream, [event('a'), event('b')], 'no_stream');
    assert.is(result.nextExpectedRevision, 1n);
    // A store that cannot tell a re-append from a fresh one says neither.
    assert.is(result.duplicate, options.reportsDuplicates ? false : undefined);
    const read = await store.readStream(stream);
    assert.equal(
      read.map((e) => e.revision),
      [0n, 1n],
    );
    assert.equal(
      read.map((e) => e.data.label),
      ['a', 'b'],
    );
    assert.equal(read[1]!.metadata, { note: 'b' });
    assert.is(read[1]!.position, result.position);
    assert.ok(read[0]!.position < read[1]!.position);
    assert.ok(read[0]!.createdAt instanceof Date);
  });

  test('revisions and positions past 9 keep their numeric order (never compared as text)', async ({ store }) => {
    const stream = streamName();
    const labels = Array.from({ length: 12 }, (_, i) => `e${i}`);
    await store.append(stream, labels.slice(0, 11).map(event), 'no_stream');
    await store.append(stream, [event(labels[11]!)], 10n);
    const read = await store.readStream(stream);
    assert.equal(
      read.map((e) => e.data.label),
      labels,
    );
    const logged = await collect(
      store.readAll({ after: (await store.readStream(stream))[0]!.position - 1n }),
      () => true,
    );
    assert.equal(
      logged.filter((e) => e.streamId === stream).map((e) => e.data.label),
      labels,
    );
    for (let i = 1; i < logged.length; i++) assert.ok(logged[i - 1]!.position < logged[i]!.position);
  });

  test('a missing stream reads as empty', async ({ store }) => {
    assert.equal(await store.readStream(streamName()), []);
  });

  test('reads a stream from a revision: that event and the ones after it, as a whole read shows them', async ({
    store,
  }) => {
    const stream = streamName();
    await store.append(stream, [event('a'), event('b'), event('c')], 'no_stream');
    await store.append(stream, [event('d')], 2n);
    const whole = await store.readStream(stream);
    assert.equal(await store.readStream(stream, { fromRevision: 0n }), whole);
    assert.equal(await store.readStream(stream, {}), whole);
    const tail = await store.readStream(stream, { fromRevision: 2n });
    assert.equal(
      tail.map((e) => [e.revision, e.data.label]),
      [
        [2n, 'c'],
        [3n, 'd'],
      ],
    );
    assert.equal(tail, whole.slice(2));
    assert.equal(await store.readStream(stream, { fromRevision: 3n }), whole.slice(3));
  });

  test('reading from past the head, or a missing stream from a revision, is empty', async ({ store }) => {
    const stream = streamName();
    await store.append(stream, [event('a'), event('b')], 'no_stream');
    assert.equal(await store.readStream(stream, { fromRevision: 2n }), []);
    assert.equal(await store.readStream(stream, { fromRevision: 1_000n }), []);
    assert.equal(await store.readStream(streamName(), { fromRevision: 1n }), []);
  });

  test('no_stream on an existing stream reports the actual revision', async ({ store }) => {
    const stream = streamName();
    await store.append(stream, [event('a'), event('b')], 'no_stream');
    const error = await rejection(store.append(stream, [event('c')], 'no_stream'));
    assert.instance(error, WrongExpectedVersionError);
    assert.is((error as WrongExpectedVersionError).actual, 1n);
    assert.is((error as WrongExpectedVersionError).streamId, stream);
  });

  test('an exact revision on a missing stream reports no_stream', async ({ store }) => {
    const error = await rejection(store.append(streamName(), [event('a')], 0n));
    assert.instance(error, WrongExpectedVersionError);
    assert.is((error as WrongExpectedVersionError).actual, 'no_stream');
  });

  test('a stale exact revision conflicts and writes nothing', async ({ store }) => {
    const stream = streamName();
    await store.append(stream, [event('a')], 'no_stream');
    await store.append(stream, [event('b')], 0n);
    const error = await rejection(store.append(stream, [event('c')], 0n));
    assert.instance(error, WrongExpectedVersionError);
    assert.is((error as WrongExpectedVersionError).expected, 0n);
    assert.is((error as WrongExpectedVersionError).actual, 1n);
    assert.equal(
      (await store.readStream(stream)).map((e) => e.data.label),
      ['a', 'b'],
    );
  });

  test('a revision ahead of the stream conflicts', async ({ store }) => {
    const stream = streamName();
    await store.append(stream, [event('a')], 'no_stream');
    const error = await rejection(store.append(stream, [event('b')], 5n));
    assert.instance(error, WrongExpectedVersionError);
    assert.is((error as WrongExpectedVersionError).actual, 0n);
  });

  test('re-appending the same event ids at the same expectation is an idempotent success', async ({ store }) => {
    const stream = streamName();
    const first = [event('a'), event('b')];
    const original = await store.append(stream, first, 'no_stream');
    const next = event('c');
    await store.append(stream, [next], 1n);
    const again = await store.append(stream, first, 'no_stream');
    assert.is(again.nextExpectedRevision, original.nextExpectedRevision);
    if (options.reportsDuplicates) {
      assert.is(again.duplicate, true);
      assert.is(again.position, original.position);
    }
    const middle = await store.append(stream, [next], 1n);
    assert.is(middle.nextExpectedRevision, 2n);
    assert.equal(
      (await store.readStream(stream)).map((e) => e.data.label),
      ['a', 'b', 'c'],
    );
  });

  test('a partial overlap with stored ids is a wrong expected version', async ({ store }) => {
    const stream = streamName();
    const a = event('a');
    const b = event('b');
    await store.append(stream, [a, b], 'no_stream');
    const differentSecond = await rejection(store.append(stream, [a, event('x')], 'no_stream'));
    assert.instance(differentSecond, WrongExpectedVersionError);
    const longer = await rejection(store.append(stream, [a, b, event('y')], 'no_stream'));
    assert.instance(longer, WrongExpectedVersionError);
    assert.equal(
      (await store.readStream(stream)).map((e) => e.data.label),
      ['a', 'b'],
    );
  });

  test('the global log keeps append order across streams, with strictly increasing positions', async ({ store }) => {
    const before = await store.headPosition();
    const s1 = streamName();
    const s2 = streamName();
    await store.append(s1, [event('1')], 'no_stream');
    await store.append(s2, [event('2')], 'no_stream');
    await store.append(s1, [event('3'), event('4')], 0n);
    const seen = await collect(store.readAll({ after: before }), (e) => e.streamId === s1 || e.streamId === s2);
    assert.equal(
      seen.map((e) => e.data.label),
      ['1', '2', '3', '4'],
    );
    assert.equal(
      seen.map((e) => e.streamId),
      [s1, s2, s1, s1],
    );
    for (let i = 1; i < seen.length; i++) assert.ok(seen[i - 1]!.position < seen[i]!.position);
    assert.ok(before === undefined || before < seen[0]!.position, 'the head before is behind the new events');
    const head = await store.headPosition();
    assert.ok(head !== undefined);
    if (options.sharedLog) assert.ok(head >= seen[3]!.position, `head ${head} is behind the last append`);
    else assert.is(head, seen[3]!.position);
    const later = await store.headPosition();
    assert.ok(later !== undefined && later >= head, 'the head never moves back');
  });

  test('reads the log after a position, up to a position, and at most a count', async ({ store }) => {
    const stream = streamName();
    await store.append(stream, [event('a'), event('b'), event('c'), event('d')], 'no_stream');
    const all = await store.readStream(stream);
    const mine = (e: RecordedEvent) => e.streamId === stream;
    const afterFirst = await collect(store.readAll({ after: all[0]!.position }), mine);
    assert.equal(
      afterFirst.map((e) => e.data.label),
      ['b', 'c', 'd'],
    );
    const window = await collect(store.readAll({ after: all[0]!.position, upTo: all[2]!.position }), mine);
    assert.equal(
      window.map((e) => e.data.label),
      ['b', 'c'],
    );
    const counted = await collect(store.readAll({ after: all[0]!.position, maxCount: 2 }), () => true);
    assert.is(counted.length, 2);
    assert.equal(
      counted.map((e) => e.data.label),
      ['b', 'c'],
    );
  });

  test('the live feed catches up, says so, then delivers events appended afterwards', async ({ store }) => {
    const stream = streamName();
    // A position is opaque (a byte offset in EventStoreDB): start from the head, never from arithmetic on one.
    const start = await store.headPosition();
    await store.append(stream, [event('before')], 'no_stream');
    const controller = new AbortController();
    const received: string[] = [];
    let caughtUp = false;
    const done = (async () => {
      for await (const item of store.subscribe({ after: start, signal: controller.signal })) {
        if (item.kind === 'caught-up') {
          caughtUp = true;
          await store.append(stream, [event('live-1')], 0n);
          await store.append(stream, [event('live-2')], 1n);
          continue;
        }
        if (item.event.streamId !== stream) continue;
        received.push(String(item.event.data.label));
        if (received.length === 3) controller.abort();
      }
    })();
    await withTimeout(done, 10_000, () => new Error('live feed did not deliver'));
    assert.ok(caughtUp);
    assert.equal(received, ['before', 'live-1', 'live-2']);
  });

  test('N concurrent appends at one revision: exactly one succeeds, the rest see its revision', async ({ store }) => {
    const stream = streamName();
    await store.append(stream, [event('seed')], 'no_stream');
    const results = await Promise.allSettled(
      Array.from({ length: 50 }, (_, i) => store.append(stream, [event(`racer-${i}`)], 0n)),
    );
    const winners = results.filter((r) => r.status === 'fulfilled');
    assert.is(winners.length, 1);
    for (const r of results) {
      if (r.status === 'rejected') {
        assert.instance(r.reason, WrongExpectedVersionError);
        assert.is((r.reason as WrongExpectedVersionError).actual, 1n);
      }
    }
    assert.is((await store.readStream(stream)).length, 2);
  });

  test('N concurrent identical appends (same ids) write once and all succeed', async ({ store }) => {
    const stream = streamName();
    const same = [event('only')];
    const results = await Promise.all(Array.from({ length: 50 }, () => store.append(stream, same, 'no_stream')));
    assert.ok(results.every((r) => r.nextExpectedRevision === 0n));
    if (options.reportsDuplicates) assert.is(results.filter((r) => !r.duplicate).length, 1);
    assert.is((await store.readStream(stream)).length, 1);
  });

  const atomicTest = (
    title: string,
    body: (store: EventStore, atomic: NonNullable<EventStore['appendAtomically']>) => Promise<void>,
  ) =>
    test(`appendAtomically: ${title}`, async ({ store }) => {
      // A capability: stores that cannot commit two streams together (EventStoreDB) do not offer it.
      if (!store.appendAtomically) return;
      await body(store, store.appendAtomically.bind(store));
    });

  atomicTest('commits every stream, in order, with consecutive positions', async (store, atomic) => {
    const [a, b] = [streamName(), streamName()];
    await store.append(b, [event('b0')], 'no_stream');
    const results = await atomic([
      { streamId: a, events: [event('a0')], expected: 'no_stream' },
      { streamId: b, events: [event('b1'), event('b2')], expected: 0n },
    ]);
    assert.equal(
      results.map((r) => r.nextExpectedRevision),
      [0n, 2n],
    );
    assert.equal(
      results.map((r) => r.duplicate),
      [false, false],
    );
    const [inA, inB] = [await store.readStream(a), await store.readStream(b)];
    assert.is(inA[0]!.position, results[0]!.position);
    assert.is(inB[1]!.position, inA[0]!.position + 1n);
    assert.is(inB[2]!.position, results[1]!.position);
  });

  atomicTest('one failed expectation writes nothing to any stream and names its stream', async (store, atomic) => {
    const [a, b] = [streamName(), streamName()];
    await store.append(b, [event('b0')], 'no_stream');
    const head = await store.headPosition();
    const error = await rejection(
      atomic([
        { streamId: a, events: [event('a0'), event('a1')], expected: 'no_stream' },
        { streamId: b, events: [event('b1')], expected: 'no_stream' },
      ]),
    );
    assert.instance(error, WrongExpectedVersionError);
    assert.is((error as WrongExpectedVersionError).streamId, b);
    assert.is((error as WrongExpectedVersionError).actual, 0n);
    assert.equal(await store.readStream(a), []);
    assert.is(await store.headPosition(), head);
  });

  atomicTest('re-sending the same writes is an idempotent success per stream', async (store, atomic) => {
    const [a, b] = [streamName(), streamName()];
    const writes = [
      { streamId: a, events: [event('a0')], expected: 'no_stream' as const },
      { streamId: b, events: [event('b0')], expected: 'no_stream' as const },
    ];
    const first = await atomic(writes);
    const again = await atomic(writes);
    assert.equal(
      again.map((r) => r.position),
      first.map((r) => r.position),
    );
    assert.equal(
      again.map((r) => r.duplicate),
      [true, true],
    );
    assert.is((await store.readStream(a)).length + (await store.readStream(b)).length, 2);
  });

  atomicTest('a stream named twice is refused before anything is written', async (store, atomic) => {
    const a = streamName();
    const error = await rejection(
      atomic([
        { streamId: a, events: [event('x')], expected: 'no_stream' },
        { streamId: a, events: [event('y')], expected: 'no_stream' },
      ]),
    );
    assert.ok(error instanceof Error && !(error instanceof WrongExpectedVersionError));
    assert.equal(await store.readStream(a), []);
  });

  atomicTest(
    'N racing pairs that share one reservation stream: exactly one pair is committed whole',
    async (store, atomic) => {
      const reservation = streamName();
      const effects = Array.from({ length: 50 }, () => streamName());
      const results = await Promise.allSettled(
        effects.map((effect, i) =>
          atomic([
            { streamId: reservation, events: [event(`claim-${i}`)], expected: 'no_stream' },
            { streamId: effect, events: [event(`effect-${i}`)], expected: 'no_stream' },
          ]),
        ),
      );
      const winners = results.flatMap((r, i) => (r.status === 'fulfilled' ? [i] : []));
      assert.is(winners.length, 1);
      for (const r of results) if (r.status === 'rejected') assert.instance(r.reason, WrongExpectedVersionError);
      const claim = await store.readStream(reservation);
      assert.equal(
        claim.map((e) => e.data.label),
        [`claim-${winners[0]}`],
      );
      const written = await Promise.all(effects.map((effect) => store.readStream(effect)));
      assert.equal(
        written.flatMap((events, i) => (events.length > 0 ? [i] : [])),
        winners,
      );
    },
  );

  test.run();
}

export async function rejection(promise: Promise<unknown>): Promise<unknown> {
  try {
    await promise;
  } catch (error) {
    return error;
  }
  throw new Error('expected a rejection');
}

async function collect(
  source: AsyncIterable<RecordedEvent>,
  keep: (e: RecordedEvent) => boolean,
): Promise<RecordedEvent[]> {
  const out: RecordedEvent[] = [];
  for await (const e of source) if (keep(e)) out.push(e);
  return out;
}
