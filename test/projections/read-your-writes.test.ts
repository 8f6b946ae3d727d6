/**
 * Read-your-writes over HTTP: 200 create + capture sequences against the ledger's app (command
 * routes and read routes together, the runner following the same SQLite file), each write
 * followed at once by a read carrying the position the write returned. Every read must show
 * its write, though the read models are updated asynchronously.
 */
import { join } from 'node:path';
import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import { openSqliteStore } from '../../src/eventstore/sqlite-store.ts';
import { startProjections } from '../../src/projections/service.ts';
import { inParallel } from '../support/commands.ts';
import { listenApp, orderBody, send } from '../support/http.ts';
import { tempDir } from '../support/temp.ts';
import { withClosing } from './support.ts';

const test = suite('projections: read your writes');

test('200 create+capture sequences, each write read back at once with its position', () =>
  withClosing(async (closeLater) => {
    const path = join(tempDir('projections-ryw'), 'ledger.db');
    const store = openSqliteStore(path, { synchronous: 'NORMAL' });
    closeLater(() => store.close());
    // The runner has its own connection to the event file, as the server runs it, and is made to
    // lag (a pause after every batch): without the wait, reads would miss their writes.
    const running = await startProjections({
      store,
      readModels: path,
      afterBatch: () => new Promise((resolve) => setTimeout(resolve, 20)),
    });
    closeLater(() => running.close());
    const app = await listenApp(store, { reads: running });
    closeLater(() => app.close());

    let reads = 0;
    await inParallel(
      Array.from({ length: 200 }, (_, i) => i),
      8,
      async (i) => {
        const orderId = `ryw-${i}`;
        const customerId = `ryw-customer-${i % 10}`;
        const created = await send(app.url, 'PUT', `/orders/${orderId}`, {
          body: orderBody({ customerId, lines: [{ sku: 'SKU-1', quantity: 1, unitPrice: 1_000 }] }),
        });
        assert.is(created.status, 201, created.text);

        // The longest wait allowed (10 s) rather than the default 2 s: a loaded CI machine must not turn a slow read into a failure.
        const afterCreate = await send(
          app.url,
          'GET',
          `/orders/${orderId}?minPosition=${created.json.position}&waitMs=10000`,
        );
        assert.is(afterCreate.status, 200, `read after create of ${orderId}: ${afterCreate.text}`);
        assert.is(afterCreate.json.status, 'pending');
        assert.is(afterCreate.json.revision, created.json.revision);
        const listed = await send(app.url, 'GET', `/orders?customerId=${customerId}&limit=100&waitMs=10000`, {
          headers: { 'x-min-position': created.json.position },
        });
        assert.is(listed.status, 200, listed.text);
        assert.ok(
          listed.json.items.some((o: { orderId: string }) => o.orderId === orderId),
          `${orderId} is listed for its customer`,
        );

        const amount = 1 + (i % 1_000);
        const capture = await send(app.url, 'POST', `/orders/${orderId}/payments`, {
          body: { paymentId: 'pay-1', amount, currency: 'EUR' },
        });
        assert.is(capture.status, 201, capture.text);

        const afterCapture = await send(app.url, 'GET', `/orders/${orderId}?waitMs=10000`, {
          headers: { 'x-min-position': capture.json.position },
        });
        assert.is(afterCapture.status, 200, `read after capture of ${orderId}: ${afterCapture.text}`);
        assert.is(afterCapture.json.captured, amount);
        assert.is(afterCapture.json.outstanding, 1_000 - amount);
        assert.is(afterCapture.json.revision, capture.json.revision);
        assert.is(afterCapture.headers.etag, capture.headers.etag, 'the read model ETag is the command ETag');
        reads += 3;
      },
    );
    assert.is(reads, 600);
  }));

test.run();
