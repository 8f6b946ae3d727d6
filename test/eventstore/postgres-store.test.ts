/**
 * What the PostgreSQL store must do beyond the shared contract: never let a subscriber skip an
 * event whose transaction commits late, keep its live feed through lost connections, and type
 * every driver error. Needs the local server (skipped, saying why, without it; PG_REQUIRED=1 fails).
 */
import { randomUUID } from 'node:crypto';
import pg from 'pg';
import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import { CorruptEventError, StoreUnavailableError, WrongExpectedVersionError } from '../../src/eventstore/errors.ts';
import { readAllEntries } from '../../src/eventstore/log-entries.ts';
import { MAX_EVENTS_PER_APPEND } from '../../src/eventstore/pg-append.ts';
import { pgStoreError } from '../../src/eventstore/pg-errors.ts';
import { openPgStore, type PgEventStore, pgConnectionConfig } from '../../src/eventstore/pg-store.ts';
import type { EventToAppend, RecordedEvent } from '../../src/eventstore/port.ts';
import { withTimeout } from '../../src/timeout.ts';
import {
  createScratchDatabase,
  pgAvailableOrSkip,
  type ScratchDatabase,
  terminateBackends,
} from '../support/postgres.ts';

const event = (label: string): EventToAppend => ({
  id: randomUUID(),
  type: 'TestEvent',
  data: { label },
  metadata: {},
});
const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

async function eventually(what: string, check: () => boolean | Promise<boolean>, ms = 10_000): Promise<void> {
  const deadline = Date.now() + ms;
  while (!(await check())) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await sleep(20);
  }
}

/** A live subscriber from the start of the log, recording what it is handed. */
function follow(store: PgEventStore) {
  const controller = new AbortController();
  const received: RecordedEvent[] = [];
  const done = (async () => {
    for await (const item of store.subscribe({ signal: controller.signal })) {
      if (item.kind === 'event') received.push(item.event);
    }
  })();
  const stop = () => {
    controller.abort();
    return withTimeout(done, 20_000, () => new Error('did not stop'));
  };
  return { received, stop };
}

// ---------------------------------------------------------------------------------------------
const mapping = suite('postgres: every driver error is a typed one');

const sqlError = (code: string) => Object.assign(new Error(`server says ${code}`), { code });

mapping('connection loss, shutdowns and refused connections are unreachable', () => {
  for (const raw of [
    sqlError('57P01'),
    sqlError('57P02'),
    sqlError('57P03'),
    sqlError('08006'),
    sqlError('ECONNRESET'),
    sqlError('ECONNREFUSED'),
    new Error('Connection terminated unexpectedly'),
    new Error('timeout exceeded when trying to connect'),
    Object.assign(new Error('database "x" is not currently accepting connections'), { code: '55000' }),
  ]) {
    const mapped = pgStoreError(raw);
    assert.instance(mapped, StoreUnavailableError, raw.message);
    assert.is((mapped as StoreUnavailableError).reason, 'unreachable', raw.message);
    assert.is(mapped.cause, raw);
  }
});

mapping('disk full is full; serialization failures, deadlocks and lock waits are busy; a standby is io', () => {
  const cases: [string, StoreUnavailableError['reason']][] = [
    ['53100', 'full'],
    ['40001', 'busy'],
    ['40P01', 'busy'],
    ['23505', 'busy'],
    ['55P03', 'busy'],
    ['53300', 'busy'],
    ['25006', 'io'],
    ['XX001', 'io'],
  ];
  for (const [code, reason] of cases) {
    const mapped = pgStoreError(sqlError(code));
    assert.instance(mapped, StoreUnavailableError, code);
    assert.is((mapped as StoreUnavailableError).reason, reason, code);
  }
});

mapping('the port’s own errors pass; a fault of the program (syntax, check) stays itself', () => {
  const ours = new WrongExpectedVersionError('s', 'no_stream', 0n);
  assert.is(pgStoreError(ours), ours);
  const syntax = sqlError('42601');
  assert.is(pgStoreError(syntax), syntax);
  assert.not.instance(pgStoreError(sqlError('23514')), StoreUnavailableError);
});

mapping('a password in a message never reaches the typed error', () => {
  const mapped = pgStoreError(new Error('Connection terminated: postgres://u:hunter2hunter2@db/x'));
  assert.not.match(mapped.message, /hunter2/);
});

