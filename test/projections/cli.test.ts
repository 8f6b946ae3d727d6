/**
 * `ledger projections rebuild [name]`: rebuilds beside the served read models and swaps them in,
 * with a progress bar on a terminal and none when piped; a running server's runner follows the
 * new generation afterwards.
 */
import { join } from 'node:path';
import { PassThrough } from 'node:stream';
import Database from 'better-sqlite3';
import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import { dailyTotals } from '../../projections/daily-totals.ts';
import { run } from '../../src/cli/projections-rebuild.ts';
import { openSqliteStore } from '../../src/eventstore/sqlite-store.ts';
import { startProjections } from '../../src/projections/service.ts';
import { ledger } from '../cli/run.ts';
import { tempDir } from '../support/temp.ts';
import { caughtUp, cleanPass, snapshot, withClosing, writeOrders } from './support.ts';

const test = suite('projections: ledger projections rebuild');
const dir = tempDir('projections-cli');
let files = 0;

async function logFile(orders: number): Promise<string> {
  const path = join(dir, `ledger-${++files}.db`);
  const store = openSqliteStore(path, { synchronous: 'NORMAL' });
  await writeOrders(store, orders);
  await store.close();
  return path;
}

const served = (path: string) => {
  const db = new Database(path, { readonly: true });
  try {
    return db
      .prepare(
        `SELECT projection, generation, position FROM rm_checkpoints WHERE status = 'active' ORDER BY projection`,
      )
      .all();
  } finally {
    db.close();
  }
};

test('piped: no progress bar, a JSON report, exit 0, read models equal a clean pass', async () => {
  const path = await logFile(40);
  const result = await ledger(['projections', 'rebuild', '--store', `sqlite:${path}`, '--json']);
  assert.is(result.code, 0, result.stderr);
  assert.is(result.stderr, '', 'nothing on stderr when piped');
  assert.equal(
    result.json.projections.map((p: { name: string; state: string }) => [p.name, p.state]),
    [
      ['order-summary', 'running'],
      ['customer-activity', 'running'],
      ['daily-totals', 'running'],
    ],
  );
  const store = openSqliteStore(path);
  assert.equal(await snapshot(new Database(path, { readonly: true })), await cleanPass(store));
  await store.close();

  const one = await ledger(['projections', 'rebuild', 'daily-totals', '--store', `sqlite:${path}`]);
  assert.is(one.code, 0, one.stderr);
  const rebuilt = `daily-totals: rebuilt \\(version ${dailyTotals.version}, generation 2, checkpoint \\d+\\)`;
  assert.match(one.stdout, new RegExp(rebuilt));
  assert.not.match(one.stdout, /order-summary/);
});

test('usage errors exit 2', async () => {
  const path = await logFile(1);
  const unknown = await ledger(['projections', 'rebuild', 'nope', '--store', `sqlite:${path}`]);
  assert.is(unknown.code, 2);
  assert.match(
    unknown.stderr,
    /no projection named "nope"; choose from order-summary, customer-activity, daily-totals/,
  );
  const missing = await ledger(['projections', 'rebuild', '--store', `sqlite:${join(dir, 'absent.db')}`]);
  assert.is(missing.code, 2);
});

test('on a terminal: a progress bar on stderr', async () => {
  const path = await logFile(300);
  const stderr = Object.assign(new PassThrough(), { isTTY: true, columns: 100 });
  let drawn = '';
  stderr.on('data', (chunk: Buffer) => (drawn += chunk.toString()));
  const stdout = new PassThrough();
  const code = await run(['--store', `sqlite:${path}`], { stdout, stderr, env: {} });
  assert.is(code, 0);
  assert.match(drawn, /rebuilding all projections \[/);
});

test('while a server runner is live: it keeps serving, then follows the rebuilt generation', () =>
  withClosing(async (closeLater) => {
    const path = await logFile(60);
    const store = openSqliteStore(path, { synchronous: 'NORMAL', pollIntervalMs: 10 });
    closeLater(() => store.close());
    const server = await startProjections({ store, readModels: path });
    closeLater(() => server.close());
    await caughtUp(server, store);
    const before = served(path);

    const code = await run(['--store', `sqlite:${path}`, '--json'], {
      stdout: new PassThrough(),
      stderr: new PassThrough(),
      env: {},
    });
    assert.is(code, 0);
    const after = served(path) as Array<{ generation: number }>;
    assert.ok(
      after.every((row, i) => row.generation > (before[i] as { generation: number }).generation),
      'new generations are served',
    );

    // New writes land in the new generation through the server's runner.
    await writeOrders(store, 5, 'after');
    await caughtUp(server, store);
    assert.ok(await server.queries.order('after3', undefined));
    assert.equal(await snapshot(server.readModels), await cleanPass(store));
  }));

test.run();
