/**
 * Payment processors in separate OS processes on one SQLite file, charging one fake PSP over HTTP:
 * claims are fenced by the order stream's revision only, so this is where "two processors never
 * both act on one request" must hold. One of them is SIGKILLed mid-run and a third takes over.
 */
import { type ChildProcess, spawn } from 'node:child_process';
import { once } from 'node:events';
import { join } from 'node:path';
import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import { openSqliteStore } from '../../src/eventstore/sqlite-store.ts';
import { pspIdempotencyKey } from '../../src/payments/idempotency-key.ts';
import { FakeGateway, serveFakeGateway } from '../support/fake-gateway.ts';
import { tempDir } from '../support/temp.ts';
import { allResolved, outcomesOf, seedRequests, waitFor } from './support.ts';

const test = suite('payment processors in two processes');

function startWorker(path: string, pspUrl: string): Promise<ChildProcess> {
  const child = spawn(process.execPath, ['--import', 'tsx', 'test/support/payment-worker.ts'], {
    env: {
      ...process.env,
      LEDGER_STORE: `sqlite:${path}`,
      FAKE_PSP_URL: pspUrl,
      LEDGER_PAYMENT_CLAIM_LEASE_MS: '300',
      LEDGER_PSP_CONCURRENCY: '4',
      LOG_LEVEL: 'silent',
    },
    stdio: ['ignore', 'pipe', 'inherit'],
  });
  return new Promise((resolve, reject) => {
    child.stdout!.on('data', (chunk: Buffer) => {
      if (chunk.toString().includes('ready')) resolve(child);
    });
    child.once('exit', (code) => reject(new Error(`worker exited with ${code} before it was ready`)));
  });
}

async function stop(child: ChildProcess, signal: NodeJS.Signals): Promise<void> {
  if (child.exitCode !== null || child.signalCode !== null) return;
  const exited = once(child, 'exit');
  child.kill(signal);
  await exited;
}

test('each request charged once and resolved once, a processor killed on the way', async () => {
  const path = join(tempDir('payments-two'), 'ledger.db');
  const store = openSqliteStore(path);
  const gateway = new FakeGateway();
  gateway.latencyMs = 5;
  // Some answers are lost after the charge was made: the retry must find the charge by its key.
  gateway.resetAfterChargeNext = 5;
  const psp = await serveFakeGateway(gateway);
  const workers: ChildProcess[] = [];
  try {
    await seedRequests(store, 1, 1); // creates the file's schema before the workers open it
    workers.push(await startWorker(path, psp.url), await startWorker(path, psp.url));
    const requested = await seedRequests(store, 12, 5);
    await waitFor(() => gateway.charges.size >= 15, 30_000, 'some charges');
    await stop(workers[0]!, 'SIGKILL');
    workers.push(await startWorker(path, psp.url));
    await waitFor(() => allResolved(store, requested), 60_000, 'every request resolved');
    const outcomes = await outcomesOf(store, requested);
    for (const [payment, events] of outcomes) assert.is(events.length, 1, `${payment}: one outcome`);
    for (const { orderId, paymentId } of requested) {
      assert.ok(gateway.charges.has(pspIdempotencyKey(orderId, paymentId)), `${orderId}/${paymentId} charged`);
    }
    // The seeding request and the 60: one charge each, whatever was killed or lost on the way.
    assert.ok(gateway.charges.size === requested.length + 1, `${gateway.charges.size} charges`);
  } finally {
    await Promise.all(workers.map((w) => stop(w, 'SIGTERM')));
    await psp.close();
    await store.close();
  }
});

test.run();
