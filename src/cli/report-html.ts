/**
 * `ledger report --html out.html`: the replay's report as one self-contained page (inline CSS
 * and SVG, no script, no external asset) for people who would rather look than read. Every
 * piece of text from the log is escaped: stream names and messages are data, never markup.
 */
import { writeFileSync } from 'node:fs';
import { ORDER_STATUSES } from '../../projections/order-status.ts';
import type { CurrencyTotals, DailyCaptured } from '../audit/totals.ts';
import { EXIT, UsageError, stringOption, type CliCommand } from './command.ts';
import { AUDIT_OPTIONS, auditFromOptions, type ReplayReport } from './replay.ts';

export const reportCommand: CliCommand = {
  name: 'report',
  summary: 'Audit the log like replay and write the report as a self-contained HTML page.',
  options: {
    html: { type: 'string', value: 'file', description: 'where to write the page; required' },
    ...AUDIT_OPTIONS,
  },
  details: 'exit codes: 0 clean, 1 findings (the page is written either way), 2 usage or store errors.',
  async run(context) {
    const out = stringOption(context.options.html);
    if (out === undefined) throw new UsageError('--html <file> is required');
    const report = await auditFromOptions(context);
    writeFileSync(out, renderHtml(report));
    const summary = { html: out, events: report.counts.events, findings: report.findings.total, digest: report.digest };
    context.out.result(
      summary,
      () => `Wrote ${out}: ${report.counts.events} events, ${report.findings.total} finding(s)`,
    );
    return report.findings.total > 0 ? EXIT.findings : EXIT.clean;
  },
};

const STYLE = `
  body { font: 15px/1.45 system-ui, sans-serif; margin: 2rem auto; max-width: 60rem; color: #1d232a; padding: 0 1rem; }
  h1 { font-size: 1.6rem; margin-bottom: .2rem; } h2 { font-size: 1.2rem; margin-top: 2rem; }
  .meta { color: #5a6470; } code { font-size: .9em; } .digest code { overflow-wrap: anywhere; }
  /* A finding code is read as one word: it never breaks, its column grows instead. */
  code.finding { white-space: nowrap; }
  .verdict { padding: .7rem 1rem; border-radius: 6px; font-weight: 600; margin: 1rem 0; }
  .clean { background: #e3f5e8; color: #17602f; } .dirty { background: #fde6e4; color: #8c1d13; }
  table { border-collapse: collapse; width: 100%; } th, td { text-align: left; padding: .3rem .6rem; border-bottom: 1px solid #e3e6ea; }
  td.n, th.n { text-align: right; font-variant-numeric: tabular-nums; }
  svg { display: block; margin: .5rem 0 1.5rem; } .bar { fill: #3b6fb6; } .axis { fill: #5a6470; font-size: 11px; }
  .grid { stroke: #e3e6ea; } .baseline { stroke: #5a6470; } .gap { fill: #f3f4f6; } .gap-label { fill: #8a939d; font-size: 11px; }
`;

export function renderHtml(report: ReplayReport): string {
  const clean = report.findings.total === 0;
  const scope = [
    report.scope.toPosition && `up to position ${report.scope.toPosition}`,
    report.scope.asOf && `as of ${report.scope.asOf}`,
  ]
    .filter(Boolean)
    .join(', ');
  return `<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>Ledger audit – ${escapeHtml(report.source)}</title>
<style>${STYLE}</style>
</head>
<body>
<h1>Ledger audit</h1>
<p class="meta">${escapeHtml(report.source)}${scope ? ` · ${escapeHtml(scope)}` : ''} · audited ${escapeHtml(report.timing.startedAt)} in ${report.timing.seconds.toFixed(2)} s</p>
<p class="verdict ${clean ? 'clean' : 'dirty'}">${clean ? 'Clean: no findings.' : `${report.findings.total} finding(s).`}</p>
<p class="digest">Digest <code>${escapeHtml(report.digest)}</code></p>
${findingsSection(report)}
${countsSection(report)}
${currenciesSection(report)}
${chartsSection(report.daily)}
</body>
</html>
`;
}

