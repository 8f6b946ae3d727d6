/**
 * `npm run soak -- --duration <seconds> --clients <n> --kill-every <seconds>`: the crash-under-load
 * scenario at full size. Exits 0 only when nothing acknowledged was lost, nothing doubled and no
 * order over-captured, and the audit replay of the resulting log is clean.
 *
 * `--payments`: the payment buffer's scenario instead (two processes, the Stripe stand-in resetting
 * connections after charging, webhooks racing the answers); exits 0 only when double_charged, lost,
 * over_captured and the other books checks are all 0 and the audit is clean.
 */
import { parseArgs } from 'node:util';
import { tempDir } from '../support/temp.ts';
import { auditStore } from './audit.ts';
import { summaryLine } from './ledger-check.ts';
import { PSP_MUST_BE_ZERO, pspSummaryLine } from './psp-check.ts';
import { pspCrashUnderLoad } from './psp-scenario.ts';
import { crashUnderLoad } from './scenarios.ts';

const { values } = parseArgs({
  options: {
    duration: { type: 'string', default: '600' },
    clients: { type: 'string', default: '32' },
    'kill-every': { type: 'string', default: '20' },
    payments: { type: 'boolean', default: false },
    'reset-rate': { type: 'string', default: '0.25' },
  },
});
const seconds = (name: string, text: string): number => {
  const n = Number(text);
  if (!Number.isFinite(n) || n <= 0) {
    console.error(`--${name} must be a positive number, got ${text}`);
    process.exit(2);
  }
  return n;
};
const durationMs = seconds('duration', values.duration) * 1000;
const clients = Math.round(seconds('clients', values.clients));
const killEveryMs = seconds('kill-every', values['kill-every']) * 1000;

const started = Date.now();
const log = (line: string) => console.log(`[${Math.round((Date.now() - started) / 1000)}s] ${line}`);
const auditOf = (storePath: string) =>
  auditStore(storePath).then(
    () => 'clean',
    (error: Error) => `failed: ${error.message}`,
  );

if (values.payments) {
  const resetRate = Number(values['reset-rate']);
  const { summary, storePath } = await pspCrashUnderLoad({
    dir: tempDir('soak-psp'),
    clients,
    durationMs,
    killEveryMs,
    resetRate: Number.isFinite(resetRate) && resetRate >= 0 && resetRate < 1 ? resetRate : 0.25,
    fail500Rate: 0.05,
    webhooks: true,
    resolveWithinMs: 120_000,
    log,
  });
  const audit = await auditOf(storePath);
  console.log(`audit ${audit}`);
  console.log(`${pspSummaryLine('soak-payments', summary)} duration_s=${values.duration} clients=${clients}`);
  const clean = PSP_MUST_BE_ZERO.every((field) => summary[field] === 0);
  process.exit(clean && summary.psp_charges === summary.ledger_psp_captures && audit === 'clean' ? 0 : 1);
}

const { summary, storePath } = await crashUnderLoad({
  dir: tempDir('soak'),
  clients,
  durationMs,
  killEveryMs,
  log,
});
const audit = await auditOf(storePath);
console.log(`audit ${audit}`);
console.log(`${summaryLine('soak', summary)} duration_s=${values.duration} clients=${clients}`);
process.exit(
  summary.lost === 0 &&
    summary.duplicated === 0 &&
    summary.over_captured === 0 &&
    summary.over_refunded === 0 &&
    audit === 'clean'
    ? 0
    : 1,
);
