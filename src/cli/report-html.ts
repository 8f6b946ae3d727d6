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
  .meta { color: #5a6470; } code { font-size: .9em; word-break: break-all; }
  .verdict { padding: .7rem 1rem; border-radius: 6px; font-weight: 600; margin: 1rem 0; }
  .clean { background: #e3f5e8; color: #17602f; } .dirty { background: #fde6e4; color: #8c1d13; }
  table { border-collapse: collapse; width: 100%; } th, td { text-align: left; padding: .3rem .6rem; border-bottom: 1px solid #e3e6ea; }
  td.n, th.n { text-align: right; font-variant-numeric: tabular-nums; }
  svg { display: block; margin: .5rem 0 1.5rem; } .bar { fill: #3b6fb6; } .axis { fill: #5a6470; font-size: 11px; }
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
<p>Digest <code>${escapeHtml(report.digest)}</code></p>
${countsSection(report)}
${currenciesSection(report)}
${chartsSection(report.daily)}
${findingsSection(report)}
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
  return `<h2>Captured per day</h2>\n${currencies
    .map((code) =>
      barChart(
        code,
        daily.filter((d) => d.currency === code),
      ),
    )
    .join('\n')}`;
}

const CHART = { width: 720, height: 180, left: 8, bottom: 22, top: 18 };

/** One bar per UTC day; days without captures stay as gaps so the time axis is honest. */
function barChart(currency: string, days: readonly DailyCaptured[]): string {
  const first = Date.parse(days[0]!.day);
  const last = Date.parse(days[days.length - 1]!.day);
  const span = Math.round((last - first) / 86_400_000) + 1;
  const max = days.reduce((m, d) => (BigInt(d.amount) > m ? BigInt(d.amount) : m), 1n);
  const plotHeight = CHART.height - CHART.bottom - CHART.top;
  const slot = (CHART.width - CHART.left * 2) / span;
  const bars = days.map((d) => {
    const index = Math.round((Date.parse(d.day) - first) / 86_400_000);
    // Scaled in bigint first: amounts may be past 2^53, the ratio never is.
    const h = (Number((BigInt(d.amount) * 10_000n) / max) / 10_000) * plotHeight;
    const x = CHART.left + index * slot;
    const label = `${d.day}: ${formatNumber(d.amount)} ${currency} in ${formatNumber(d.payments)} payment(s)`;
    return `<rect class="bar" x="${x.toFixed(1)}" y="${(CHART.top + plotHeight - h).toFixed(1)}" width="${Math.max(slot * 0.8, 1).toFixed(1)}" height="${h.toFixed(1)}"><title>${escapeHtml(label)}</title></rect>`;
  });
  const axisY = CHART.height - 6;
  return `<svg xmlns="http://www.w3.org/2000/svg" width="${CHART.width}" height="${CHART.height}" viewBox="0 0 ${CHART.width} ${CHART.height}" role="img" aria-label="${escapeHtml(`${currency} captured per day`)}">
<text class="axis" x="${CHART.left}" y="12">${escapeHtml(`${currency} · highest day ${formatNumber(max)}`)}</text>
${bars.join('\n')}
<text class="axis" x="${CHART.left}" y="${axisY}">${escapeHtml(days[0]!.day)}</text>
<text class="axis" x="${CHART.width - CHART.left}" y="${axisY}" text-anchor="end">${escapeHtml(days[days.length - 1]!.day)}</text>
</svg>`;
}

function findingsSection(report: ReplayReport): string {
  const { findings } = report;
  if (findings.total === 0) return '<h2>Findings</h2>\n<p>None.</p>';
  const rows = findings.listed.map(
    (f) =>
      `<tr><td><code>${escapeHtml(f.code)}</code></td><td>${escapeHtml(f.stream)}</td><td class="n">${escapeHtml(f.revision)}</td><td class="n">${escapeHtml(f.position)}</td><td>${escapeHtml(f.message)}</td></tr>`,
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
