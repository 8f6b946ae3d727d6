/**
 * The EventStoreDB adapter's own logic over a fake transport (test/support/fake-esdb.ts): what it
 * asks of the server (the leader), how it settles an append whose outcome the server left unknown,
 * and how it maps the server's refusals. No EventStoreDB server is involved: what a real one does
 * is the contract suite's job (esdb.contract.test.ts).
 */
import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import { APPEND_ATTEMPTS } from '../../src/eventstore/esdb-append.ts';
import { esdbStoreOver } from '../../src/eventstore/esdb-store.ts';
import { StoreUnavailableError, WrongExpectedVersionError } from '../../src/eventstore/errors.ts';
import type { EventToAppend } from '../../src/eventstore/port.ts';
import { FakeEsdb, notLeader, serverRefusal } from '../support/fake-esdb.ts';
import { listenApp, orderBody, send } from '../support/http.ts';
import { assertProblem } from '../support/problems.ts';
import { rejection } from './contract.ts';

const test = suite('esdb adapter over a fake transport');
let ids = 0;
const event = (label: string): EventToAppend => ({
  id: `00000000-0000-4000-8000-${String(++ids).padStart(12, '0')}`,
  type: 'TestEvent',
  data: { label },
  metadata: {},
});

test('appends and stream reads ask for the leader', async () => {
  const fake = new FakeEsdb();
  const store = esdbStoreOver(fake.connection);
  await store.append('order-a', [event('a')], 'no_stream');
  await store.readStream('order-a');
  assert.ok(fake.appends.length > 0 && fake.reads.length > 0);
  for (const call of fake.appends) assert.is(call.options.requiresLeader, true, 'append');
  for (const call of fake.reads) assert.is(call.options.requiresLeader, true, `read ${call.streamId}`);
  await store.close();
});

test('N concurrent identical appends while the first is not yet indexed: the dropped ones read it back', async () => {
  const fake = new FakeEsdb();
  // The server's behaviour: the first write of these ids commits after 10 ms; every duplicate that
  // arrives before that is dropped (IdempotentNotReady) and the client gets the batch append's
  // timeout later (30 ms here, 2 s on a real server).
  let committed = false;
  fake.decide = (_call, index) => {
    if (index === 0) {
      setTimeout(() => {
        committed = true;
      }, 10);
      return { write: true, delayMs: 10 };
    }
    return committed ? { write: true } : { fail: serverRefusal('timeout'), delayMs: 30 };
  };
  const store = esdbStoreOver(fake.connection);
  const same = [event('only')];
  const results = await Promise.all(Array.from({ length: 20 }, () => store.append('order-n', same, 'no_stream')));
  assert.is(fake.stored('order-n').length, 1);
  assert.ok(results.every((r) => r.nextExpectedRevision === 0n));
  const position = fake.stored('order-n')[0]!.position!.commit;
  assert.ok(results.every((r) => r.position === position));
  assert.is(results.filter((r) => !r.duplicate).length, 1, 'the original write');
  assert.is(results.filter((r) => r.duplicate).length, 19, 'each dropped duplicate found its events');
  // Each dropped duplicate re-read exactly the revisions it would have written, from the leader, and was not resent.
  const reReads = fake.reads.filter((r) => r.streamId === 'order-n');
  assert.is(reReads.length, 19);
  for (const r of reReads) {
    assert.is(r.options.fromRevision, 0n);
    assert.is(r.options.maxCount, 1);
    assert.is(r.options.requiresLeader, true);
  }
  assert.is(fake.appends.length, 20);
  await store.close();
});

test('a timed-out append whose events are not there is sent again, with the same ids and expectation', async () => {
  const fake = new FakeEsdb();
  await esdbStoreOver(fake.connection).append('order-r', [event('seed')], 'no_stream');
  fake.decide = (_call, index) => (index === 1 ? { fail: serverRefusal('timeout') } : { write: true });
  const store = esdbStoreOver(fake.connection);
  const events = [event('b'), event('c')];
  const result = await store.append('order-r', events, 0n);
  assert.equal(result, {
    nextExpectedRevision: 2n,
    position: fake.stored('order-r')[2]!.position!.commit,
    // The resend succeeded as ESDB answers any success: whether the first send had landed it cannot say.
    duplicate: undefined,
  });
  const [, first, second] = fake.appends;
  assert.equal(second, first, 'the retry is the same append');
  assert.equal(
    first!.ids,
    events.map((e) => e.id),
  );
  assert.is(first!.options.expectedRevision, 0n);
  const reRead = fake.reads.at(-1)!;
  assert.equal([reRead.options.fromRevision, reRead.options.maxCount], [1n, 2]);
  assert.equal(
    fake.stored('order-r').map((e) => e.id),
    [fake.stored('order-r')[0]!.id, ...events.map((e) => e.id)],
  );
});

