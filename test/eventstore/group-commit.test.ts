/**
 * The group-commit queue with an asynchronous commit function (as a network driver's one round
 * trip per batch would be): appends of one turn share a batch, one batch is in flight at a time,
 * a unit's expectation failure stays its own, a fault fails the whole batch typed.
 */
import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import { StoreUnavailableError, WrongExpectedVersionError } from '../../src/eventstore/errors.ts';
import { type CommitUnit, type UnitOutcome, groupCommit } from '../../src/eventstore/group-commit.ts';
import type { StreamWrite } from '../../src/eventstore/port.ts';

const test = suite('group commit: the queue');

const write = (streamId: string): StreamWrite => ({
  streamId,
  expected: 'no_stream',
  events: [{ id: `${streamId}-0`, type: 'TestEvent', data: {}, metadata: {} }],
});

const tick = () => new Promise((resolve) => setImmediate(resolve));

/** An async commit function that records its batches and answers after a real pause. */
function recordingCommit(answer: (unit: CommitUnit, index: number) => UnitOutcome) {
  const batches: string[][] = [];
  let inFlight = 0;
  let mostInFlight = 0;
  let position = 0n;
  const commitBatch = async (units: readonly CommitUnit[]) => {
    inFlight += 1;
    mostInFlight = Math.max(mostInFlight, inFlight);
    batches.push(units.map((unit) => unit[0]!.streamId));
    await new Promise((resolve) => setTimeout(resolve, 5));
    inFlight -= 1;
    return units.map((unit, i) => answer(unit, i));
  };
  const ok = (): UnitOutcome => ({
    ok: true,
    results: [{ nextExpectedRevision: 0n, position: ++position, duplicate: false }],
  });
  return { commitBatch, batches, mostInFlight: () => mostInFlight, ok };
}

test('appends of one turn share one batch; the next batch waits for the one in flight', async () => {
  const recorder = recordingCommit(() => recorder.ok());
  let committed = 0;
  const queue = groupCommit({
    commitBatch: recorder.commitBatch,
    toStoreError: (e) => e as Error,
    maxBatch: 3,
    onCommitted: () => committed++,
  });
  const first = ['a', 'b', 'c', 'd', 'e'].map((s) => queue.commit([write(s)]));
  await tick();
  const later = queue.commit([write('f')]); // arrives while the first batch is in flight
  const results = await Promise.all([...first, later]);
  assert.equal(recorder.batches, [
    ['a', 'b', 'c'],
    ['d', 'e', 'f'],
  ]);
  assert.is(recorder.mostInFlight(), 1, 'one batch at a time');
  assert.equal(
    results.map(([r]) => r!.position),
    [1n, 2n, 3n, 4n, 5n, 6n],
  );
  assert.is(committed, 2);
  await queue.close();
});

test("a unit's expectation failure fails that unit only; its neighbours are committed", async () => {
  const conflict = new WrongExpectedVersionError('b', 'no_stream', 0n);
  const recorder = recordingCommit((unit) =>
    unit[0]!.streamId === 'b' ? { ok: false, error: conflict } : recorder.ok(),
  );
  const queue = groupCommit({ commitBatch: recorder.commitBatch, toStoreError: (e) => e as Error, maxBatch: 10 });
  const settled = await Promise.allSettled(['a', 'b', 'c'].map((s) => queue.commit([write(s)])));
  assert.equal(
    settled.map((s) => s.status),
    ['fulfilled', 'rejected', 'fulfilled'],
  );
  assert.is((settled[1] as PromiseRejectedResult).reason, conflict);
  await queue.close();
});

test('a fault fails every unit of the batch with the adapter’s typed error; the next batch runs', async () => {
  let calls = 0;
  const commitBatch = async (units: readonly CommitUnit[]): Promise<UnitOutcome[]> => {
    calls += 1;
    if (calls === 1) throw new Error('driver: connection reset');
    return units.map(() => ({ ok: true, results: [{ nextExpectedRevision: 0n, position: 1n, duplicate: false }] }));
  };
  const toStoreError = (error: unknown) =>
    new StoreUnavailableError(`mapped: ${(error as Error).message}`, 'unreachable', { cause: error });
  const queue = groupCommit({ commitBatch, toStoreError, maxBatch: 10 });
  const settled = await Promise.allSettled(['a', 'b'].map((s) => queue.commit([write(s)])));
  for (const s of settled) {
    assert.is(s.status, 'rejected');
    const reason = (s as PromiseRejectedResult).reason;
    assert.instance(reason, StoreUnavailableError);
    assert.match((reason as Error).message, /mapped: driver: connection reset/);
  }
  const [after] = await queue.commit([write('c')]);
  assert.is(after!.position, 1n);
  await queue.close();
});

test('close waits for queued units, then refuses new ones as closed', async () => {
  const recorder = recordingCommit(() => recorder.ok());
  const queue = groupCommit({ commitBatch: recorder.commitBatch, toStoreError: (e) => e as Error, maxBatch: 1 });
  let settled = 0;
  const queued = ['a', 'b', 'c'].map((s) => queue.commit([write(s)]).then(() => settled++));
  await queue.close();
  assert.is(settled, 3, 'every queued unit was committed before close resolved');
  await Promise.all(queued);
  const refused = await queue.commit([write('d')]).catch((e) => e);
  assert.instance(refused, StoreUnavailableError);
  assert.is((refused as StoreUnavailableError).reason, 'closed');
});

test.run();
