/**
 * The reliability proof at CI scale: real server processes, real SIGKILLs, a real full disk.
 * Each scenario prints its summary line; lost, duplicated, over_captured and over_refunded must be 0.
 */
import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import { tmpfsUnavailable } from '../support/disk.ts';
import { tempDir } from '../support/temp.ts';
import { assertExactlyOnce, summaryLine } from './ledger-check.ts';
import { auditStore } from './audit.ts';
import { crashUnderLoad, esdbUnavailable, gracefulShutdown, storeFull, twoServersOneStore } from './scenarios.ts';

const dir = tempDir('reliability');
/** create, capture, authorize, capture-authorization, void, refund, cancel. */
const COMMAND_KINDS = 7;
const test = suite('reliability');

test('crash under load: SIGKILL at random moments, retrying clients (3 of 8 buggy), restarts on the same file', async () => {
  const { summary, storePath } = await crashUnderLoad({
    dir,
    clients: 8,
    buggyClients: 3,
    durationMs: 10_000,
    killEveryMs: 1_500,
    minKills: 5,
  });
  console.log(summaryLine('crash-under-load', summary));
  assert.ok(summary.kills >= 5, `only ${summary.kills} kills`);
  assertExactlyOnce(summary);
  assert.is(summary.kinds_acknowledged, COMMAND_KINDS, 'every command type was acknowledged at least once');
  // Each buggy command's re-send after success regenerates its body, so some 422s are certain.
  assert.ok(summary.key_reused > 0, 'no regenerated retry reached the ledger: the buggy clients proved nothing');
  assert.is(
    summary.regenerated_wrong,
    0,
    'a regenerated retry was answered with something else than 422 or the original',
  );
  await auditStore(storePath);
});

test('two servers, one store: each duplicate sent to both', async () => {
  const { summary, storePath } = await twoServersOneStore({ dir, clients: 8, ordersPerClient: 15 });
  console.log(summaryLine('two-servers', summary));
  assertExactlyOnce(summary);
  await auditStore(storePath);
});

test('store full: 503 with Retry-After, nothing partial, clients finish once space returns', async () => {
  const noTmpfs = tmpfsUnavailable();
  if (noTmpfs) {
    console.log(`reliability scenario=store-full skipped: ${noTmpfs}`);
    return;
  }
  const { summary, storePath, unavailable, withoutRetryAfter } = await storeFull({
    dir,
    clients: 6,
    loadMs: 1_500,
    fullMs: 2_500,
  });
  console.log(`${summaryLine('store-full', summary)} unavailable=${unavailable}`);
  assert.ok(unavailable > 0, 'the disk filled up but no command was refused: the scenario proved nothing');
  assert.is(withoutRetryAfter, 0);
  assertExactlyOnce(summary);
  await auditStore(storePath);
});

test('graceful shutdown: SIGTERM under load answers what was accepted and exits 0', async () => {
  const result = await gracefulShutdown({ dir, requests: 300 });
  console.log(
    `${summaryLine('graceful-shutdown', result.summary)} exit=${result.exitCode} exit_ms=${result.exitMs} answered=${result.answered} refused=${result.refused} cut=${result.cut} cut_with_effect=${result.cutWithEffect}`,
  );
  assert.is(result.exitCode, 0);
  assert.ok(result.exitMs < 10_000);
  assert.ok(result.answered > 0, 'SIGTERM came before any answer: the scenario proved nothing');
  assert.is(result.cutWithEffect, 0, 'a request took effect but its client got no answer');
  assertExactlyOnce(result.summary);
});

test('EventStoreDB unavailable: /ready says so, commands answer 503 within a bound', async () => {
  const result = await esdbUnavailable();
  console.log(
    `reliability scenario=esdb-unavailable ready=${result.ready} command=${result.commandStatus} command_ms=${result.commandMs} lost=0 duplicated=0 over_captured=0`,
  );
  assert.is(result.ready, 503);
  assert.match(result.readyBody, /store/i);
  assert.is(result.commandStatus, 503);
  assert.ok(result.retryAfter !== null);
  assert.ok(result.commandMs < 10_000, `command took ${result.commandMs} ms`);
});

test.run();