test('the retries are bounded: a server that always times out answers 503-unavailable', async () => {
  const fake = new FakeEsdb();
  fake.decide = () => ({ fail: serverRefusal('timeout') });
  const store = esdbStoreOver(fake.connection);
  const error = await rejection(store.append('order-t', [event('x')], 'no_stream'));
  assert.instance(error, StoreUnavailableError);
  assert.is((error as StoreUnavailableError).reason, 'unreachable');
  assert.is(fake.appends.length, APPEND_ATTEMPTS);
  assert.is(fake.reads.length, APPEND_ATTEMPTS - 1, 'a re-read after each timeout but the last');
  assert.equal(fake.stored('order-t'), []);
});

test('other events at the expected revision: the retry conflicts, as a wrong expected version', async () => {
  const fake = new FakeEsdb();
  fake.decide = (call, index) => {
    if (index === 0) {
      // The request timed out, and meanwhile another writer took revision 0.
      fake.writeDirect(call.streamId, ['00000000-0000-4000-8000-ffffffffffff']);
      return { fail: serverRefusal('timeout') };
    }
    return { write: true };
  };
  const store = esdbStoreOver(fake.connection);
  const error = await rejection(store.append('order-w', [event('mine')], 'no_stream'));
  assert.instance(error, WrongExpectedVersionError);
  assert.is((error as WrongExpectedVersionError).actual, 0n);
  assert.is((error as WrongExpectedVersionError).streamId, 'order-w');
  assert.is(fake.stored('order-w').length, 1);
});

test('NotLeaderError: the append is sent again (the client has moved to the leader); always not leader is 503-busy', async () => {
  const fake = new FakeEsdb();
  fake.decide = (_call, index) => (index === 0 ? { fail: notLeader() } : { write: true });
  const store = esdbStoreOver(fake.connection);
  const result = await store.append('order-l', [event('l')], 'no_stream');
  assert.is(result.nextExpectedRevision, 0n);
  assert.is(fake.appends.length, 2);
  assert.is(fake.reads.length, 0, 'a follower wrote nothing: no re-read needed');

  const follower = new FakeEsdb();
  follower.decide = () => ({ fail: notLeader() });
  const error = await rejection(esdbStoreOver(follower.connection).append('order-l', [event('m')], 'no_stream'));
  assert.instance(error, StoreUnavailableError);
  assert.is((error as StoreUnavailableError).reason, 'busy');
  assert.is(follower.appends.length, APPEND_ATTEMPTS);
});

test('a node that is not ready or busy refuses without a code: 503 + Retry-After over HTTP, never a 500', async () => {
  for (const kind of ['Server Is Not Ready', 'Server Is Busy', 'Server Is Too Busy'] as const) {
    const fake = new FakeEsdb();
    fake.decide = () => ({ fail: serverRefusal(kind) });
    const error = await rejection(esdbStoreOver(fake.connection).append('order-s', [event('s')], 'no_stream'));
    assert.instance(error, StoreUnavailableError, kind);
    assert.is((error as StoreUnavailableError).reason, 'busy', kind);
    assert.is(fake.appends.length, 1, `${kind}: not retried by the adapter (the client retries on Retry-After)`);

    const store = esdbStoreOver(fake.connection);
    const server = await listenApp(store);
    try {
      const response = await send(server.url, 'PUT', '/orders/not-ready-1', { body: orderBody() });
      assertProblem(response, 503, 'store-unavailable');
      assert.is(response.headers['retry-after'], '1', kind);
    } finally {
      await server.close();
      await store.close();
    }
  }
});

test('close() releases the connection once, after in-flight appends settle; later calls fail as closed', async () => {
  const fake = new FakeEsdb();
  fake.decide = () => ({ write: true, delayMs: 20 });
  const store = esdbStoreOver(fake.connection);
  const pending = store.append('order-c', [event('c')], 'no_stream');
  const closing = store.close();
  assert.is(fake.released, 0, 'not while an append is in flight');
  assert.is((await pending).nextExpectedRevision, 0n);
  await Promise.all([closing, store.close()]);
  assert.is(fake.released, 1);
  const error = await rejection(store.append('order-c', [event('d')], 0n));
  assert.instance(error, StoreUnavailableError);
  assert.is((error as StoreUnavailableError).reason, 'closed');
});

test.run();
