/**
 * Parked position waits: one shared sweep per wake-up however many reads wait (no per-waiter
 * polling), released by the runner's signal, bounded in number, and each ends by its own
 * timeout or abort.
 */
import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import { CommitSignal } from '../../src/commit-signal.ts';
import { createPositionWaiter, WaitCapacityError } from '../../src/projections/wait.ts';

const test = suite('projections: waiting for a position');

/** Checkpoints that count how often they are read. */
function fakeCheckpoints(initial: bigint) {
  let position = initial;
  let reads = 0;
  return {
    checkpoints: {
      servedPositions: async (names: readonly string[]) => {
        reads += 1;
        return new Map(names.map((name) => [name, position]));
      },
    },
    advanceTo: (to: bigint) => (position = to),
    reads: () => reads,
  };
}

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

test('3,000 parked reads: checkpoints read once per sweep, not per waiter; a signal releases all', async () => {
  const fake = fakeCheckpoints(0n);
  const advanced = new CommitSignal();
  const wait = createPositionWaiter(fake.checkpoints, advanced, { pollIntervalMs: 10, maxWaiting: 5_000 });
  const waits = Array.from({ length: 3_000 }, () => wait(100n, ['p'], { timeoutMs: 10_000 }));
  const parkedAfter = fake.reads(); // one read each on the way in
  await sleep(200); // about 20 poll intervals
  const whileParked = fake.reads() - parkedAfter;
  assert.ok(whileParked <= 100, `${whileParked} checkpoint reads while 3,000 reads waited ~20 intervals`);
  fake.advanceTo(100n);
  advanced.notify();
  assert.equal(new Set(await Promise.all(waits)), new Set([true]));
});

test('at most maxWaiting parked at once: the next is refused; a position already reached never parks', async () => {
  const fake = fakeCheckpoints(5n);
  const advanced = new CommitSignal();
  const wait = createPositionWaiter(fake.checkpoints, advanced, { pollIntervalMs: 10, maxWaiting: 3 });
  const parked = [1, 2, 3].map(() => wait(10n, ['p'], { timeoutMs: 10_000 }));
  try {
    await wait(10n, ['p'], { timeoutMs: 10_000 });
    assert.unreachable('a fourth parked wait is refused');
  } catch (error) {
    assert.instance(error, WaitCapacityError);
  }
  assert.is(await wait(5n, ['p'], { timeoutMs: 10_000 }), true, 'reached already: answered even when full');
  fake.advanceTo(10n);
  advanced.notify();
  assert.equal(await Promise.all(parked), [true, true, true]);
  const again = wait(11n, ['p'], { timeoutMs: 10_000 });
  fake.advanceTo(11n);
  assert.is(await again, true, 'room again once released (found by the poll, without a signal)');
});

test('each wait ends by its own timeout or abort, and frees its place', async () => {
  const fake = fakeCheckpoints(0n);
  const wait = createPositionWaiter(fake.checkpoints, new CommitSignal(), { pollIntervalMs: 10, maxWaiting: 1 });
  assert.is(await wait(1n, ['p'], { timeoutMs: 50 }), false);
  const controller = new AbortController();
  const aborted = wait(1n, ['p'], { timeoutMs: 10_000, signal: controller.signal });
  controller.abort();
  assert.is(await aborted, false);
  assert.is(await wait(1n, ['p'], { timeoutMs: 0 }), false, 'no wait asked: answered at once');
  const last = wait(1n, ['p'], { timeoutMs: 10_000 });
  fake.advanceTo(1n);
  assert.is(await last, true);
});

test.run();
