/**
 * Swagger UI as a person uses it, in headless Chromium: open /docs on a server with API keys,
 * authorize with a bearer token, and on each command route press "Try it out" and "Execute" with
 * the example as shown. The examples run in a row on one order; void and cancel need an order
 * with nothing captured, so they run on the one POST /orders created (its id typed into the field).
 */
import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import type { Browser, Page } from 'playwright-core';
import { browserMissing, launchChromium } from '../support/browser.ts';
import { startTestServer, type TestServer } from '../support/http.ts';

const SECRET = 'swagger-ui-secret-0001';
const test = suite<{ server: TestServer; browser: Browser }>('http: Swagger UI "Try it out"');
const missing = browserMissing();

test.before(async (context) => {
  if (missing) return;
  context.server = await startTestServer({ env: { LEDGER_API_KEYS: `alice:${SECRET}` } });
  context.browser = await launchChromium();
});

test.after(async ({ server, browser }) => {
  await browser?.close();
  await server?.close();
});

interface Answer {
  readonly status: number;
  readonly body: Record<string, unknown>;
}

/** Expands an operation, presses "Try it out", types the given parameters, presses "Execute". */
async function execute(page: Page, operationId: string, params: Record<string, string> = {}): Promise<Answer> {
  const block = page.locator(`[id$="-${operationId}"].opblock`);
  if (!(await block.locator('.opblock-body').isVisible())) await block.locator('.opblock-summary').first().click();
  const tryOut = block.locator('button.try-out__btn');
  if ((await tryOut.textContent())?.includes('Try it out')) await tryOut.click();
  for (const [name, value] of Object.entries(params)) {
    await block.locator(`tr[data-param-name="${name}"] input`).fill(value);
  }
  const [response] = await Promise.all([
    page.waitForResponse((r) => r.request().method() !== 'OPTIONS' && !r.url().includes('/docs/'), {
      timeout: 30_000,
    }),
    block.locator('button.execute').click(),
  ]);
  const answer = { status: response.status(), body: (await response.json()) as Record<string, unknown> };
  // What the page shows is what came back.
  const shown = block.locator('.live-responses-table tbody .response-col_status').first();
  await shown.waitFor();
  assert.match(String(await shown.textContent()), String(answer.status), `${operationId}: the page shows the status`);
  return answer;
}

const run = missing ? test.skip : test;

run(
  'authorize with a bearer token, then every command route succeeds with its example',
  async ({ server, browser }) => {
    const page = await browser.newPage();
    try {
      await page.goto(`${server.url}/docs/`);
      await page.locator('button.authorize').first().click();
      await page.locator('.modal-ux input').first().fill(SECRET);
      await page.locator('.modal-ux button.authorize').click();
      await page.locator('.modal-ux button.btn-done').click();

      const inRow = [
        ['putOrder', 'ord-1001'],
        ['authorizePayment', 'auth-1'],
        ['captureAuthorization', 'auth-1'],
        ['capturePayment', 'pay-1'],
        ['refundPayment', 'refund-1'],
      ] as const;
      for (const [operationId, id] of inRow) {
        const answer = await execute(page, operationId);
        assert.is(answer.status, 201, `${operationId}: ${JSON.stringify(answer.body)}`);
        assert.ok(JSON.stringify(answer.body).includes(id), `${operationId} acted on ${id}`);
      }
      const created = await execute(page, 'createOrder');
      assert.is(created.status, 201, JSON.stringify(created.body));
      const orderId = String(created.body.orderId);
      for (const operationId of ['authorizePayment', 'voidAuthorization', 'cancelOrder']) {
        const answer = await execute(page, operationId, { orderId });
        assert.is(answer.status, 201, `${operationId} on ${orderId}: ${JSON.stringify(answer.body)}`);
      }
    } finally {
      await page.close();
    }
  },
);

test.run();
