/**
 * Graceful shutdown of the real entry point (`npm start`'s src/main.ts) in its own process:
 * SIGTERM while requests are in flight → they are all answered, new connections are refused,
 * the store is closed with the writes in it, and the process exits 0.
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

/** Starts src/main.ts and resolves with the URL from its "listening" log line. */
async function startMain(
  env: Record<string, string>,
): Promise<{ child: ChildProcess; url: string; output: () => string }> {
  const child = spawn(process.execPath, ['--import', 'tsx', 'src/main.ts'], {
    env: { ...process.env, HOST: '127.0.0.1', PORT: '0', LOG_LEVEL: 'info', ...env },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let output = '';
  child.stderr!.on('data', (chunk: Buffer) => (output += chunk.toString()));
  const url = await new Promise<string>((resolve, reject) => {
    child.stdout!.on('data', (chunk: Buffer) => {
      output += chunk.toString();
      for (const line of output.split('\n')) {
        if (line.includes('"msg":"listening"')) resolve(JSON.parse(line).url);
      }
    });
    child.once('exit', (code) => reject(new Error(`exited with ${code} before listening:\n${output}`)));
    setTimeout(() => reject(new Error(`not listening after 20 s:\n${output}`)), 20_000).unref();
  });
  return { child, url, output: () => output };
}

/** A PUT whose body is sent in two halves; `finish()` sends the rest and resolves with status and body. */
function halfSentRequest(url: string, path: string, body: string) {
  const { hostname, port } = new URL(url);
  const request = httpRequest({
    host: hostname,
    port,
    method: 'PUT',
    path,
    headers: { 'content-type': 'application/json', 'content-length': Buffer.byteLength(body) },
  });
  const answered = new Promise<{ status: number; text: string }>((resolve, reject) => {
    request.on('response', (response) => {
      let text = '';
      response.on('data', (chunk: Buffer) => (text += chunk.toString()));
      response.on('end', () => resolve({ status: response.statusCode ?? 0, text }));
    });
    request.on('error', reject);
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

test('SIGTERM with requests in flight: all answered, new connections refused, exit 0, writes kept', async () => {
  const dbPath = join(tempDir('shutdown'), 'ledger.db');
  const { child, url, output } = await startMain({
    LEDGER_STORE: `sqlite:${dbPath}`,
    LEDGER_SHUTDOWN_TIMEOUT_MS: '10000',
  });
  const exited = once(child, 'exit') as Promise<[number | null, NodeJS.Signals | null]>;

  assert.is((await send(url, 'PUT', '/orders/before', { body: orderBody() })).status, 201);
  const slow = halfSentRequest(url, '/orders/in-flight', JSON.stringify(orderBody()));
  const burst = Array.from({ length: 20 }, (_, i) =>
    send(url, 'POST', '/orders/before/payments', { body: { paymentId: `p-${i}`, amount: 10, currency: 'EUR' } }),
  );
  await new Promise((resolve) => setTimeout(resolve, 200)); // the half-sent request has reached the server
  child.kill('SIGTERM');
  await new Promise((resolve) => setTimeout(resolve, 300));

  const refused = await send(url, 'GET', '/health').then(
    () => false,
    (error: NodeJS.ErrnoException) => error.code === 'ECONNREFUSED',
  );
  assert.ok(refused, 'no new connections once shutting down');

  const answered = await slow.finish();
  assert.is(answered.status, 201, answered.text);
  for (const response of await Promise.all(burst)) assert.is(response.status, 201, response.text);

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
  const { child, url, output } = await startMain(env);
  const exited = once(child, 'exit') as Promise<[number | null, NodeJS.Signals | null]>;
  assert.is((await send(url, 'PUT', '/orders/before', { body: orderBody() })).status, 201);

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
  await new Promise((resolve) => setTimeout(resolve, 300)); // the three requests have reached the server
  child.kill('SIGTERM');
  try {
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