function countsSection(report: ReplayReport): string {
  const { counts } = report;
  const rows: [string, number | string][] = [
    ['Events', counts.events],
    ['Streams', counts.streams],
    ...ORDER_STATUSES.map((status): [string, number] => [`Orders ${status.replace('_', ' ')}`, counts.orders[status]]),
    ['Last position', report.lastPosition ?? '–'],
  ];
  if (counts.eventsAfterAsOf > 0) rows.push(['Events after --as-of, left out', counts.eventsAfterAsOf]);
  return `<h2>Counts</h2>\n<table>${rows.map(([label, value]) => `<tr><th>${escapeHtml(label)}</th><td class="n">${escapeHtml(formatNumber(value))}</td></tr>`).join('')}</table>`;
}

const CURRENCY_COLUMNS: readonly [string, (c: CurrencyTotals) => number | string][] = [
  ['Orders', (c) => c.orders],
  ['Ordered', (c) => c.ordered],
  ['Payments', (c) => c.payments],
  ['Captured', (c) => c.captured],
  ['Refunds', (c) => c.refunds],
  ['Refunded', (c) => c.refunded],
  ['Net', (c) => c.net],
];

function currenciesSection(report: ReplayReport): string {
  const rows = Object.entries(report.currencies).map(
    ([code, c]) =>
      `<tr><td>${escapeHtml(code)}</td>${CURRENCY_COLUMNS.map(([, pick]) => `<td class="n">${escapeHtml(formatNumber(pick(c)))}</td>`).join('')}</tr>`,
  );
  return `<h2>Sums per currency <span class="meta">(minor units)</span></h2>
<table><tr><th>Currency</th>${CURRENCY_COLUMNS.map(([label]) => `<th class="n">${label}</th>`).join('')}</tr>${rows.join('')}</table>`;
}

function chartsSection(daily: readonly DailyCaptured[]): string {
  const currencies = [...new Set(daily.map((d) => d.currency))].sort();
  if (currencies.length === 0) return '<h2>Captured per day</h2>\n<p>No payments captured.</p>';
  // One time axis for every currency, so that the same day sits at the same place in each chart.
  const days = daily.map((d) => Date.parse(d.day));
  const range = { first: Math.min(...days), last: Math.max(...days) };
  const charts = currencies.map((code) =>
    barChart(
      code,
      daily.filter((d) => d.currency === code),
      range,
    ),
  );
  return `<h2>Captured per day <span class="meta">(minor units, UTC days)</span></h2>\n${charts.join('\n')}`;
}

const DAY_MS = 86_400_000;
const CHART = { width: 720, height: 200, left: 78, right: 44, bottom: 26, top: 22 };
const Y_TICKS = 4;
const X_LABELS = 8;

interface DayRange {
  readonly first: number;
  readonly last: number;
}

/** The smallest 1, 2 or 5 × 10^k at least `value`: round tick steps, exact past 2^53. */
function niceStep(value: bigint): bigint {
  let scale = 1n;
  while (scale * 10n < value) scale *= 10n;
  for (const factor of [1n, 2n, 5n, 10n]) if (factor * scale >= value) return factor * scale;
  return 10n * scale;
}

const isoDay = (time: number) => new Date(time).toISOString().slice(0, 10);

/**
 * One bar per UTC day on the shared range; a y-axis with round ticks; days without captures shaded
 * and, where there is room, labelled, so that a gap reads as "nothing captured", not as missing data.
 */
