/**
 * A store that cannot tell an idempotent re-append from a fresh write (EventStoreDB, here its
 * adapter over the stand-in server with ESDB's append rules): an event id names a decision, not
 * who made it or when, so the same decision made in another process, by another client or at
 * another time, "succeeds" without writing. The handler must not answer it as its own write, nor
 * keep its own metadata and hash as the stream's.
 */
import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import { createCommandHandler } from '../../src/commands/handler.ts';
import { DomainRejection } from '../../src/domain/rejection.ts';
import { esdbStoreOver } from '../../src/eventstore/esdb-store.ts';
import { decodeStream } from '../../src/events/codec.ts';
import { capturePayment, context, createOrder } from '../support/commands.ts';
import { FakeEsdb } from '../support/fake-esdb.ts';

const test = suite('command handler: a store that does not report duplicates');

const alice = context({ clientId: 'alice', correlationId: 'from-alice', enforceOwnership: true });
const mallory = context({ clientId: 'mallory', correlationId: 'from-mallory', enforceOwnership: true });

test("another client's create of the same order, guessed new in another process, is refused as foreign", async () => {
  const store = esdbStoreOver(new FakeEsdb().connection);
  const created = await createCommandHandler(store)(createOrder('x'), alice);
  const other = createCommandHandler(store);
  const refused = await other(createOrder('x'), mallory).catch((error: unknown) => error);
  assert.instance(refused, DomainRejection);
  assert.is((refused as DomainRejection).rule, 'order-already-exists', 'as a read would have refused it');
  // The process holds the order as stored, Alice's: Mallory cannot capture on it either.
  const capture = await other(capturePayment('x', 'p-1', 100), mallory).catch((error: unknown) => error);
  assert.instance(capture, DomainRejection);
  const stored = decodeStream(await store.readStream('order-x'));
  assert.equal(
    stored.map((e) => [e.id, e.metadata.clientId]),
    [[created.events[0]!.id, 'alice']],
  );
});

test('a twin decided on a stale entry replays the stored original, and the next write chains from it', async () => {
  const store = esdbStoreOver(new FakeEsdb().connection);
  const first = createCommandHandler(store, { now: () => new Date('2026-01-01T00:00:00Z') });
  const second = createCommandHandler(store, { now: () => new Date('2026-01-01T00:00:05Z') });
  await first(createOrder('y'), alice);
  await second(capturePayment('y', 'p-0', 100), alice); // second now holds the order, at revision 1
  const original = await first(capturePayment('y', 'p-1', 100), alice);
  // The client's retry reaches the other process, whose entry is stale: the same decision, later.
  const retry = await second(capturePayment('y', 'p-1', 100), context({ clientId: 'alice', enforceOwnership: true }));
  assert.is(retry.replayed, true);
  assert.equal(
    [retry.events[0]!.id, retry.events[0]!.metadata.recordedAt, retry.revision],
    [original.events[0]!.id, original.events[0]!.metadata.recordedAt, original.revision],
  );
  await second(capturePayment('y', 'p-2', 100), alice);
  const stored = decodeStream(await store.readStream('order-y')); // throws on a broken hash chain
  assert.equal(
    stored.map((e) => e.event.type === 'PaymentCaptured' && e.event.data.paymentId),
    [false, 'p-0', 'p-1', 'p-2'],
  );
});

test.run();
