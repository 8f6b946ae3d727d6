/**
 * `ledger import` audits the whole file before it writes: a forged export (a hash that does not
 * verify; 5,001 captured on a 1,000 order behind a chain that does) is refused with its
 * findings listed, exit 1, and the target store stays empty.
 */
import { renameSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import Database from 'better-sqlite3';
import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import { toLine } from '../../src/audit/ndjson.ts';
import { importLog } from '../../src/cli/import.ts';
import { openMemoryStore } from '../../src/eventstore/memory-store.ts';
import type { OrderEvent } from '../../src/domain/events.ts';
import type { RecordedEvent } from '../../src/eventstore/port.ts';
import { encodeEvent } from '../../src/events/codec.ts';
import { sha256Hex } from '../../src/events/canonical.ts';
import { tempDir } from '../support/temp.ts';
import { ledger } from './run.ts';

const test = suite('ledger import: audit first');
const dir = tempDir('import-audit');

let position = 0n;
const heads = new Map<string, { revision: bigint; hash: string }>();

/** The next event of `stream`, encoded as the ledger would (a valid hash and link) unless `hash` forges it. */
function line(stream: string, event: OrderEvent, hash?: string): string {
  const head = heads.get(stream);
  const revision = head ? head.revision + 1n : 0n;
  position += 1n;
  const encoded = encodeEvent({
    streamId: stream,
    revision,
    id: `00000000-0000-4000-8000-${position.toString().padStart(12, '0')}`,
    event,
    metadata: {
      schemaVersion: 1,
      recordedAt: '2024-05-01T10:00:00.000Z',
      clientId: 'forger',
      correlationId: `c-${position}`,
      requestHash: sha256Hex(String(position)),
      prevHash: head?.hash ?? '',
    },
  });
  const metadata = { ...encoded.metadata, ...(hash !== undefined && { hash }) };
  heads.set(stream, { revision, hash: metadata.hash as string });
  const createdAt = new Date('2024-05-01T10:00:00.000Z');
  const record: RecordedEvent = { ...encoded, metadata, streamId: stream, revision, position, createdAt };
  return toLine(record);
}

const created = (orderId: string): OrderEvent => ({
  type: 'OrderCreated',
  data: {
    orderId,
    customerId: 'cust-1',
    currency: 'EUR',
    lines: [{ sku: 'SKU-1', quantity: 4, unitPrice: 250 }],
    total: 1_000,
  },
});
const captured = (orderId: string, paymentId: string, amount: number): OrderEvent => ({
  type: 'PaymentCaptured',
  data: { orderId, paymentId, amount, currency: 'EUR' },
});

test('a forged file: exit 1, its findings listed, nothing written', async () => {
  const file = join(dir, 'forged.ndjson');
  writeFileSync(
    file,
    `${[
      line('order-over', created('over')),
      line('order-forged', created('forged'), 'f'.repeat(64)),
      line('order-over', captured('over', 'p-1', 5_001)),
      line('order-forged', captured('forged', 'p-1', 100)),
    ].join('\n')}\n`,
  );
  const target = join(dir, 'target.db');
  const [human, json] = await Promise.all([
    ledger(['import', '--store', `sqlite:${target}`, '--in', file]),
    ledger(['import', '--store', `sqlite:${join(dir, 'target-json.db')}`, '--in', file, '--json']),
  ]);

  assert.is(human.code, 1, human.stderr);
  assert.match(human.stdout, /forged\.ndjson does not audit clean \(2 finding\(s\)\): nothing was imported/);
  assert.match(human.stdout, /hash-mismatch {2}order-forged@0 \(position 2\)/);
  assert.match(
    human.stdout,
    /over-captured {2}order-over@1 \(position 3\): captured 5001 exceeds the order total 1000/,
  );
  assert.not.match(human.stderr, /\n\s+at /);

  assert.is(json.code, 1);
  assert.is(json.json.imported, false);
  assert.equal(json.json.findings.byCode, { 'hash-mismatch': 1, 'over-captured': 1 });

  for (const path of [target, join(dir, 'target-json.db')]) {
    const db = new Database(path, { readonly: true });
    try {
      assert.is((db.prepare('SELECT count(*) AS n FROM events').get() as { n: number }).n, 0, 'the store stays empty');
    } finally {
      db.close();
    }
  }
});

test('the same file without the forgeries imports, exit 0', async () => {
  position = 0n;
  heads.clear();
  const file = join(dir, 'honest.ndjson');
  const lines = [line('order-ok', created('ok')), line('order-ok', captured('ok', 'p-1', 1_000))];
  writeFileSync(file, `${lines.join('\n')}\n`);
  const run = await ledger(['import', '--store', `sqlite:${join(dir, 'honest.db')}`, '--in', file, '--json']);
  assert.is(run.code, 0, run.stdout + run.stderr);
  assert.equal([run.json.events, run.json.streams], [2, 1]);
});

test('a file replaced after its audit: what is written is what was audited', async () => {
  position = 0n;
  heads.clear();
  const file = join(dir, 'swapped.ndjson');
  writeFileSync(
    file,
    `${[line('order-ok', created('ok')), line('order-ok', captured('ok', 'p-1', 1_000))].join('\n')}\n`,
  );
  position = 0n;
  heads.clear();
  const forged = join(dir, 'swapped-forged.ndjson');
  writeFileSync(
    forged,
    `${[line('order-ok', created('ok')), line('order-ok', captured('ok', 'p-1', 5_001))].join('\n')}\n`,
  );
  const store = openMemoryStore();
  let swapped = false;
  // The audit reports progress while it reads; the file is replaced under it then.
  const progress = {
    update: () => {
      if (!swapped) renameSync(forged, file);
      swapped = true;
    },
    stop: () => {},
  };
  const result = await importLog(store, file, progress);
  assert.ok(swapped, 'the file was replaced during the import');
  assert.equal(result, { events: 2, streams: 1 });
  const amounts = (await store.readStream('order-ok')).map((r) => r.data.amount);
  assert.equal(amounts, [undefined, 1_000]);
  await store.close();
});

test.run();
