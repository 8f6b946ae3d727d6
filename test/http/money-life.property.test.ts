/**
 * Random money command sequences over real HTTP against a listening server: every answer is a 201
 * or a listed problem (never a 5xx), and the log they wrote audits clean and replays as no-ops.
 */
import { join } from 'node:path';
import fc from 'fast-check';
import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import { audit } from '../../src/audit/audit.ts';
import { replayCommands } from '../../src/audit/command-replay.ts';
import { onStore } from '../audit/fixtures.ts';
import { orderBody, send, startTestServer } from '../support/http.ts';
import { tempDir } from '../support/temp.ts';

type Request = readonly [path: string, body: object];

/** The OpenAPI path of a request tail: `authorizations/p-1/void` is `…/authorizations/{paymentId}/void`. */
const templateOf = (tail: string) =>
  `/orders/{orderId}/${tail.replace(/^(authorizations|payments)\/[^/]+/, '$1/{paymentId}')}`;

const id = (prefix: string) => fc.integer({ min: 1, max: 4 }).map((n) => `${prefix}-${n}`);
const amount = fc.integer({ min: 1, max: 1_200 });
const request: fc.Arbitrary<Request> = fc.oneof(
  fc.tuple(id('p'), amount).map(([p, a]): Request => ['payments', { paymentId: p, amount: a, currency: 'EUR' }]),
  fc.tuple(id('p'), amount).map(([p, a]): Request => ['authorizations', { paymentId: p, amount: a, currency: 'EUR' }]),
  fc
    .tuple(id('p'), fc.option(amount))
    .map(([p, a]): Request => [`authorizations/${p}/capture`, a ? { amount: a } : {}]),
  id('p').map((p): Request => [`authorizations/${p}/void`, {}]),
  fc.tuple(id('p'), id('r'), amount).map(([p, r, a]): Request => [`payments/${p}/refunds`, { refundId: r, amount: a }]),
  fc.constant<Request>(['cancel', { reason: 'random' }]),
);

const test = suite('http: random money command sequences');
const dir = tempDir('money-life-property');

test('every answer is a 201 or a 4xx problem; the log audits clean and replays as no-ops', async () => {
  const server = await startTestServer({ dbPath: join(dir, 'ledger.db') });
  let orders = 0;
  let accepted = 0;
  /** Every problem seen, by route: each must be among the route's documented responses. */
  const seen = new Map<string, Set<string>>();
  try {
    await fc.assert(
      fc.asyncProperty(fc.array(request, { minLength: 1, maxLength: 25 }), async (requests) => {
        const orderId = `prop-${++orders}`;
        const created = await send(server.url, 'PUT', `/orders/${orderId}`, { body: orderBody() });
        assert.is(created.status, 201, created.text);
        for (const [tail, body] of requests) {
          const response = await send(server.url, 'POST', `/orders/${orderId}/${tail}`, { body });
          if (response.status === 201) accepted += 1;
          else {
            assert.ok([404, 409].includes(response.status), `${tail}: ${response.status} ${response.text}`);
            assert.match(String(response.headers['content-type']), /^application\/problem\+json/);
            const route = templateOf(tail);
            const slug = String(response.json.type).split('/').pop()!;
            seen.set(route, (seen.get(route) ?? new Set()).add(`${response.status} ${slug}`));
          }
        }
      }),
      { numRuns: 30 },
    );
    assert.ok(seen.size >= 4, `problems came from only ${seen.size} routes`);
    const doc = (await send(server.url, 'GET', '/openapi.json')).json;
    for (const [route, problems] of seen) {
      for (const problem of problems) {
        const [status, slug] = problem.split(' ') as [string, string];
        const documented = String(doc.paths[route]?.post?.responses?.[status]?.description ?? '');
        assert.ok(documented.split(/[ ,]+/).includes(slug), `POST ${route} does not document ${status} ${slug}`);
      }
    }
  } finally {
    await server.close();
  }
  assert.ok(accepted > 30, `only ${accepted} commands were accepted`);
  const path = server.dbPath;
  const report = await onStore(path, (store, location) =>
    audit({ source: { kind: 'store', store, location }, minEventsForWorkers: 0 }),
  );
  assert.equal(report.findings.listed, []);
  const replayed = await onStore(path, (store, location) =>
    replayCommands({ source: { kind: 'store', store, location } }),
  );
  assert.equal(replayed.findings.listed, []);
  assert.is(replayed.replays, replayed.commands);
  assert.is(replayed.newEvents, 0);
});

test.run();
