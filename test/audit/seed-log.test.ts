/**
 * The benchmark's seeded log: reproducible (same seed, same log, same digest), clean to the
 * audit, and exactly what the command handler would have written (every command replays).
 */
import { join } from 'node:path';
import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import { seedLog } from '../../bench/seed-log.ts';
import { audit, type AuditReport } from '../../src/audit/audit.ts';
import { replayCommands } from '../../src/audit/command-replay.ts';
import { onStore } from './fixtures.ts';
import { tempDir } from '../support/temp.ts';

const test = suite('bench seed log');
const dir = tempDir('seed-log');

function auditOf(path: string): Promise<AuditReport> {
  return onStore(path, (store, location) => audit({ source: { kind: 'store', store, location } }));
}

test('the same seed gives the same log; another seed another one; both clean', async () => {
  const a = await seedLog({ path: join(dir, 'a.db'), events: 3_000, seed: 5 });
  const b = await seedLog({ path: join(dir, 'b.db'), events: 3_000, seed: 5 });
  const c = await seedLog({ path: join(dir, 'c.db'), events: 3_000, seed: 6 });
  const [ra, rb, rc] = await Promise.all([a, b, c].map((s) => auditOf(s.path)));
  assert.is(ra!.counts.events, 3_000);
  assert.is(ra!.digest, rb!.digest);
  assert.is.not(ra!.digest, rc!.digest);
  for (const report of [ra!, rc!]) assert.is(report.findings.total, 0);
  assert.ok(ra!.counts.orders.pending > 0 && ra!.counts.orders.partially_paid > 0 && ra!.counts.orders.paid > 0);
});

test('every seeded event is what the handler would decide: all its commands replay', async () => {
  const { path } = await seedLog({ path: join(dir, 'replay.db'), events: 2_000, seed: 9 });
  const result = await onStore(path, (store, location) =>
    replayCommands({ source: { kind: 'store', store, location } }),
  );
  assert.equal([result.commands, result.replays, result.newEvents, result.findings.total], [2_000, 2_000, 0, 0]);
});

test.run();