mapping.run();

// ---------------------------------------------------------------------------------------------
if (await pgAvailableOrSkip('postgres store suite')) {
  const test = suite<{ database: ScratchDatabase; store: PgEventStore }>('postgres store');
  test.before.each(async (context) => {
    context.database = await createScratchDatabase();
    context.store = await openPgStore(context.database.url, { pollIntervalMs: 100, ownWritesWaitMs: 50 });
  });
  test.after.each(async ({ store, database }) => {
    await store.close();
    await database.drop();
  });

  test('an append still open holds readers back; none skips it, and all is delivered once, in order', async ({
    store,
    database,
  }) => {
    const subscriber = follow(store);
    // A second connection appends through the store's own SQL and keeps its transaction open.
    const held = new pg.Client({ connectionString: database.url });
    await held.connect();
    try {
      await held.query('BEGIN');
      const batch = [
        [{ stream: 'held', expected: '-1', events: [{ id: randomUUID(), type: 'T', data: '{}', metadata: '{}' }] }],
      ];
      const { rows } = await held.query('SELECT ledger_append($1::jsonb)::text AS o', [JSON.stringify(batch)]);
      const heldPosition = BigInt(JSON.parse(rows[0].o)[0].results[0].position);

      const later: bigint[] = [];
      for (let i = 0; i < 5; i++)
        later.push((await store.append(`later-${i}`, [event(`l${i}`)], 'no_stream')).position);
      // The trap a sequence-ordered store falls into: these committed, with positions above the held one.
      assert.ok(later.every((p) => p > heldPosition));
      const { rows: committed } = await store_rows(database.url);
      assert.is(committed, 5, 'five later events are committed and readable by a naive reader');
      await sleep(400);
      assert.equal(subscriber.received, [], 'nothing past the open transaction is handed out');
      assert.is(await store.headPosition(), undefined);

      await held.query('COMMIT');
      await eventually('all six events', () => subscriber.received.length >= 6);
      await sleep(300);
      const positions = subscriber.received.map((e) => e.position);
      assert.equal(positions, [heldPosition, ...later]);
      assert.is(new Set(subscriber.received.map((e) => e.id)).size, 6);
      assert.is(await store.headPosition(), later[4]);
    } finally {
      await held.end();
      await subscriber.stop();
    }
  });

  test('many writers, some held open at random: every event delivered exactly once, in position order', async ({
    store,
    database,
  }) => {
    const subscriber = follow(store);
    const writers = Array.from({ length: 4 }, () => new pg.Client({ connectionString: database.url }));
    await Promise.all(writers.map((w) => w.connect()));
    let expected = 0;
    try {
      for (let round = 0; round < 10; round++) {
        const open = writers.map(async (writer, i) => {
          await writer.query('BEGIN');
          const events = [{ id: randomUUID(), type: 'T', data: `{"round":${round}}`, metadata: '{}' }];
          await writer.query('SELECT ledger_append($1::jsonb)', [
            JSON.stringify([[{ stream: `w${i}-r${round}`, expected: '-1', events }]]),
          ]);
        });
        await Promise.all(open);
        const direct = Array.from({ length: 3 }, (_, j) => store.append(`d${j}-r${round}`, [event('d')], 'no_stream'));
        // Commit the held ones in a shuffled order, with the store's own appends in between.
        for (const writer of [...writers].sort(() => Math.random() - 0.5)) {
          await writer.query('COMMIT');
          await sleep(Math.random() * 20);
        }
        await Promise.all(direct);
        expected += writers.length + direct.length;
      }
      await eventually('every event', () => subscriber.received.length >= expected);
      await sleep(300);
      const positions = subscriber.received.map((e) => e.position);
      assert.is(positions.length, expected, 'no duplicate delivery');
      for (let i = 1; i < positions.length; i++) assert.ok(positions[i - 1]! < positions[i]!, 'strictly increasing');
      const all: bigint[] = [];
      for await (const e of store.readAll()) all.push(e.position);
      assert.equal(positions, all, 'the feed is the log');
    } finally {
      await Promise.all(writers.map((w) => w.end()));
      await subscriber.stop();
    }
  });

  test('backends terminated: calls fail typed, the pool and the LISTEN connection come back', async ({
    store,
    database,
  }) => {
    // A poll interval far beyond the test: only a notification can wake the subscriber.
    const quiet = await openPgStore(database.url, { pollIntervalMs: 60_000 });
    const subscriber = follow(quiet);
    try {
      await eventually('listening', () => quiet.listening());
      await store.append('before', [event('before')], 'no_stream');
      await eventually('the first event', () => subscriber.received.length === 1);

      // A query in flight when its backend is terminated fails as unreachable.
      const inFlight = quiet.readStream('x').then(
        () => undefined,
        (error: unknown) => error,
      );
      const sleeper = new pg.Client({ connectionString: database.url });
      await sleeper.connect();
      sleeper.on('error', () => {});
      const slow = sleeper.query('SELECT pg_sleep(30)').then(
        () => undefined,
        (error: unknown) => pgStoreError(error),
      );
      await sleep(100);
      assert.ok((await terminateBackends(database.name)) >= 2);
      const failed = await slow;
      await sleeper.end().catch(() => {});
      assert.instance(failed, StoreUnavailableError);
      assert.is((failed as StoreUnavailableError).reason, 'unreachable');
      const maybe = await inFlight;
      if (maybe !== undefined) assert.instance(maybe, StoreUnavailableError);

      await eventually('listening again', () => quiet.listening());
      // The pool drops dead connections: within a retry or two, appends and reads work again.
      await eventually('an append after the outage', async () => {
        try {
          await quiet.append('after', [event('after')], 'no_stream');
          return true;
        } catch (error) {
          assert.instance(error, StoreUnavailableError);
          return false;
        }
      });
      await quiet.ping();
      await eventually('the event after the outage, woken by a notification', () => subscriber.received.length === 2);
      assert.equal(
        subscriber.received.map((e) => e.streamId),
        ['before', 'after'],
      );
    } finally {
      try {
        await subscriber.stop();
      } finally {
        await quiet.close();
      }
    }
  });

  test('an append naming an event id twice fails alone; the appends committed with it are kept', async ({ store }) => {
    const twice = event('twice');
    const shared = event('shared');
    const [good, repeated, across] = await Promise.allSettled([
      store.append('good', [event('g')], 'no_stream'),
      store.append('repeated', [twice, twice], 'no_stream'),
      store.appendAtomically!([
        { streamId: 'left', events: [shared], expected: 'no_stream' },
        { streamId: 'right', events: [shared], expected: 'no_stream' },
      ]),
    ]);
    assert.is(good.status, 'fulfilled', 'the neighbour in the same batch commits');
    for (const outcome of [repeated, across]) {
      assert.is(outcome.status, 'rejected');
      assert.instance((outcome as PromiseRejectedResult).reason, WrongExpectedVersionError);
    }
    assert.equal(
      (await store.readStream('good')).map((e) => e.data.label),
      ['g'],
    );
    for (const stream of ['repeated', 'left', 'right']) assert.is((await store.readStream(stream)).length, 0, stream);
  });

  test('a row edited to hold no JSON object is a finding naming it; the log reads on past it', async ({
    store,
    database,
  }) => {
    await store.append('s', [event('a'), event('b'), event('c')], 'no_stream');
    const admin = new pg.Client({ connectionString: database.url });
    await admin.connect();
    const { rows } = await admin.query(
      `UPDATE ledger_events SET data = '[1]', metadata = '"text"' WHERE stream_id = 's' AND revision = 1 RETURNING position::text`,
    );
    await admin.end();
    const position = BigInt(rows[0].position);
    const error = await store.readStream('s').catch((e: unknown) => e);
    assert.instance(error, CorruptEventError);
    const corrupt = error as CorruptEventError;
    assert.equal([corrupt.streamId, corrupt.revision, corrupt.position], ['s', 1n, position]);
    assert.match(corrupt.problem, /data is not a JSON object; metadata is not a JSON object/);
    const entries = [];
    for await (const entry of readAllEntries(store)) entries.push(entry);
    assert.equal(
      entries.map((e) => (e instanceof CorruptEventError ? `corrupt@${e.position}` : e.data.label)),
      ['a', `corrupt@${position}`, 'c'],
    );
  });

  test('an append of MAX_EVENTS_PER_APPEND events is taken; one more, alone or across an atomic append, is refused before anything is written', async ({
    store,
  }) => {
    const events = (n: number, label: string) => Array.from({ length: n }, (_, i) => event(`${label}${i}`));
    const full = await store.append('full', events(MAX_EVENTS_PER_APPEND, 'f'), 'no_stream');
    assert.is(full.nextExpectedRevision, BigInt(MAX_EVENTS_PER_APPEND - 1));
    assert.is((await store.readStream('full')).length, MAX_EVENTS_PER_APPEND);
    const over = await store
      .append('over', events(MAX_EVENTS_PER_APPEND + 1, 'o'), 'no_stream')
      .catch((e: unknown) => e);
    assert.instance(over, RangeError);
    const across = await store.appendAtomically!([
      { streamId: 'x', events: events(MAX_EVENTS_PER_APPEND, 'x'), expected: 'no_stream' },
      { streamId: 'y', events: events(1, 'y'), expected: 'no_stream' },
    ]).catch((e: unknown) => e);
    assert.instance(across, RangeError);
    for (const stream of ['over', 'x', 'y']) assert.is((await store.readStream(stream)).length, 0, stream);
  });

  test('two stores (two servers) racing: one stream stays gapless, an id raced onto two streams is stored once', async ({
    store,
    database,
  }) => {
    const other = await openPgStore(database.url);
    try {
      // Each writer appends at the head it last saw, reading it again after every refusal.
      const stores = [store, other, store, other];
      const landed: string[] = [];
      await Promise.all(
        stores.map(async (writer, w) => {
          for (let round = 0; round < 15; round++) {
            const e = event(`w${w}-${round}`);
            for (;;) {
              const head = (await writer.readStream('shared')).at(-1)?.revision ?? 'no_stream';
              const done = await writer.append('shared', [e], head).catch((error: unknown) => {
                if (error instanceof WrongExpectedVersionError) return undefined;
                throw error;
              });
              if (done) break;
            }
            landed.push(e.id);
          }
        }),
      );
      const events = await store.readStream('shared');
      assert.equal(
        events.map((e) => e.revision),
        events.map((_, i) => BigInt(i)),
        'revisions without a gap',
      );
      assert.equal(events.map((e) => e.id).sort(), [...landed].sort(), 'each acknowledged append once');

      for (let round = 0; round < 10; round++) {
        const raced = event('raced');
        const outcomes = await Promise.allSettled([
          store.append(`left-${round}`, [raced], 'no_stream'),
          other.append(`right-${round}`, [raced], 'no_stream'),
        ]);
        const kept = outcomes.filter((o) => o.status === 'fulfilled');
        assert.is(kept.length, 1, 'one of the two stores the id');
        for (const o of outcomes) {
          if (o.status === 'rejected') assert.instance(o.reason, WrongExpectedVersionError);
        }
        const stored = [...(await store.readStream(`left-${round}`)), ...(await store.readStream(`right-${round}`))];
        assert.is(stored.length, 1);
      }
    } finally {
      await other.close();
    }
  });

  test('a role whose rights are revoked, or whose login is refused, meets a typed error, not a raw one', async () => {
    const role = `ledger_rv_${randomUUID().slice(0, 8)}`;
    const own = await createScratchDatabase();
    const admin = new pg.Client({ connectionString: own.url });
    admin.on('error', () => {});
    await admin.connect();
    await admin.query(`CREATE ROLE ${role} LOGIN`);
    let limited: PgEventStore | undefined;
    try {
      await admin.query(`GRANT CREATE ON SCHEMA public TO ${role}`);
      const url = new URL(own.url);
      url.username = role;
      limited = await openPgStore(url.toString());
      await limited.append('s', [event('a')], 'no_stream');
      await admin.query(`REVOKE INSERT ON ledger_events FROM ${role}`);
      const revoked = await limited.append('t', [event('b')], 'no_stream').catch((e: unknown) => e);
      assert.instance(revoked, StoreUnavailableError);
      assert.is((revoked as StoreUnavailableError).reason, 'io');
      await admin.query(`ALTER ROLE ${role} NOLOGIN`);
      await admin.query('SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE usename = $1', [role]);
      const refused = await limited.readStream('s').catch((e: unknown) => e);
      assert.instance(refused, StoreUnavailableError);
      assert.is((refused as StoreUnavailableError).reason, 'io');
    } finally {
      await limited?.close();
      await admin.end();
      await own.drop();
      const cleanup = new pg.Client({ connectionString: own.url.replace(`/${own.name}`, '/postgres') });
      await cleanup.connect();
      await cleanup.query(`DROP ROLE ${role}`);
      await cleanup.end();
    }
  });

  test('a role with only read and write rights opens a database its owner set up, and appends', async ({
    store,
    database,
  }) => {
    await store.append('s', [event('owner')], 'no_stream');
    const role = `ledger_rw_${randomUUID().slice(0, 8)}`;
    const admin = new pg.Client({ connectionString: database.url });
    admin.on('error', () => {});
    await admin.connect();
    await admin.query(`CREATE ROLE ${role} LOGIN`);
    let limited: PgEventStore | undefined;
    try {
      await admin.query(`GRANT SELECT, INSERT, UPDATE ON ledger_events, ledger_streams TO ${role}`);
      const url = new URL(database.url);
      url.username = role;
      limited = await openPgStore(url.toString());
      await limited.append('s', [event('writer')], 0n);
      assert.equal(
        (await store.readStream('s')).map((e) => e.data.label),
        ['owner', 'writer'],
      );
    } finally {
      await limited?.close();
      await admin.query(`DROP OWNED BY ${role}`);
      await admin.query(`DROP ROLE ${role}`);
      await admin.end();
    }
  });

  test('a stream id, event id or type that PostgreSQL text cannot hold is refused alone; its batch commits', async ({
    store,
  }) => {
    const unholdable = ['nul\u0000', 'lone\ud800', 'low\udc00x'];
    const outcomes = await Promise.allSettled([
      store.append('good', [event('g')], 'no_stream'),
      ...unholdable.map((text) => store.append(text, [event('s')], 'no_stream')),
      ...unholdable.map((text) => store.append(`id-${text.length}`, [{ ...event('i'), id: text }], 'no_stream')),
      ...unholdable.map((text) => store.append(`type-${text.length}`, [{ ...event('t'), type: text }], 'no_stream')),
      store.append('pair\ud83d\ude00', [event('p')], 'no_stream'),
    ]);
    assert.is(outcomes[0]!.status, 'fulfilled', 'the neighbour commits');
    for (const outcome of outcomes.slice(1, -1)) {
      assert.is(outcome.status, 'rejected');
      assert.instance((outcome as PromiseRejectedResult).reason, RangeError);
    }
    assert.is(outcomes.at(-1)!.status, 'fulfilled', 'a surrogate pair is text like any other');
    assert.is((await store.readStream('pair\ud83d\ude00')).length, 1);
  });

  test('close ends the pool and the listener; calls afterwards fail as closed', async ({ store, database }) => {
    await store.append('s', [event('a')], 'no_stream');
    await store.close();
    const error = await store.readStream('s').catch((e: unknown) => e);
    assert.instance(error, StoreUnavailableError);
    assert.is((error as StoreUnavailableError).reason, 'closed');
    const sessions = await countSessions(database.url);
    assert.is(sessions, 0, 'no connection of the store is left on the server');
  });

  test('acknowledged is durable: the store’s sessions commit synchronously even where the database says off', async ({
    database,
  }) => {
    const admin = new pg.Client({ connectionString: database.url });
    await admin.connect();
    await admin.query(`ALTER DATABASE ${database.name} SET synchronous_commit = off`);
    await admin.end();
    assert.is(await synchronousCommit({ connectionString: database.url }), 'off', 'a plain session has the default');
    assert.is(await synchronousCommit(pgConnectionConfig(database.url)), 'on');
  });

  test.run();
}

async function store_rows(url: string): Promise<{ rows: number }> {
  const client = new pg.Client({ connectionString: url });
  await client.connect();
  try {
    const { rows } = await client.query("SELECT count(*)::int AS n FROM ledger_events WHERE stream_id LIKE 'later-%'");
    return { rows: rows[0].n };
  } finally {
    await client.end();
  }
}

async function countSessions(url: string): Promise<number> {
  const client = new pg.Client({ connectionString: url });
  await client.connect();
  try {
    const { rows } = await client.query(
      "SELECT count(*)::int AS n FROM pg_stat_activity WHERE datname = current_database() AND application_name = 'order-ledger'",
    );
    return rows[0].n;
  } finally {
    await client.end();
  }
}

async function synchronousCommit(config: pg.ClientConfig): Promise<string> {
  const client = new pg.Client(config);
  await client.connect();
  try {
    return (await client.query('SHOW synchronous_commit')).rows[0].synchronous_commit;
  } finally {
    await client.end();
  }
}
