/**
 * The HTML report as a person sees it, rendered by headless Chromium: findings before the charts,
 * a y-axis with values, one date range shared by every currency, days without captures labelled,
 * and finding codes kept whole on one line even in a narrow window.
 */
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import type { Browser, Page } from 'playwright-core';
import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import { noOrderCounts } from '../../projections/order-status.ts';
import { renderHtml } from '../../src/cli/report-html.ts';
import type { ReplayReport } from '../../src/cli/replay.ts';
import { browserMissing, launchChromium } from '../support/browser.ts';
import { tempDir } from '../support/temp.ts';

const missing = browserMissing();
const test = suite<{ browser: Browser; page: Page }>(
  missing ? `report in Chromium (skipped: ${missing})` : 'report in Chromium',
);

const LONG_CODE = 'captured-authorization-voided';
const report: ReplayReport = {
  source: 'sqlite:./data/ledger.db',
  scope: {},
  counts: { streams: 4, events: 9, eventsAfterAsOf: 0, orders: { ...noOrderCounts(), paid: 2, partially_paid: 1 } },
  keys: { bindings: 0, pending: 0, legacyKeyedEvents: 0 },
  paymentRequests: { requested: 0, pending: 0, pendingTooLong: [] },
  currencies: {
    EUR: { ordered: '5000', captured: '4300', refunded: '0', net: '4300', orders: 2, payments: 3, refunds: 0 },
    USD: { ordered: '90000', captured: '87500', refunded: '0', net: '87500', orders: 1, payments: 2, refunds: 0 },
  },
  // EUR on the 1st and 3rd, USD on the 2nd and the 20th: only a shared axis puts the days in line.
  daily: [
    { day: '2026-11-01', currency: 'EUR', amount: '1300', payments: 1 },
    { day: '2026-11-03', currency: 'EUR', amount: '3000', payments: 2 },
    { day: '2026-11-02', currency: 'USD', amount: '12500', payments: 1 },
    { day: '2026-11-20', currency: 'USD', amount: '75000', payments: 1 },
  ],
  findings: {
    total: 2,
    byCode: { [LONG_CODE]: 1, 'over-captured': 1 },
    listed: [
      { code: LONG_CODE, stream: 'order-a', revision: '3', position: '7', message: 'captured after it was voided' },
      {
        code: 'over-captured',
        stream: 'order-b',
        revision: '1',
        position: '8',
        message: 'captured more than the total',
      },
    ],
    truncated: false,
  },
  digest: 'f'.repeat(64),
  lastPosition: '9',
  timing: { startedAt: '2026-12-01T00:00:00.000Z', seconds: 0.1, eventsPerSecond: 90 },
};

test.before(async (context) => {
  if (missing) return;
  context.browser = await launchChromium();
  // Narrow, as on a laptop with a side panel: where a code would break if it could.
  context.page = await context.browser.newPage({ viewport: { width: 560, height: 900 } });
  const file = join(tempDir('report-browser'), 'report.html');
  writeFileSync(file, renderHtml(report));
  await context.page.goto(pathToFileURL(file).href);
  await context.page.screenshot({ path: join(tempDir('report-shot'), 'report.png'), fullPage: true });
});

test.after(async (context) => {
  await context.browser?.close();
});

const top = async (page: Page, selector: string) => (await page.locator(selector).first().boundingBox())!.y;

if (!missing) {
  test('the findings come before the charts', async ({ page }) => {
    const findings = await top(page, 'h2:has-text("Findings")');
    const charts = await top(page, 'svg.chart');
    assert.ok(findings < charts, `findings at ${findings}px, charts at ${charts}px`);
  });

  test('each chart has a y-axis of numeric values that rise upwards and cover its highest day', async ({ page }) => {
    for (const [currency, highest] of [
      ['EUR', 3000],
      ['USD', 75000],
    ] as const) {
      const ticks = page.locator(`svg.chart[data-currency="${currency}"] text.y-tick`);
      const labels = await ticks.allTextContents();
      assert.ok(labels.length >= 3, `${currency}: ${labels.length} ticks`);
      const values = labels.map((label) => Number(label.replaceAll(',', '')));
      assert.ok(values.every(Number.isFinite), `${currency}: ${labels.join(' ')}`);
      assert.is(values[0], 0);
      assert.ok(values.at(-1)! >= highest, `${currency}: top tick ${values.at(-1)} below ${highest}`);
      const ys = await Promise.all((await ticks.all()).map(async (tick) => (await tick.boundingBox())!.y));
      for (let i = 1; i < ys.length; i++)
        assert.ok(ys[i]! < ys[i - 1]!, `${currency}: tick ${i} is not above tick ${i - 1}`);
    }
  });

  test('every currency shows the same date range, day for day at the same place', async ({ page }) => {
    const axes = await page
      .locator('svg.chart')
      .evaluateAll((charts) =>
        charts.map((chart) =>
          [...chart.querySelectorAll('text.x-tick')].map(
            (t) => `${t.textContent}@${t.getBoundingClientRect().x.toFixed(0)}`,
          ),
        ),
      );
    assert.is(axes.length, 2);
    assert.equal(axes[0], axes[1]);
    assert.ok(axes[0]![0]!.startsWith('2026-11-01@'), axes[0]![0]);
    assert.ok(axes[0]!.at(-1)!.startsWith('2026-11-20@'), axes[0]!.at(-1));
  });

  test('days without captures are labelled as such', async ({ page }) => {
    const usd = page.locator('svg.chart[data-currency="USD"]');
    assert.ok((await usd.locator('text.gap-label:has-text("no captures")').count()) >= 1, 'a wide gap says so');
    const titles = await usd.locator('rect.gap title').allTextContents();
    assert.ok(titles.includes('2026-11-03 to 2026-11-19: no captures'), titles.join(' | '));
  });

  test('a long finding code stays on one line', async ({ page }) => {
    const long = (await page.locator(`code.finding:has-text("${LONG_CODE}")`).boundingBox())!;
    const short = (await page.locator('code.finding:text-is("over-captured")').boundingBox())!;
    assert.ok(long.height <= short.height * 1.2, `long code ${long.height}px high, short ${short.height}px`);
    assert.ok(long.width > short.width, 'the long one is wider, not taller');
  });
} else {
  test.skip('the report in a browser', () => {});
}

test.run();
