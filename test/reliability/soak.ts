/**
 * `npm run soak -- --duration <seconds> --clients <n> --kill-every <seconds>`: the crash-under-load
 * scenario at full size. Exits 0 only when nothing acknowledged was lost, nothing doubled and no
 * order over-captured, and the audit replay of the resulting log is clean.
 */
import { parseArgs } from 'node:util';
import { tempDir } from '../support/temp.ts';
import { auditStore } from './audit.ts';
import { summaryLine } from './ledger-check.ts';
import { crashUnderLoad } from './scenarios.ts';

const { values } = parseArgs({
  options: {
    duration: { type: 'string', default: '600' },
    clients: { type: 'string', default: '32' },
    'kill-every': { type: 'string', default: '20' },
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
const { summary, storePath } = await crashUnderLoad({
  dir: tempDir('soak'),
  clients,
  durationMs,
  killEveryMs,
  log: (line) => console.log(`[${Math.round((Date.now() - started) / 1000)}s] ${line}`),
});
const audit = await auditStore(storePath).then(
  () => 'clean',
  (error: Error) => `failed: ${error.message}`,
);
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
