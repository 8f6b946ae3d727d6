/**
 * The handler runs whatever decider it is given: a second aggregate, unknown to the handler, gets
 * the same guarantees as the orders (hash chain, deterministic ids, replays, re-decided races).
 */
import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import { z } from 'zod';
import { createDeciderHandler } from '../../src/commands/handler.ts';
import type { CommandDecider } from '../../src/domain/decider.ts';
import { CorruptEventError } from '../../src/eventstore/errors.ts';
import { openMemoryStore } from '../../src/eventstore/memory-store.ts';
import { decodeStream, encodeEvent } from '../../src/events/codec.ts';
import { eventHash } from '../../src/events/hash-chain.ts';
import { context, createOrder } from '../support/commands.ts';

const AddEntry = z.strictObject({
  type: z.literal('AddEntry'),
  tallyId: z.string().min(1),
  entryId: z.string().min(1),
  amount: z.number().int(),
});
type AddEntry = z.infer<typeof AddEntry>;
const EntryAdded = z.strictObject({
  type: z.literal('EntryAdded'),
  data: z.strictObject({ tallyId: z.string(), entryId: z.string(), amount: z.number().int() }),
});
type EntryAdded = z.infer<typeof EntryAdded>;
type Tally = ReadonlyMap<string, number>;

class EntryTaken extends Error {}
class NoSuchTally extends Error {}

const tallyDecider: CommandDecider<AddEntry, EntryAdded, Tally> = {
  initialState: () => new Map(),
  evolve: (state, event) => new Map(state).set(event.data.entryId, event.data.amount),
  decide: (command, state) => {
    const previous = state.get(command.entryId);
    if (previous === command.amount) return [];
    if (previous !== undefined) throw new EntryTaken(command.entryId);
    const { tallyId, entryId, amount } = command;
    return [{ type: 'EntryAdded', data: { tallyId, entryId, amount } }];
  },
  commandSchema: AddEntry,
  eventSchema: EntryAdded,
  streamIdOf: (command) => `tally-${command.tallyId}`,
  isOutcomeOf: (command, event) => event.data.entryId === command.entryId,
  idempotencyScope: (command) => `entry:${command.entryId}`,
  foreignRejection: (command) => new NoSuchTally(command.tallyId),
  rejections: [],
};

const add = (entryId: string, amount = 1, tallyId = 't'): AddEntry => ({ type: 'AddEntry', tallyId, entryId, amount });

const test = suite('command handler over another decider');

test('decides into the stream the decider names, hash-chained, and a repeat replays the original', async () => {
  const store = openMemoryStore();
  const handle = createDeciderHandler(tallyDecider, store);
  const first = await handle(add('a', 5), context());
  const second = await handle(add('b', 7), context());
  const again = await handle(add('a', 5), context());
  assert.is(first.streamId, 'tally-t');
  assert.not.ok(first.replayed);
  assert.ok(again.replayed);
  assert.equal(again.events, first.events);
  const records = await store.readStream('tally-t');
  assert.is(records.length, 2);
  const history = decodeStream(records, EntryAdded);
  assert.equal(
    history.map((e) => e.event),
    [first.events[0]!.event, second.events[0]!.event],
  );
  assert.is(history[0]!.metadata.prevHash, '');
  assert.is(history[1]!.metadata.prevHash, eventHash(records[0]!));
  const refused = await handle(add('a', 6), context()).catch((error: unknown) => error);
  assert.instance(refused, EntryTaken);
  assert.is((await store.readStream('tally-t')).length, 2);
});

test('the same decision appended again gets the same event id; another decision another id', async () => {
  const one = await createDeciderHandler(tallyDecider, openMemoryStore())(add('a', 5), context());
  const two = await createDeciderHandler(tallyDecider, openMemoryStore())(add('a', 5), context());
  const other = await createDeciderHandler(tallyDecider, openMemoryStore())(add('a', 6), context());
  assert.is(one.events[0]!.id, two.events[0]!.id);
  assert.is.not(one.events[0]!.id, other.events[0]!.id);
});

test('50 concurrent different entries on one stream: all written once, conflicts re-decided', async () => {
  const store = openMemoryStore();
  const handle = createDeciderHandler(tallyDecider, store);
  const outcomes = await Promise.all(Array.from({ length: 50 }, (_, i) => handle(add(`e-${i}`, i), context())));
  const history = decodeStream(await store.readStream('tally-t'), EntryAdded);
  assert.is(history.length, 50);
  assert.equal(
    history.map((e) => e.revision),
    Array.from({ length: 50 }, (_, i) => BigInt(i)),
  );
  assert.equal(new Set(history.map((e) => e.event.data.entryId)).size, 50);
  assert.ok(outcomes.every((o) => !o.replayed));
});

test("a stream's events are read with the decider's schema: a record it does not know is corrupt", async () => {
  const store = openMemoryStore();
  const { type: _type, orderId: _id, ...orderDetails } = createOrder('o');
  const metadata = { schemaVersion: 1 as const, recordedAt: new Date(0).toISOString(), prevHash: '' };
  const foreign = encodeEvent({
    streamId: 'tally-t',
    revision: 0n,
    id: '6f1c2a9e-3b7d-5c4e-8f00-0123456789ab',
    event: { type: 'OrderCreated', data: { ...orderDetails, orderId: 'o', total: 1000 } },
    metadata: { ...metadata, clientId: 'c', correlationId: 'c', requestHash: 'a'.repeat(64) },
  });
  await store.append('tally-t', [foreign], 'no_stream');
  const error = await createDeciderHandler(tallyDecider, store)(add('a'), context()).catch((e: unknown) => e);
  assert.instance(error, CorruptEventError);
  assert.is((error as CorruptEventError).streamId, 'tally-t');
});

test("another client's stream is answered with the decider's foreign rejection, and nothing is written", async () => {
  const store = openMemoryStore();
  const handle = createDeciderHandler(tallyDecider, store);
  await handle(add('a'), context({ clientId: 'alice' }));
  const refused = await handle(add('b'), context({ clientId: 'bob', enforceOwnership: true })).catch((e: unknown) => e);
  assert.instance(refused, NoSuchTally);
  assert.is((await store.readStream('tally-t')).length, 1);
});

test.run();
