/**
 * A corrupt record is a finding everywhere, never a crash or a hang. For each kind of broken row
 * (test/support/corrupt-rows.ts), on a copy of a log another process wrote, every path that meets
 * it must name it (stream, revision, position) and end within a bound: a command on its stream
 * (other streams unaffected), its events route, its payment route, a read, the projection runner, `ledger replay`,
 * `ledger replay-commands`, `ledger export` (with and without --skip-corrupt) and `ledger projections rebuild`.
 */
import { copyFileSync, existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import Database from 'better-sqlite3';
import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import { ledger } from '../cli/run.ts';
import { capturePayment, createOrder } from '../support/commands.ts';
import {
  CORRUPTIONS,
  corrupt,
  eventCount,
  positionOf,
  writeInChild,
  type CorruptionKind,
} from '../support/corrupt-rows.ts';
import { withTimeout } from '../../src/timeout.ts';
import { send, startTestServer } from '../support/http.ts';
import { tempDir } from '../support/temp.ts';

const test = suite('corrupt records on every path');
const dir = tempDir('corruption');
const base = join(dir, 'base.db');
/** Generous for a loaded 2-core machine; what matters is that each path ends rather than retries for ever. */
const BOUND_MS = 30_000;
const stoppedLate = () => new Error(`the projections stopping did not end within ${BOUND_MS} ms`);
const PROJECTIONS = ['customer-activity', 'daily-totals', 'order-summary'];

test.before(async () => {
  // Per kind its own order (created, then two captures), so no record a test breaks was read by this process before.
  const commands = CORRUPTIONS.flatMap((_, i) => {
    const orderId = `rot-${i}`;
    return [createOrder(orderId), capturePayment(orderId, 'p-1', 250), capturePayment(orderId, 'p-2', 250)];
  });
  await writeInChild(base, [...commands, createOrder('fine')]);
});

interface Broken {
  readonly path: string;
  readonly orderId: string;
  readonly stream: string;
  readonly revision: string;
  readonly position: string;
}

function breakRow(kind: CorruptionKind, index: number): Broken {
  const path = join(dir, `kind-${index}.db`);
  copyFileSync(base, path);
  const stream = `order-rot-${index}`;
  const position = positionOf(path, stream, 1);
  corrupt(path, kind, position);
  return { path, orderId: `rot-${index}`, stream, revision: kind.revisionAfter(1n), position: position.toString() };
}

const named = (broken: Broken) => ({ streamId: broken.stream, revision: broken.revision, position: broken.position });
const mention = (broken: Broken) => `${broken.stream}@${broken.revision} (position ${broken.position})`;
const noStackTrace = (text: string) => assert.not.match(text, /\n\s+at /, 'no stack trace');

CORRUPTIONS.forEach((kind, index) => {
  test(`${kind.name}: the server names it on commands, the events and payment routes, the runner; others go on`, async () => {
    const broken = breakRow(kind, index);
    const server = await startTestServer({ dbPath: broken.path });
    try {
      // The runner stops every projection there (each reads captures), visibly, and soon.
      const failures = await withTimeout(stoppedProjections(server.url), BOUND_MS, stoppedLate);
      assert.equal(
        failures,
        PROJECTIONS.map((name) => ({ name, state: 'failed', at: named(broken) })),
      );
      const metrics = await send(server.url, 'GET', '/metrics');
      for (const name of PROJECTIONS) {
        assert.match(metrics.text, `ledger_projection_state{projection="${name}",state="failed"} 1`);
      }

      const before = eventCount(broken.path);
      const body = { paymentId: 'p-3', amount: 100, currency: 'EUR' };
      const refused = await send(server.url, 'POST', `/orders/${broken.orderId}/payments`, { body });
      assert.is(refused.status, 500);
      assert.is(refused.headers['content-type'], 'application/problem+json; charset=utf-8');
      assert.equal({ type: refused.json.type, ...pick(refused.json) }, corruptProblem(broken));
      assert.is(eventCount(broken.path), before, 'nothing written');

      const events = await send(server.url, 'GET', `/orders/${broken.orderId}/events`);
      assert.is(events.status, 500);
      assert.equal({ type: events.json.type, ...pick(events.json) }, corruptProblem(broken));

      const payment = await send(server.url, 'GET', `/orders/${broken.orderId}/payments/p-1`);
      assert.is(payment.status, 500);
      assert.equal({ type: payment.json.type, ...pick(payment.json) }, corruptProblem(broken));

      // Reads come from the stopped projections: never an internal error.
      const read = await send(server.url, 'GET', `/orders/${broken.orderId}`);
      assert.ok([200, 503].includes(read.status), `read answered ${read.status}`);
      if (read.status === 200) assert.is(Number(read.json.captured), 0, 'nothing from the broken record on');

      const fine = await send(server.url, 'POST', '/orders/fine/payments', { body: { ...body, paymentId: 'p-1' } });
      assert.is(fine.status, 201, 'another stream is unaffected');
    } finally {
      await server.close();
    }
  });

  test(`${kind.name}: replay, replay-commands, export and projections rebuild name it, exit 1, and end`, async () => {
    const broken = breakRow(kind, index);
    const store = `sqlite:${broken.path}`;
    const skippedFile = join(dir, `skipped-${index}.ndjson`);
    const [replay, replayCommands, exported, skipping, rebuild] = await Promise.all([
      ledger(['replay', '--store', store, '--json'], {}, BOUND_MS),
      ledger(['replay-commands', '--store', store, '--json'], {}, BOUND_MS),
      ledger(['export', '--store', store, '--out', join(dir, `refused-${index}.ndjson`)], {}, BOUND_MS),
      ledger(['export', '--store', store, '--out', skippedFile, '--skip-corrupt', '--json'], {}, BOUND_MS),
      ledger(['projections', 'rebuild', '--store', store, '--json'], {}, BOUND_MS),
    ]);

    assert.is(replay.code, 1, replay.stderr);
    noStackTrace(replay.stderr);
    const code = kind.unreadable ? 'record-unreadable' : 'schema-invalid';
    const finding = replay.json.findings.listed.find((f: Listed) => f.code === code && f.position === broken.position);
    assert.equal([finding?.stream, finding?.revision], [broken.stream, broken.revision], code);

    assert.is(replayCommands.code, 1, replayCommands.stderr);
    noStackTrace(replayCommands.stderr);
    const unrebuildable = replayCommands.json.findings.listed.find((f: Listed) => f.position === broken.position);
    assert.equal(
      [unrebuildable?.code, unrebuildable?.stream, unrebuildable?.revision],
      ['command-unrebuildable', broken.stream, broken.revision],
    );

    assert.is(exported.code, 1, exported.stderr);
    noStackTrace(exported.stderr);
    assert.ok(exported.stderr.includes(mention(broken)), exported.stderr);
    assert.not.ok(existsSync(join(dir, `refused-${index}.ndjson`)), 'no export file');

    assert.is(skipping.code, 1, skipping.stderr);
    assert.equal(
      skipping.json.skipped.map((s: Listed) => ({ streamId: s.stream, revision: s.revision, position: s.position })),
      [named(broken)],
    );
    const lines = readFileSync(skippedFile, 'utf8').trimEnd().split('\n');
    assert.is(lines.length, eventCount(broken.path) - 1, 'every other record exported');
    assert.not.ok(lines.some((line) => JSON.parse(line).position === broken.position));

    assert.is(rebuild.code, 1, rebuild.stderr);
    noStackTrace(rebuild.stderr);
    assert.equal(
      rebuild.json.projections
        .map((p: StatusOf) => ({ name: p.name, at: p.failure && pick(p.failure) }))
        .sort((a: { name: string }, b: { name: string }) => a.name.localeCompare(b.name)),
      PROJECTIONS.map((name) => ({ name, at: named(broken) })),
    );
  });
});

test('a row broken while the server follows the log live: the runner stops there too, and commands go on', async () => {
  const path = join(dir, 'live.db');
  copyFileSync(base, path);
  const server = await startTestServer({ dbPath: path });
  try {
    const head = eventCount(path);
    const caughtUp = await send(server.url, 'GET', `/orders/fine?minPosition=${head}`);
    assert.is(caughtUp.status, 200);
    // Written by another connection, as another process (or a disk) would: the runner meets it live.
    const db = new Database(path);
    const insert = db.prepare(
      'INSERT INTO events (id, stream, revision, type, data, metadata, created_at) VALUES (?, ?, 1, ?, ?, ?, ?)',
    );
    const id = '00000000-0000-4000-8000-00000000000f';
    const cutShort = '{"orderId": "fine", "amo';
    const now = new Date().toISOString();
    const { lastInsertRowid } = insert.run(id, 'order-fine', 'PaymentCaptured', cutShort, '{}', now);
    db.close();
    const position = String(lastInsertRowid);
    const broken: Broken = { path, orderId: 'fine', stream: 'order-fine', revision: '1', position };
    const failures = await withTimeout(stoppedProjections(server.url), BOUND_MS, stoppedLate);
    assert.equal(
      failures,
      PROJECTIONS.map((name) => ({ name, state: 'failed', at: named(broken) })),
    );
    const body = { paymentId: 'p-9', amount: 100, currency: 'EUR' };
    const other = await send(server.url, 'POST', '/orders/rot-0/payments', { body });
    assert.is(other.status, 201, 'another stream is unaffected');
  } finally {
    await server.close();
  }
});

type Listed = Record<string, string>;
type StatusOf = { name: string; failure?: Record<string, unknown> };
type Generation = { failure?: Record<string, unknown> } | null;

const corruptProblem = (broken: Broken) => ({ type: '/problems/event-corrupt', ...named(broken) });

function pick(value: Record<string, unknown>) {
  return { streamId: value.streamId, revision: String(value.revision), position: String(value.position) };
}

/** Polls GET /projections until every projection has stopped; then says where each stopped. */
async function stoppedProjections(url: string) {
  for (;;) {
    const { json } = await send(url, 'GET', '/projections');
    const all = json.projections as Array<{ name: string; state: string; serving: Generation; rebuilding: Generation }>;
    if (all.every((p) => p.state === 'failed')) {
      return all
        .map((p) => ({ name: p.name, state: p.state, at: pick((p.rebuilding?.failure ?? p.serving?.failure)!) }))
        .sort((a, b) => a.name.localeCompare(b.name));
    }
    await new Promise((resolve) => setTimeout(resolve, 50));
  }
}

test.run();
