/**
 * Scale-out on PostgreSQL: three ledger server processes on one database, each on a host of its
 * own (a network namespace reaching the database over its link), under retrying clients that
 * send every duplicate to another server than the request before it, while the servers are
 * SIGKILLed in turn and restarted. Nothing acknowledged may be lost or doubled, no order
 * captured beyond its total, and the audit (ledger replay --compare-live, against each server's
 * read models) must be clean. Skipped without a reachable PostgreSQL (PG_REQUIRED=1: a failure).
 */
import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import { pgAvailableOrSkip, withScratchDatabase } from '../support/postgres.ts';
import { tempDir } from '../support/temp.ts';
import { auditStoreAt } from './audit.ts';
import { namespacesUnavailable } from './hosts.ts';
import { assertExactlyOnce, summaryLine } from './ledger-check.ts';
import { scaleOut } from './scenarios.ts';

const test = suite('reliability: scale-out on PostgreSQL');

test('three servers on one PostgreSQL, each its own host: SIGKILLs in turn, every duplicate to another server', async () => {
  if (!(await pgAvailableOrSkip('reliability scenario=scale-out'))) return;
  const noNamespaces = namespacesUnavailable();
  if (noNamespaces) console.log(`reliability scenario=scale-out on 127.0.0.1, not on separate hosts: ${noNamespaces}`);
  await withScratchDatabase(async (database) => {
    const result = await scaleOut({
      dir: tempDir('scale-out'),
      store: database.url,
      servers: 3,
      namespaces: noNamespaces === undefined,
      clients: 9,
      durationMs: 12_000,
      killEveryMs: 4_000,
      minKills: 3,
    });
    const hosts = noNamespaces === undefined ? 'network-namespaces' : 'loopback';
    console.log(
      `${summaryLine('scale-out', result.summary)} servers=${result.urls.join(',')} hosts=${hosts} kills_per_server=${result.killsPerServer.join('/')} one_server_only=${result.oneServerOnly}`,
    );
    assertExactlyOnce(result.summary);
    assert.ok(
      result.killsPerServer.every((kills) => kills > 0),
      'a server was never killed',
    );
    assert.is(result.oneServerOnly, 0, 'an acknowledged command never reached a second server');
    assert.is(result.summary.kinds_acknowledged, 7, 'every command type was acknowledged at least once');
    await auditStoreAt(database.url, result.readModels);
  });
});

test.run();
