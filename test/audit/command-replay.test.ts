/**
 * replay-commands over a log written by 1,000 real HTTP commands (a listening server, every
 * command route): every command comes back as a replay and nothing is written. Events slipped
 * into the file by hand, with a valid hash chain, are caught because their commands, decided
 * again where they stood, would not have produced them.
 */
import { once } from 'node:events';
import { copyFileSync, createWriteStream } from 'node:fs';
import { join } from 'node:path';
import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import { replayCommands, type CommandReplayResult } from '../../src/audit/command-replay.ts';
import { exportLog } from '../../src/cli/export.ts';
import { send, startTestServer, type Sent } from '../support/http.ts';
import { tempDir } from '../support/temp.ts';
import { insertCapture, onStore, partlyPaidOrder, planCommands, rewrite, runPlan, withFile } from './fixtures.ts';

const test = suite<{ path: string }>('replay-commands');
const dir = tempDir('command-replay');
let copies = 0;

function replayFile(path: string): Promise<CommandReplayResult> {
  return onStore(path, (store, location) => replayCommands({ source: { kind: 'store', store, location } }));
}

function copy(path: string): string {
  const target = join(dir, `copy-${++copies}.db`);
  copyFileSync(path, target);
  return target;
}

test.before(async (context) => {
  const server = await startTestServer({ dbPath: join(dir, 'http.db') });
  const orderIds = new Map<string, string>();
  let n = 0;
  const expect201 = (response: Sent) => {
    if (response.status !== 201) throw new Error(`expected 201, got ${response.status}: ${response.text}`);
    return response;
  };
  try {
    // Every command route and both ways of naming a payment, alternately.
    await runPlan(planCommands(1_000, 11), async ({ command }) => {
      const i = ++n;
      if (command.type === 'CreateOrder') {
        const { orderId, type: _type, ...body } = command;
        if (i % 2 === 0) {
          expect201(await send(server.url, 'PUT', `/orders/${orderId}`, { body }));
          orderIds.set(orderId, orderId);
        } else {
          const created = expect201(
            await send(server.url, 'POST', '/orders', { body, headers: { 'idempotency-key': `create-${i}` } }),
          );
          orderIds.set(orderId, created.json.orderId as string);
        }
        return;
      }
      const { orderId, paymentId, amount, currency } = command;
      const path = `/orders/${orderIds.get(orderId)}/payments`;
      if (i % 2 === 0) expect201(await send(server.url, 'POST', path, { body: { paymentId, amount, currency } }));
      else
        expect201(
          await send(server.url, 'POST', path, {
            body: { amount, currency },
            headers: { 'idempotency-key': `pay-${i}` },
          }),
        );
    });
  } finally {
    await server.close();
  }
  context.path = server.dbPath;
});

test('1,000 commands over HTTP: 1,000 replays, 0 new events, and the live file untouched', async ({ path }) => {
  const before = withFile(path, (db) => db.prepare('SELECT count(*) AS n, max(position) AS head FROM events').get());
  const result = await replayFile(path);
  assert.is(result.commands, 1_000);
  assert.is(result.replays, 1_000);
  assert.is(result.newEvents, 0);
  assert.is(result.findings.total, 0);
  assert.equal(
    withFile(path, (db) => db.prepare('SELECT count(*) AS n, max(position) AS head FROM events').get()),
    before,
  );
});

test('a hand-inserted capture beyond what is outstanding (valid hash chain): command-rejected at that event', async ({
  path,
}) => {
  const target = copy(path);
  const order = partlyPaidOrder(target);
  const inserted = insertCapture(
    target,
    order,
    { paymentId: 'slipped-in', amount: order.total - order.captured + 1 },
    '00000000-0000-4000-8000-00000000000a',
  );
  const result = await replayFile(target);
  assert.is(result.commands, 1_001);
  assert.is(result.replays, 1_000);
  assert.is(result.newEvents, 0);
  assert.equal(
    result.findings.listed.map((f) => [f.code, f.stream, f.revision, f.position]),
    [['command-rejected', inserted.stream, String(inserted.revision), String(inserted.position)]],
  );
  assert.match(result.findings.listed[0]!.message, /capture-exceeds-outstanding/);
});

test('an amount changed at rest: command-decided-differently (its command makes another event)', async ({ path }) => {
  const target = copy(path);
  const order = partlyPaidOrder(target);
  const changed = rewrite(target, order.lastPayment.position, (row) => ({
    data: { ...row.data, amount: (row.data.amount as number) + 1 },
  }));
  const result = await replayFile(target);
  assert.equal(
    result.findings.listed.map((f) => [f.code, f.position]),
    [['command-decided-differently', String(changed.position)]],
  );
  assert.is(result.replays, 999);
  assert.is(result.newEvents, 0);
});

test('a payment repeated under a new event id: the repeat is found, the original still replays', async ({ path }) => {
  const target = copy(path);
  const order = partlyPaidOrder(target);
  const { paymentId, amount } = order.lastPayment.data as { paymentId: string; amount: number };
  const repeat = insertCapture(target, order, { paymentId, amount }, '00000000-0000-4000-8000-00000000000b');
  const result = await replayFile(target);
  assert.equal(
    result.findings.listed.map((f) => [f.code, f.position]),
    [['command-decided-differently', String(repeat.position)]],
  );
  assert.match(result.findings.listed[0]!.message, /already taken effect/);
  assert.is(result.replays, 1_000);
});

test('an export replays without any store (through a memory copy)', async ({ path }) => {
  const file = join(dir, 'export.ndjson');
  const out = createWriteStream(file);
  await onStore(path, (store, location) => exportLog(store, location, out));
  out.end();
  await once(out, 'finish');
  const result = await replayCommands({ source: { kind: 'file', path: file } });
  assert.is(result.replays, 1_000);
  assert.is(result.findings.total, 0);
});

test.run();
