/**
 * EventStoreDB adapter tests.
 * - The shared contract runs against a live server: the one ESDB_CONNECTION_STRING names, or a
 *   single node started in Docker with Testcontainers when an engine is reachable
 *   (test/support/esdb-server.ts). Without either it is skipped, saying why once and counted as
 *   skipped; ESDB_REQUIRED=1 turns its absence into a failure, for CI jobs that provide a server.
 * - The error-mapping suites always run: pure mapping of the client's own error classes, and
 *   real calls against loopback addresses where nothing (or a silent socket) answers.
 */
import { type ServerHttp2Session, createServer as createHttp2Server } from 'node:http2';
import { createServer } from 'node:net';
import type { AddressInfo, Socket } from 'node:net';
import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import {
  CancelledError,
  DeadlineExceededError,
  NotLeaderError,
  StreamNotFoundError,
  TimeoutError,
  UnavailableError,
  UnknownError,
  WrongExpectedVersionError as EsdbWrongExpectedVersionError,
  jsonEvent,
} from '@eventstore/db-client';
import { isUnknownOutcome, esdbStoreError as toStoreError } from '../../src/eventstore/esdb-errors.ts';
import { openEsdbStore } from '../../src/eventstore/esdb-store.ts';
import { StoreUnavailableError, WrongExpectedVersionError } from '../../src/eventstore/errors.ts';
import type { EventStore } from '../../src/eventstore/port.ts';
import { dockerEngineHint, findEsdbServer } from '../support/esdb-server.ts';
import { serverRefusal } from '../support/fake-esdb.ts';
import { CONTRACT_STREAM_PREFIX, runEventStoreContract } from './contract.ts';

const server = await findEsdbServer();
if ('connectionString' in server) {
  const { connectionString } = server;
  console.log(`esdb contract suite: against ${server.source}`);
  runEventStoreContract(
    'esdb',
    async () => openEsdbStore(connectionString, { streamPrefixes: [CONTRACT_STREAM_PREFIX] }),
    (store) => store.close(),
    { reportsDuplicates: false, sharedLog: true, after: () => server.stop() },
  );
} else if (process.env.ESDB_REQUIRED === '1') {
  console.error(`ESDB_REQUIRED=1 but there is no EventStoreDB to run the contract suite against: ${server.skipped}`);
  process.exit(1);
} else {
  console.log(`esdb contract suite skipped: ${server.skipped}`);
  const skipped = suite('event store contract: esdb');
  skipped.skip('the contract against a live EventStoreDB', () => undefined);
  skipped.run();
}

// ---------------------------------------------------------------------------------------------
const finding = suite('esdb: finding a server for the contract suite');

finding('a connection string wins; DOCKER_HOST counts as an engine to try', async () => {
  const given = await findEsdbServer({ ESDB_CONNECTION_STRING: 'esdb://db.example:2113?tls=false' });
  assert.ok('connectionString' in given);
  assert.is(given.connectionString, 'esdb://db.example:2113?tls=false');
  assert.is(dockerEngineHint({ DOCKER_HOST: 'tcp://docker.example:2375' }), 'DOCKER_HOST=tcp://docker.example:2375');
});

finding('without a Docker engine the suite is skipped at once, saying why', async () => {
  if (dockerEngineHint({}) !== undefined) return; // this machine has an engine address: the other branch runs
  const started = performance.now();
  const found = await findEsdbServer({});
  assert.ok('skipped' in found);
  assert.match(found.skipped, /no Docker engine is reachable/);
  assert.ok(performance.now() - started < 200, 'Testcontainers is not even loaded');
});

finding.run();

// ---------------------------------------------------------------------------------------------
const mapping = suite('esdb: toStoreError maps the client errors');

mapping('a wrong expected version keeps the stream, our expectation and the actual revision', () => {
  const raw = new EsdbWrongExpectedVersionError(undefined, { streamName: 'order-a', expected: 3n, current: 5n });
  const mapped = toStoreError(raw, 'order-a', 3n);
  assert.instance(mapped, WrongExpectedVersionError);
  const e = mapped as WrongExpectedVersionError;
  assert.is(e.streamId, 'order-a');
  assert.is(e.expected, 3n);
  assert.is(e.actual, 5n);
});

mapping('a missing stream is actual no_stream', () => {
  const raw = new EsdbWrongExpectedVersionError(undefined, {
    streamName: 'order-b',
    expected: 0n,
    current: 'no_stream',
  });
  const e = toStoreError(raw, 'order-b', 0n) as WrongExpectedVersionError;
  assert.instance(e, WrongExpectedVersionError);
  assert.is(e.actual, 'no_stream');
});

