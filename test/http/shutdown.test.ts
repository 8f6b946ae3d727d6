/**
 * Graceful shutdown of the real entry point (`npm start`'s src/main.ts) in its own process:
 * SIGTERM while requests are in flight → they are all answered, new connections are refused,
 * the store is closed with the writes in it, and the process exits 0. Nothing here sleeps for a
 * guessed time: each step waits, within a deadline, for what the server logs or answers, and a
 * socket error in a client is an outcome the test asserts on, never an unhandled one.
 */
import { type ChildProcess, spawn } from 'node:child_process';
import { once } from 'node:events';
import { request as httpRequest } from 'node:http';
import { join } from 'node:path';
import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import { openSqliteStore } from '../../src/eventstore/sqlite-store.ts';
import { orderBody, send } from '../support/http.ts';
import { openSocket, rawRequest, readAnswer } from '../support/raw-http.ts';
import { tempDir } from '../support/temp.ts';

const test = suite('http: graceful shutdown');

interface Main {
  readonly child: ChildProcess;
  readonly url: string;
  readonly output: () => string;
  /** The complete JSON log lines written so far. */
  readonly logLines: () => Record<string, any>[];
}

/** The complete lines of `output` that are JSON (a line still being written is left for later). */
function jsonLines(output: string): Record<string, any>[] {
  const lines = output.split('\n').slice(0, -1);
  return lines.flatMap((line) => {
    try {
      const parsed = JSON.parse(line);
      return parsed && typeof parsed === 'object' ? [parsed] : [];
    } catch {
      return [];
    }
  });
}

