/**
 * The test client's check against the OpenAPI document catches drift: an undocumented status, a
 * body off its schema, a wrong content type, a missing or malformed documented header.
 */
import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import { orderBody, send, startTestServer, type TestServer } from '../support/http.ts';
import { type Answer, conformanceChecker } from '../support/openapi-conformance.ts';

const test = suite<{ server: TestServer; check: (answer: Answer) => string[]; created: Answer }>(
  'http: answers checked against the OpenAPI document',
);

test.before(async (context) => {
  context.server = await startTestServer();
  context.check = conformanceChecker((await send(context.server.url, 'GET', '/openapi.json')).json);
  const sent = await send(context.server.url, 'PUT', '/orders/c-1', { body: orderBody() });
  context.created = { method: 'PUT', path: '/orders/c-1', ...sent };
});
test.after(async ({ server }) => server.close());

test('a real answer conforms', ({ check, created }) => {
  assert.equal(check(created), []);
});

test('drift is reported', ({ check, created }) => {
  const body = JSON.parse(created.text);
  const drifted: Array<[string, Partial<Answer>]> = [
    ['status not documented', { status: 418 }],
    ['body does not match', { text: JSON.stringify({ ...body, total: 'a lot' }) }],
    ['body does not match', { text: JSON.stringify({ ...body, extra: 1 }) }],
    ['content type text/html not documented', { headers: { ...created.headers, 'content-type': 'text/html' } }],
    ['header etag is missing', { headers: { ...created.headers, etag: undefined } }],
    ['header etag: "W/\\"0\\""', { headers: { ...created.headers, etag: 'W/"0"' } }],
  ];
  for (const [what, change] of drifted) {
    const problems = check({ ...created, ...change });
    assert.ok(
      problems.some((p) => p.includes(what.replace('header ', '').split(':')[0]!)),
      `${what}: ${problems}`,
    );
  }
});

test('requests outside the document are not checked', ({ check, created }) => {
  assert.equal(check({ ...created, path: '/no/such/path', status: 404 }), []);
  assert.equal(check({ ...created, method: 'HEAD' }), []);
});

test.run();
