/**
 * Exactly one charge under crashes, at CI scale: two server processes on one SQLite file, both
 * processing payments against the Stripe stand-in (resets after charging, 500s, webhooks racing the
 * answers), SIGKILLed at random moments and restarted. Prints the summary line; the books must agree.
 */
import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import { tempDir } from '../support/temp.ts';
import { auditStore } from './audit.ts';
import { PSP_MUST_BE_ZERO, pspSummaryLine } from './psp-check.ts';
import { pspCrashUnderLoad } from './psp-scenario.ts';

const test = suite('reliability: payments through the PSP');

test('two processors, SIGKILLs, resets after charging: every 202 resolved, each charge made and recorded once', async () => {
  const { summary, storePath } = await pspCrashUnderLoad({
    dir: tempDir('reliability-psp'),
    clients: 6,
    durationMs: 8_000,
    killEveryMs: 1_500,
    minKills: 4,
    resetRate: 0.25,
    fail500Rate: 0.05,
    webhooks: true,
  });
  console.log(pspSummaryLine('psp-crash', summary));
  for (const field of PSP_MUST_BE_ZERO) assert.is(summary[field], 0, `${field} must be 0`);
  assert.ok(summary.kills >= 4, `only ${summary.kills} kills`);
  assert.ok(summary.accepted > 0 && summary.captured > 0, 'nothing was captured, so nothing was proved');
  assert.ok(summary.resets > 0, 'no reset after a charge happened');
  assert.is(summary.psp_charges, summary.ledger_psp_captures, 'real charges and recorded captures differ');
  assert.is(summary.captured + summary.declined, summary.accepted);
  await auditStore(storePath);
});

test.run();
