/**
 * Upgrading over the file release 0.1.0 wrote (test/fixtures/v0.1.0, copied, never changed): its
 * read models are version 1 (no owners, sums as numbers). Until the new versions are built beside
 * them, a caller that reads every client's data is answered from them (sums as decimal strings), and
 * an API-key client's read answers 503 projection-lagging, since those documents cannot say whose
 * order is whose. Once rebuilt, each client sees its own orders.
 */
import { copyFileSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import Database from 'better-sqlite3';
import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import { openSqliteStore } from '../../src/eventstore/sqlite-store.ts';
import { ReadModelQueries } from '../../src/projections/queries.ts';
import { openSqliteReadModels } from '../../src/projections/sqlite-read-models.ts';
import { startProjections } from '../../src/projections/service.ts';
import { listenApp, send } from '../support/http.ts';
import { assertProblem } from '../support/problems.ts';
import { tempDir } from '../support/temp.ts';
import { caughtUp, withClosing } from './support.ts';

const FIXTURE = fileURLToPath(new URL('../fixtures/v0.1.0/ledger.db', import.meta.url));
const fixture = JSON.parse(readFileSync(new URL('../fixtures/v0.1.0/exchanges.json', import.meta.url), 'utf8')) as {
  secrets: Record<string, string>;
};
const KEYS = Object.entries(fixture.secrets)
  .map(([client, secret]) => `${client}:${secret}`)
  .join(',');
const as = (client: string) => ({ authorization: `Bearer ${fixture.secrets[client]}` });

const test = suite('projections: upgrading over a 0.1.0 file');

test('version-1 read models: every-client reads answer from them, API-key reads wait for the rebuild', () =>
  withClosing(async (closeLater) => {
    const path = join(tempDir('upgrade'), 'ledger.db');
    copyFileSync(FIXTURE, path);
    const store = openSqliteStore(path, { synchronous: 'NORMAL' });
    closeLater(() => store.close());
    // The read side alone, before any runner has touched the file.
    const db = new Database(path);
    closeLater(async () => {
      db.close();
    });
    const deps = {
      queries: new ReadModelQueries(openSqliteReadModels(db)),
      waitForPosition: async () => true,
      status: async () => [],
    };
    const open = await listenApp(store, { reads: deps });
    closeLater(open.close);
    const keyed = await listenApp(store, { reads: deps, env: { LEDGER_API_KEYS: KEYS } });
    closeLater(keyed.close);

    const customer = await send(open.url, 'GET', '/customers/cust-a');
    assert.is(customer.status, 200, customer.text);
    // Version-1 documents know nothing of refunds or cancellations: none, and net is what was captured.
    const eur = {
      currency: 'EUR',
      ordered: '4002',
      captured: '3000',
      refunded: '0',
      net: '3000',
      cancelled: '0',
      outstanding: '1002',
    };
    assert.equal(customer.json.currencies, [eur]);
    const report = await send(open.url, 'GET', '/reports/daily?from=2026-12-01&to=2026-12-01&currency=EUR');
    assert.is(report.status, 200, report.text);
    assert.is(report.json.totals[0].amountOrdered, '7002');
    assert.is((await send(open.url, 'GET', '/orders/fx-put-1')).status, 200);
    const listed = await send(open.url, 'GET', '/orders?limit=100&customerId=cust-a');
    assert.is(listed.status, 200, listed.text);
    assert.ok(listed.json.items.some((o: { orderId: string }) => o.orderId === 'fx-put-1'));

    const reads = ['/orders/fx-put-1', '/orders', '/customers/cust-a', '/reports/daily?from=2026-12-01&to=2026-12-01'];
    for (const path of reads) {
      const response = await send(keyed.url, 'GET', path, { headers: as('alice') });
      assertProblem(response, 503, 'projection-lagging');
      assert.ok(response.headers['retry-after'], path);
      // order-summary is at version 4, the other two at 3.
      const current = path.startsWith('/orders') ? 4 : 3;
      assert.match(response.json.detail, new RegExp(`is being rebuilt \\(version 1 to ${current}\\)`));
    }

    // The runner builds the current versions beside version 1 and swaps it in: then each client sees its own.
    const running = await startProjections({ store, readModels: path });
    closeLater(() => running.close());
    await caughtUp(running, store);
    const own = await send(keyed.url, 'GET', '/orders/fx-put-1', { headers: as('alice') });
    assert.is(own.status, 200, own.text);
    assertProblem(await send(keyed.url, 'GET', '/orders/fx-put-1', { headers: as('bob') }), 404, 'order-not-found');
    const bobs = await send(keyed.url, 'GET', '/orders?limit=100', { headers: as('bob') });
    assert.ok(bobs.json.items.length > 0);
    assert.ok(bobs.json.items.every((o: { orderId: string }) => o.orderId !== 'fx-put-1' && o.orderId !== 'fx-put-2'));
    const after = await send(open.url, 'GET', '/customers/cust-a');
    assert.equal(after.json.currencies, customer.json.currencies, 'the rebuilt sums equal the old ones');
  }));

test.run();