mapping('without context the client error supplies stream and expectation', () => {
  const raw = new EsdbWrongExpectedVersionError(undefined, {
    streamName: 'order-c',
    expected: 'no_stream',
    current: 2n,
  });
  const e = toStoreError(raw) as WrongExpectedVersionError;
  assert.instance(e, WrongExpectedVersionError);
  assert.is(e.streamId, 'order-c');
  assert.is(e.expected, 'no_stream');
  assert.is(e.actual, 2n);
  // An expectation our port cannot express is not invented.
  const any = new EsdbWrongExpectedVersionError(undefined, {
    streamName: 'order-c',
    expected: 'stream_exists',
    current: 2n,
  });
  assert.is(toStoreError(any), any);
});

mapping('unavailable, deadline and cancelled are unreachable; server timeout and not-leader are busy', () => {
  for (const raw of [new UnavailableError(), new DeadlineExceededError(), new CancelledError()]) {
    const e = toStoreError(raw);
    assert.instance(e, StoreUnavailableError, raw.constructor.name);
    assert.is((e as StoreUnavailableError).reason, 'unreachable');
    assert.is(e.cause, raw);
  }
  // NotLeaderError reads the leader's address from the gRPC metadata.
  const metadata = { getMap: () => ({ 'leader-endpoint-host': 'esdb2', 'leader-endpoint-port': '2113' }) };
  const notLeader = new NotLeaderError({ code: 5, details: 'not leader', metadata } as unknown as ConstructorParameters<
    typeof NotLeaderError
  >[0]);
  for (const raw of [new TimeoutError(), notLeader]) {
    const e = toStoreError(raw);
    assert.instance(e, StoreUnavailableError, raw.constructor.name);
    assert.is((e as StoreUnavailableError).reason, 'busy');
  }
});

mapping('a node not ready, busy or too busy (an UnknownError without a code, as the client unpacks it) is busy', () => {
  for (const kind of ['Server Is Not Ready', 'Server Is Busy', 'Server Is Too Busy'] as const) {
    const raw = serverRefusal(kind);
    assert.instance(raw, UnknownError, kind);
    assert.is((raw as UnknownError).code, undefined, kind);
    const e = toStoreError(raw);
    assert.instance(e, StoreUnavailableError, kind);
    assert.is((e as StoreUnavailableError).reason, 'busy', kind);
  }
  // Any other status the client does not recognise stays a refusal of the call, not a busy node.
  const other = new UnknownError(undefined, 'Could not recognize Something Else');
  assert.is((toStoreError(other) as StoreUnavailableError).reason, 'io');
  // The batch append's timeout (event_store.client.Timeout) is a DeadlineExceededError without a code.
  const timeout = serverRefusal('timeout');
  assert.instance(timeout, DeadlineExceededError);
  assert.ok(isUnknownOutcome(timeout));
  assert.is((toStoreError(timeout) as StoreUnavailableError).reason, 'unreachable');
  assert.match(
    toStoreError(timeout).message,
    /unreachable: deadline-exceeded$/,
    'named by its type, not an empty message',
  );
});

mapping('raw gRPC, socket and discovery failures are unreachable', () => {
  const grpc14 = Object.assign(new Error('14 UNAVAILABLE: No connection established'), {
    code: 14,
    details: 'No connection established',
  });
  const grpc4 = Object.assign(new Error('4 DEADLINE_EXCEEDED: Deadline exceeded'), {
    code: 4,
    details: 'Deadline exceeded',
  });
  const refused = Object.assign(new Error('connect ECONNREFUSED 127.0.0.1:1'), { code: 'ECONNREFUSED' });
  const discovery = new Error('Failed to discover after 10 attempts.');
  for (const raw of [grpc14, grpc4, refused, discovery]) {
    const e = toStoreError(raw);
    assert.instance(e, StoreUnavailableError, raw.message);
    assert.is((e as StoreUnavailableError).reason, 'unreachable');
  }
});

mapping('our own errors and unrelated errors pass through unchanged', () => {
  const ours = new StoreUnavailableError('x', 'closed');
  assert.is(toStoreError(ours), ours);
  const wev = new WrongExpectedVersionError('order-d', 'no_stream', 0n);
  assert.is(toStoreError(wev), wev);
  const notFound = new StreamNotFoundError(undefined, 'order-e');
  assert.is(toStoreError(notFound), notFound);
  const bug = new TypeError('boom');
  assert.is(toStoreError(bug), bug);
  assert.instance(toStoreError('weird'), Error);
});

mapping('jsonEvent keeps the id we give it (deterministic ids survive a retry)', () => {
  const id = '0b6c7a43-8a6f-5b0b-9a36-5a8f3a1e2c10';
  assert.is(jsonEvent({ id, type: 'T', data: { a: 1 }, metadata: { b: 2 } }).id, id);
});

mapping('a connection string that disables throwing on conflicts is refused', () => {
  assert.throws(() => openEsdbStore('esdb://127.0.0.1:1?tls=false&throwOnAppendFailure=false'), /throwOnAppendFailure/);
});

mapping.run();

// ---------------------------------------------------------------------------------------------
const BOUND_MS = 10_000;