/** Starts src/main.ts and resolves with the URL from its "listening" log line. */
async function startMain(env: Record<string, string>): Promise<Main> {
  const child = spawn(process.execPath, ['--import', 'tsx', 'src/main.ts'], {
    env: { ...process.env, HOST: '127.0.0.1', PORT: '0', LOG_LEVEL: 'info', ...env },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let stdout = '';
  let output = '';
  child.stderr!.on('data', (chunk: Buffer) => (output += chunk.toString()));
  const logLines = () => jsonLines(stdout);
  const url = await new Promise<string>((resolve, reject) => {
    child.stdout!.on('data', (chunk: Buffer) => {
      stdout += chunk.toString();
      output += chunk.toString();
      const listening = logLines().find((line) => line.msg === 'listening');
      if (listening) resolve(listening.url);
    });
    child.once('exit', (code) => reject(new Error(`exited with ${code} before listening:\n${output}`)));
    setTimeout(() => reject(new Error(`not listening after 20 s:\n${output}`)), 20_000).unref();
  });
  return { child, url, output: () => output, logLines };
}

/** Polls `check` until it holds; past the deadline the test fails, saying what it waited for. */
async function waitUntil(what: string, check: () => boolean | Promise<boolean>, deadlineMs = 15_000): Promise<void> {
  const giveUpAt = Date.now() + deadlineMs;
  while (!(await check())) {
    if (Date.now() > giveUpAt) assert.unreachable(`not within ${deadlineMs} ms: ${what}`);
    await new Promise((resolve) => setTimeout(resolve, 10));
  }
}

/** How many requests to `url` the server has begun to handle (its "incoming request" log lines). */
const arrived = (main: Main, method: string, url: string) =>
  main.logLines().filter((l) => l.msg === 'incoming request' && l.req?.method === method && l.req?.url === url).length;

/** An answer, or the socket error that took its place: either is an outcome to assert on, never an unhandled one. */
type Outcome = { readonly status: number; readonly text: string } | { readonly error: string };

const settled = (sent: Promise<{ status: number; text: string }>): Promise<Outcome> =>
  sent.then(
    ({ status, text }) => ({ status, text }),
    (error: NodeJS.ErrnoException) => ({ error: error.code ?? error.message }),
  );

function assertAnswered(outcome: Outcome, status: number, what: string): void {
  if ('error' in outcome) assert.unreachable(`${what}: no answer, ${outcome.error}`);
  else assert.is(outcome.status, status, `${what}: ${outcome.text}`);
}

/** A PUT whose body is sent in two halves; `finish()` sends the rest and resolves with its outcome. */
function halfSentRequest(url: string, path: string, body: string) {
  const { hostname, port } = new URL(url);
  const request = httpRequest({
    host: hostname,
    port,
    method: 'PUT',
    path,
    headers: { 'content-type': 'application/json', 'content-length': Buffer.byteLength(body) },
  });
  const answered = new Promise<Outcome>((resolve) => {
    const failed = (error: NodeJS.ErrnoException) => resolve({ error: error.code ?? error.message });
    request.on('response', (response) => {
      let text = '';
      response.on('data', (chunk: Buffer) => (text += chunk.toString()));
      response.on('error', failed);
      response.on('aborted', () => resolve({ error: 'aborted' }));
      response.on('end', () => resolve({ status: response.statusCode ?? 0, text }));
    });
    request.on('error', failed);
  });
  const half = Math.floor(body.length / 2);
  request.write(body.slice(0, half));
  return {
    finish: () => {
      request.end(body.slice(half));
      return answered;
    },
  };
}

/** Whether a new connection is refused now (a reset or an answer mean the server still accepted it). */
const refusesConnections = (url: string) =>
  settled(send(url, 'GET', '/health')).then((outcome) => 'error' in outcome && outcome.error === 'ECONNREFUSED');

test('SIGTERM with requests in flight: all answered, new connections refused, exit 0, writes kept', async () => {
  const dbPath = join(tempDir('shutdown'), 'ledger.db');
  const main = await startMain({ LEDGER_STORE: `sqlite:${dbPath}`, LEDGER_SHUTDOWN_TIMEOUT_MS: '10000' });
  const { child, url, output } = main;
  const exited = once(child, 'exit') as Promise<[number | null, NodeJS.Signals | null]>;

  assertAnswered(await settled(send(url, 'PUT', '/orders/before', { body: orderBody() })), 201, 'the first order');
  const slow = halfSentRequest(url, '/orders/in-flight', JSON.stringify(orderBody()));
  const burst = Array.from({ length: 20 }, (_, i) =>
    settled(
      send(url, 'POST', '/orders/before/payments', { body: { paymentId: `p-${i}`, amount: 10, currency: 'EUR' } }),
    ),
  );
  // Every request is on a connection the server accepted before the signal: none of them may be lost.
  await waitUntil('the half-sent request reached the server', () => arrived(main, 'PUT', '/orders/in-flight') === 1);
  await waitUntil('the burst reached the server', () => arrived(main, 'POST', '/orders/before/payments') === 20);
  child.kill('SIGTERM');

  await waitUntil('new connections are refused once shutting down', () => refusesConnections(url));
  assert.is(child.exitCode, null, 'still running: the half-sent request holds the shutdown');

  assertAnswered(await slow.finish(), 201, 'the half-sent request');
  for (const [i, outcome] of (await Promise.all(burst)).entries()) assertAnswered(outcome, 201, `capture p-${i}`);

  const [code] = await exited;
  assert.is(code, 0, output());
  assert.match(output(), /shut down cleanly/);

  const store = openSqliteStore(dbPath);
  try {
    assert.is((await store.readStream('order-in-flight')).length, 1, 'the in-flight write is in the log');
    assert.is((await store.readStream('order-before')).length, 21);
  } finally {
    await store.close();
  }
});

test('SIGTERM with slow senders connected: they are cut, the process exits 0 within its bound', async () => {
  const dbPath = join(tempDir('shutdown-slow'), 'ledger.db');
  // A bound well under the 10 s request timeout: only the shutdown's own cut can free the sockets in time.
  const env = { LEDGER_STORE: `sqlite:${dbPath}`, LEDGER_SHUTDOWN_TIMEOUT_MS: '4000' };
  const main = await startMain(env);
  const { child, url, output } = main;
  const exited = once(child, 'exit') as Promise<[number | null, NodeJS.Signals | null]>;
  assertAnswered(await settled(send(url, 'PUT', '/orders/before', { body: orderBody() })), 201, 'the first order');

  const body = JSON.stringify(orderBody());
  const slow = [0, 1, 2].map((i) => {
    const socket = openSocket(url);
    const request = rawRequest('PUT', `/orders/slow-${i}`, { 'content-type': 'application/json' }, body);
    socket.write(request.slice(0, request.length - body.length + 1));
    return socket;
  });
  const drip = setInterval(
    () =>
      slow.forEach((socket) => {
        if (!socket.destroyed) socket.write(' ');
      }),
    5_000,
  );
  const closed = Promise.all(slow.map((socket) => readAnswer(socket, 20_000)));
  try {
    await waitUntil('the three requests reached the server', () =>
      [0, 1, 2].every((i) => arrived(main, 'PUT', `/orders/slow-${i}`) === 1),
    );
    child.kill('SIGTERM');
    const [code] = await exited;
    assert.is(code, 0, output());
    assert.match(output(), /shut down cleanly/);
    for (const answer of await closed) assert.ok(answer.closed, 'the slow sender was disconnected');
  } finally {
    clearInterval(drip);
  }
  const store = openSqliteStore(dbPath);
  try {
    for (const i of [0, 1, 2]) {
      assert.is((await store.readStream(`order-slow-${i}`)).length, 0, 'a cut request has no effect');
    }
    assert.is((await store.readStream('order-before')).length, 1);
  } finally {
    await store.close();
  }
});

test('a configuration the ledger refuses: a clear message and exit 1', async () => {
  const { LEDGER_API_KEYS: _keys, LEDGER_AUTH: _auth, ...inherited } = process.env;
  const child = spawn(process.execPath, ['--import', 'tsx', 'src/main.ts'], {
    env: { ...inherited, HOST: '0.0.0.0', PORT: '0', LEDGER_STORE: `sqlite:${join(tempDir('refused'), 'x.db')}` },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let stderr = '';
  child.stderr!.on('data', (chunk: Buffer) => (stderr += chunk.toString()));
  const [code] = (await once(child, 'exit')) as [number | null];
  assert.is(code, 1);
  assert.match(stderr, /^order-ledger: refusing to listen on HOST=0\.0\.0\.0 without authentication.*LEDGER_AUTH=off/);
  assert.not.match(stderr, /\n\s+at /, 'no stack trace for a configuration error');
});

test.run();
