/**
 * A log written by release 0.1.0 (test/fixtures/v0.1.0): it opens, audits clean, and every request
 * it recorded, sent again, gets the recorded answer byte for byte, as a replay. Its keys had no
 * bindings; their retries bind them, after which the keys refuse any other request.
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
const recorded = JSON.parse(readFileSync(join(FIXTURE, 'exchanges.json'), 'utf8')) as { secrets: Record<string, string>; exchanges: Exchange[] };
const keys = Object.entries(recorded.secrets).map(([client, secret]) => `${client}:${secret}`).join(',');

const test = suite<{ server: TestServer; path: string }>('0.1.0 log');

test.before(async (context) => {
  context.path = join(tempDir('legacy-log'), 'ledger.db');
  copyFileSync(join(FIXTURE, 'ledger.db'), context.path);
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

test('the file audits clean as written, its keyed events counted as written before bindings', async ({ path }) => {
  const { code, report } = await auditOf(path);
  assert.is(code, 0, JSON.stringify(report?.findings));
  assert.is(report.findings.total, 0);
  assert.is(report.keys.bindings, 0);
  assert.is(report.keys.legacyKeyedEvents, 7);
});

test('every recorded request, sent again: the recorded status and body byte for byte, as a replay', async ({ server }) => {
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

test('after the retries, the file still audits clean, and every key it held is bound to its own request', async ({ server, path }) => {
  const { code, report } = await auditOf(path);
  assert.is(code, 0, JSON.stringify(report?.findings));
  assert.is(report.keys.bindings, 7);
  assert.is(report.keys.pending, 0);
  const keyed = recorded.exchanges.filter((e) => e.headers['idempotency-key'] !== undefined);
  const putWithKey = keyed.find((e) => e.method === 'PUT')!;
  assertProblem(await resend(server, putWithKey, { path: '/orders/fx-put-elsewhere' }), 422, 'idempotency-key-reused');
  const postWithKey = keyed.find((e) => e.path === '/orders')!;
  assertProblem(await resend(server, postWithKey, { body: { ...(postWithKey.body as object), customerId: 'other' } }), 422, 'idempotency-key-reused');
  const derivedCapture = keyed.find((e) => e.path.endsWith('/payments') && !(e.body as { paymentId?: string }).paymentId)!;
  const changed = { ...(derivedCapture.body as object), amount: 1 };
  assertProblem(await resend(server, derivedCapture, { body: changed }), 422, 'idempotency-key-reused');
});

test.run();