async function unavailableWithin(what: string, work: () => Promise<unknown>, reason = 'unreachable'): Promise<number> {
  const started = performance.now();
  try {
    await work();
  } catch (error) {
    const ms = performance.now() - started;
    assert.instance(error, StoreUnavailableError, `${what}: ${String(error)}`);
    assert.is((error as StoreUnavailableError).reason, reason, what);
    assert.ok(ms < BOUND_MS, `${what} took ${Math.round(ms)} ms`);
    return ms;
  }
  assert.unreachable(`${what} did not reject`);
  return 0;
}

const event = { id: '6f1f5b7e-2d7c-5d55-8c2e-0d6b1c1b9a01', type: 'TestEvent', data: { a: 1 }, metadata: {} };

const refused = suite<{ store: EventStore }>('esdb: nothing listening (127.0.0.1:1)');
refused.before((context) => {
  context.store = openEsdbStore('esdb://127.0.0.1:1?tls=false');
});
refused.after(async ({ store }) => {
  await store.close();
});

refused('append rejects as unreachable', async ({ store }) => {
  await unavailableWithin('append', () => store.append('order-offline', [event], 'no_stream'));
});
refused('ping rejects as unreachable', async ({ store }) => {
  await unavailableWithin('ping', () => store.ping());
});
refused('readStream rejects as unreachable', async ({ store }) => {
  await unavailableWithin('readStream', () => store.readStream('order-offline'));
});
refused('readAll, headPosition and subscribe reject as unreachable', async ({ store }) => {
  await unavailableWithin('readAll', async () => {
    for await (const _ of store.readAll()) break;
  });
  await unavailableWithin('headPosition', () => store.headPosition());
  await unavailableWithin('subscribe', async () => {
    for await (const _ of store.subscribe({ signal: new AbortController().signal })) break;
  });
});
refused('a cluster string whose seeds all refuse fails discovery as unreachable', async () => {
  const cluster = openEsdbStore('esdb://127.0.0.1:1,127.0.0.1:1?tls=false&nodePreference=leader');
  try {
    await unavailableWithin('append (gossip discovery)', () => cluster.append('order-offline', [event], 'no_stream'));
  } finally {
    await cluster.close();
  }
});
refused('after close, calls fail as closed', async ({ store }) => {
  await store.close();
  await unavailableWithin('append after close', () => store.append('order-offline', [event], 'no_stream'), 'closed');
  await unavailableWithin('readStream after close', () => store.readStream('order-offline'), 'closed');
});
refused.run();

/** A server that accepts connections and never answers: only our own timers bound a call to it. */
async function silentServer(): Promise<{ port: number; sockets: Set<Socket>; close: () => Promise<void> }> {
  const sockets = new Set<Socket>();
  const server = createServer((socket) => {
    sockets.add(socket);
    socket.on('close', () => sockets.delete(socket));
    socket.on('error', () => undefined);
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  const close = async () => {
    for (const socket of sockets) socket.destroy();
    await new Promise<void>((resolve) => server.close(() => resolve()));
  };
  return { port, sockets, close };
}

const silent = suite<{ store: EventStore; close: () => Promise<void> }>('esdb: a silent server (loopback)');
silent.before(async (context) => {
  const server = await silentServer();
  context.store = openEsdbStore(`esdb://127.0.0.1:${server.port}?tls=false`, { timeoutMs: 1_000 });
  context.close = server.close;
});
silent.after(async ({ store, close }) => {
  await store.close();
  await close();
});

silent('append, ping and readStream give up within their bound', async ({ store }) => {
  for (const [what, work] of [
    ['append', () => store.append('order-silent', [event], 'no_stream')],
    ['ping', () => store.ping()],
    ['readStream', () => store.readStream('order-silent')],
  ] as const) {
    const ms = await unavailableWithin(what, work);
    assert.ok(ms < 3_000, `${what} took ${Math.round(ms)} ms with a 1000 ms bound`);
  }
});

/**
 * An HTTP/2 server that takes the connection and never answers a call: the channel gets READY, as
 * with a real node, so what closes the connection afterwards is the store's close() alone.
 */
silent("close() closes the gRPC connection (the client's dispose() alone leaves it open)", async () => {
  const sessions = new Set<ServerHttp2Session>();
  const server = createHttp2Server();
  server.on('session', (session) => {
    sessions.add(session);
    session.on('close', () => sessions.delete(session));
  });
  server.on('stream', () => undefined);
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  const store = openEsdbStore(`esdb://127.0.0.1:${port}?tls=false`, { timeoutMs: 300 });
  try {
    await unavailableWithin('ping', () => store.ping());
    assert.is(sessions.size, 1, 'the call opened one connection');
    await store.close();
    const deadline = Date.now() + 3_000;
    while (sessions.size > 0 && Date.now() < deadline) await new Promise((r) => setTimeout(r, 20));
    assert.is(sessions.size, 0, 'the connection is closed once the store is');
  } finally {
    await store.close();
    for (const session of sessions) session.destroy();
    await new Promise<void>((resolve) => server.close(() => resolve()));
  }
});
silent.run();