function barChart(currency: string, days: readonly DailyCaptured[], range: DayRange): string {
  const span = Math.round((range.last - range.first) / DAY_MS) + 1;
  const highest = days.reduce((m, d) => (BigInt(d.amount) > m ? BigInt(d.amount) : m), 0n);
  const step = niceStep((highest + BigInt(Y_TICKS) - 1n) / BigInt(Y_TICKS) || 1n);
  const top = step * BigInt(Y_TICKS);
  const plotHeight = CHART.height - CHART.bottom - CHART.top;
  const plotWidth = CHART.width - CHART.left - CHART.right;
  const slot = plotWidth / span;
  const baseY = CHART.top + plotHeight;
  // Scaled in bigint first: amounts may be past 2^53, the ratio never is.
  const yOf = (amount: bigint) => baseY - (Number((amount * 1_000_000n) / top) / 1_000_000) * plotHeight;
  const xOf = (index: number) => CHART.left + index * slot;
  const ticks = Array.from({ length: Y_TICKS + 1 }, (_, i) => step * BigInt(i)).map((value) => {
    const y = yOf(value).toFixed(1);
    return `<line class="${value === 0n ? 'baseline' : 'grid'}" x1="${CHART.left}" x2="${CHART.width - CHART.right}" y1="${y}" y2="${y}"/><text class="axis y-tick" x="${CHART.left - 6}" y="${y}" dy="4" text-anchor="end">${formatNumber(value)}</text>`;
  });
  const byIndex = new Map(days.map((d) => [Math.round((Date.parse(d.day) - range.first) / DAY_MS), d]));
  const bars = [...byIndex].map(([index, d]) => {
    const y = yOf(BigInt(d.amount));
    const label = `${d.day}: ${formatNumber(d.amount)} ${currency} in ${formatNumber(d.payments)} payment(s)`;
    return `<rect class="bar" x="${(xOf(index) + slot * 0.1).toFixed(1)}" y="${y.toFixed(1)}" width="${Math.max(slot * 0.8, 1).toFixed(1)}" height="${(baseY - y).toFixed(1)}"><title>${escapeHtml(label)}</title></rect>`;
  });
  const gaps = gapRuns(span, byIndex).map(({ from, length }) => {
    const x = xOf(from);
    const width = length * slot;
    const what = `${isoDay(range.first + from * DAY_MS)}${length > 1 ? ` to ${isoDay(range.first + (from + length - 1) * DAY_MS)}` : ''}: no captures`;
    const text =
      width >= 64
        ? `<text class="gap-label" x="${(x + width / 2).toFixed(1)}" y="${(baseY - 8).toFixed(1)}" text-anchor="middle">no captures</text>`
        : '';
    return `<g class="gap"><rect class="gap" x="${x.toFixed(1)}" y="${CHART.top}" width="${width.toFixed(1)}" height="${plotHeight}"><title>${escapeHtml(what)}</title></rect>${text}</g>`;
  });
  const every = Math.max(1, Math.ceil(span / X_LABELS));
  const xLabels = Array.from({ length: span }, (_, i) => i)
    .filter((i) => i % every === 0 || i === span - 1)
    // The last day's label would collide with the regular one just before it.
    .filter((i, _, all) => i === span - 1 || span - 1 - i >= every / 2 || all.length === 1)
    .map(
      (i) =>
        `<text class="axis x-tick" x="${(xOf(i) + slot / 2).toFixed(1)}" y="${CHART.height - 8}" text-anchor="middle">${isoDay(range.first + i * DAY_MS)}</text>`,
    );
  return `<svg xmlns="http://www.w3.org/2000/svg" class="chart" data-currency="${escapeHtml(currency)}" width="${CHART.width}" height="${CHART.height}" viewBox="0 0 ${CHART.width} ${CHART.height}" role="img" aria-label="${escapeHtml(`${currency} captured per day`)}">
<text class="axis title" x="${CHART.left}" y="14">${escapeHtml(`${currency} · highest day ${formatNumber(highest)}`)}</text>
${gaps.join('\n')}
${ticks.join('\n')}
${bars.join('\n')}
${xLabels.join('\n')}
</svg>`;
}

/** Runs of consecutive days with no captures, as (first index, length). */
function gapRuns(span: number, filled: ReadonlyMap<number, unknown>): { from: number; length: number }[] {
  const runs: { from: number; length: number }[] = [];
  for (let i = 0; i < span; i++) {
    if (filled.has(i)) continue;
    const last = runs.at(-1);
    if (last && last.from + last.length === i) last.length++;
    else runs.push({ from: i, length: 1 });
  }
  return runs;
}

function findingsSection(report: ReplayReport): string {
  const { findings } = report;
  if (findings.total === 0) return '<h2>Findings</h2>\n<p>None.</p>';
  const rows = findings.listed.map(
    (f) =>
      `<tr><td><code class="finding">${escapeHtml(f.code)}</code></td><td>${escapeHtml(f.stream)}</td><td class="n">${escapeHtml(f.revision)}</td><td class="n">${escapeHtml(f.position)}</td><td>${escapeHtml(f.message)}</td></tr>`,
  );
  const more = findings.truncated
    ? `<p class="meta">${findings.total - findings.listed.length} more not listed.</p>`
    : '';
  return `<h2>Findings</h2>
<table><tr><th>Code</th><th>Stream</th><th class="n">Revision</th><th class="n">Position</th><th>What</th></tr>${rows.join('')}</table>${more}`;
}

export function escapeHtml(text: string): string {
  return text.replace(/[&<>"']/g, (c) => `&#${c.charCodeAt(0)};`);
}

function formatNumber(value: number | string | bigint): string {
  return typeof value === 'string' && !/^\d+$/.test(value) ? value : BigInt(value).toLocaleString('en-US');
}
