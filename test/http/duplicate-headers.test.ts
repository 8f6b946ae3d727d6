/**
 * Headers a proxy and the ledger could read differently: two Authorization headers (Node keeps
 * the first, a proxy may keep the last) are a 400; two Content-Types, or two charset parameters,
 * a 415. Raw HTTP, since a client library would merge or refuse them. Nothing is written.
 */
import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import { allEvents, orderBody, startTestServer, type TestServer } from '../support/http.ts';
import { rawExchange, rawRequest } from '../support/raw-http.ts';

const ALICE = 'alice-secret-0123456789';
const BOB = 'bob-secret-0123456789abcdef';
const test = suite<{ server: TestServer }>('http: duplicated headers');

test.before(async (context) => {
  context.server = await startTestServer({ env: { LEDGER_API_KEYS: `alice:${ALICE},bob:${BOB}` } });
});
test.after(async ({ server }) => server.close());

/** rawRequest takes a record; a header sent twice needs its second line spliced in. */
function twice(method: string, path: string, headers: Record<string, string>, extra: string, body = ''): string {
  return rawRequest(method, path, headers, body).replace('\r\n\r\n', `\r\n${extra}\r\n\r\n`);
}

function assertProblemAnswer(
  answer: { status: number; headers: Record<string, string>; body: string },
  status: number,
  slug: string,
) {
  assert.is(answer.status, status, answer.body);
  assert.match(answer.headers['content-type'] ?? '', /^application\/problem\+json/);
  assert.is(JSON.parse(answer.body).type, `/problems/${slug}`);
}

test('two Authorization headers: 400 problem+json, on reads and on commands, nothing written', async ({ server }) => {
  const before = (await allEvents(server.store)).length;
  const body = JSON.stringify(orderBody());
  const json = { 'Content-Type': 'application/json' };
  const read = twice('GET', '/orders', { Authorization: `Bearer ${ALICE}` }, `Authorization: Bearer ${BOB}`);
  assertProblemAnswer(await rawExchange(server.url, read), 400, 'bad-request');
  const command = twice(
    'PUT',
    '/orders/two-auth',
    { ...json, Authorization: `Bearer ${ALICE}` },
    `Authorization: Bearer ${BOB}`,
    body,
  );
  assertProblemAnswer(await rawExchange(server.url, command), 400, 'bad-request');
  assert.is((await allEvents(server.store)).length, before);
  const one = await rawExchange(
    server.url,
    rawRequest('PUT', '/orders/one-auth', { ...json, Authorization: `Bearer ${ALICE}` }, body),
  );
  assert.is(one.status, 201, one.body);
});

test('two Content-Types, or two charset parameters: 415, nothing written', async ({ server }) => {
  const before = (await allEvents(server.store)).length;
  const body = JSON.stringify(orderBody());
  const auth = { Authorization: `Bearer ${ALICE}` };
  const requests = [
    twice(
      'PUT',
      '/orders/two-types',
      { ...auth, 'Content-Type': 'application/json' },
      'Content-Type: text/plain',
      body,
    ),
    twice(
      'PUT',
      '/orders/two-types-same',
      { ...auth, 'Content-Type': 'application/json' },
      'Content-Type: application/json',
      body,
    ),
    rawRequest(
      'PUT',
      '/orders/two-charsets',
      { ...auth, 'Content-Type': 'application/json; charset=utf-8; charset=utf-16' },
      body,
    ),
    rawRequest(
      'PUT',
      '/orders/two-charsets-b',
      { ...auth, 'Content-Type': 'application/json;charset=utf-8;charset=utf-16' },
      body,
    ),
  ];
  for (const request of requests)
    assertProblemAnswer(await rawExchange(server.url, request), 415, 'unsupported-media-type');
  assert.is((await allEvents(server.store)).length, before);
});

test.run();
