/**
 * A log written by release 0.1.0 (test/fixtures/v0.1.0): it opens, audits clean, and every request
 * it recorded, sent again, gets the recorded answer byte for byte, as a replay. Its keys had no
 * bindings; a server opening it binds them, so they refuse any other request from the start.
 */
import { copyFileSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import { ledger } from '../cli/run.ts';
import { send, startTestServer, type TestServer } from '../support/http.ts';
import { assertProblem } from '../support/problems.ts';
import { tempDir } from '../support/temp.ts';

interface Exchange {
  readonly client: string;
  readonly method: string;
  readonly path: string;
  readonly headers: Record<string, string>;
  readonly body: unknown;
  readonly status: number;
  readonly response: Record<string, string>;
  readonly text: string;
}

const FIXTURE = fileURLToPath(new URL('../fixtures/v0.1.0/', import.meta.url));
const recorded = JSON.parse(readFileSync(join(FIXTURE, 'exchanges.json'), 'utf8')) as {
  secrets: Record<string, string>;
  exchanges: Exchange[];
};
const keys = Object.entries(recorded.secrets)
  .map(([client, secret]) => `${client}:${secret}`)
  .join(',');

const test = suite<{ server: TestServer; path: string; asWritten: string }>('0.1.0 log');

test.before(async (context) => {
  context.path = join(tempDir('legacy-log'), 'ledger.db');
  copyFileSync(join(FIXTURE, 'ledger.db'), context.path);
  context.asWritten = join(tempDir('legacy-log-as-written'), 'ledger.db');
  copyFileSync(join(FIXTURE, 'ledger.db'), context.asWritten);
  context.server = await startTestServer({ dbPath: context.path, env: { LEDGER_API_KEYS: keys } });
});
test.after(async ({ server }) => server.close());

const resend = (server: TestServer, exchange: Exchange, overrides: Partial<Pick<Exchange, 'path' | 'body'>> = {}) =>
  send(server.url, exchange.method, overrides.path ?? exchange.path, {
    body: overrides.body ?? exchange.body,
    headers: { ...exchange.headers, authorization: `Bearer ${recorded.secrets[exchange.client]}` },
  });

async function auditOf(path: string) {
  const run = await ledger(['replay', '--store', `sqlite:${path}`, '--json']);
  return { code: run.code, report: run.json };
}

test('the file audits clean as written, its keyed events counted as written before bindings', async ({ asWritten }) => {
  const { code, report } = await auditOf(asWritten);
  assert.is(code, 0, JSON.stringify(report?.findings));
  assert.is(report.findings.total, 0);
  assert.is(report.keys.bindings, 0);
  assert.is(report.keys.legacyKeyedEvents, 7);
});

test('opened by a server, its keys are bound at once: the file audits clean with a binding per old key', async ({
  path,
}) => {
  const { code, report } = await auditOf(path);
  assert.is(code, 0, JSON.stringify(report?.findings));
  assert.is(report.keys.bindings, 7);
  assert.is(report.keys.pending, 0);
});

test('an old key sent with another request, before any retry of it: 422, nothing written', async ({ server, path }) => {
  const before = (await auditOf(path)).report.counts;
  const alice = { authorization: `Bearer ${recorded.secrets.alice}` };
  const capture = await send(server.url, 'POST', '/orders/1061de60-2bc5-5340-9d0d-438a7f3d2469/payments', {
    body: { paymentId: 'fresh-1', amount: 1000, currency: 'EUR' },
    headers: { ...alice, 'idempotency-key': 'k-pay-1' },
  });
  assertProblem(capture, 422, 'idempotency-key-reused');
  const putBody = { customerId: 'cust-a', currency: 'EUR', lines: [{ sku: 'SKU-2', quantity: 1, unitPrice: 999 }] };
  const put = await send(server.url, 'PUT', '/orders/fx-put-new', {
    body: putBody,
    headers: { ...alice, 'idempotency-key': 'k-put-2' },
  });
  assertProblem(put, 422, 'idempotency-key-reused');
  assert.ok(before);
  assert.equal((await auditOf(path)).report.counts, before);
  assert.is((await send(server.url, 'GET', '/orders/fx-put-new', { headers: alice })).status, 404);
});

test('every recorded request, sent again: the recorded status and body byte for byte, as a replay', async ({
  server,
}) => {
  for (const exchange of recorded.exchanges) {
    const response = await resend(server, exchange);
    const what = `${exchange.client} ${exchange.method} ${exchange.path}`;
    assert.is(response.status, exchange.status, `${what}: ${response.text}`);
    assert.is(response.text, exchange.text, what);
    assert.is(response.headers['idempotent-replayed'], 'true', what);
    assert.is(response.headers.location, exchange.response.location, what);
    assert.is(response.headers.etag, exchange.response.etag, what);
  }
});

test('after the retries, the file still audits clean, and every key it held is bound to its own request', async ({
  server,
  path,
}) => {
  const { code, report } = await auditOf(path);
  assert.is(code, 0, JSON.stringify(report?.findings));
  assert.is(report.keys.bindings, 7);
  assert.is(report.keys.pending, 0);
  const keyed = recorded.exchanges.filter((e) => e.headers['idempotency-key'] !== undefined);
  const putWithKey = keyed.find((e) => e.method === 'PUT')!;
  assertProblem(await resend(server, putWithKey, { path: '/orders/fx-put-elsewhere' }), 422, 'idempotency-key-reused');
  const postWithKey = keyed.find((e) => e.path === '/orders')!;
  assertProblem(
    await resend(server, postWithKey, { body: { ...(postWithKey.body as object), customerId: 'other' } }),
    422,
    'idempotency-key-reused',
  );
  const derivedCapture = keyed.find(
    (e) => e.path.endsWith('/payments') && !(e.body as { paymentId?: string }).paymentId,
  )!;
  const changed = { ...(derivedCapture.body as object), amount: 1 };
  assertProblem(await resend(server, derivedCapture, { body: changed }), 422, 'idempotency-key-reused');
});

test.run();
