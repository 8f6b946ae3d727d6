/**
 * Appends/s on the embedded store under synchronous=FULL, at concurrency 1 and 64, beside raw
 * better-sqlite3 loops with the same durability measured in the same run (the machine is shared,
 * so only ratios are comparable between runs).
 */
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import Database from 'better-sqlite3';
import type { EventToAppend } from '../src/eventstore/port.ts';
import { openSqliteStore } from '../src/eventstore/sqlite-store.ts';
import { deterministicEventId, encodeEvent } from '../src/events/codec.ts';
import { fmt, perSecond, ratio, withScratchDir } from './support.ts';

export interface AppendFigures {
  concurrency1: number;
  concurrency64: number;
  rawBatched100: number;
  rawOnePerTransaction: number;
}

export function orderCreated(i: number): { streamId: string; event: EventToAppend } {
  const orderId = `bench-${i}`;
  const streamId = `order-${orderId}`;
  const event = encodeEvent({
    streamId,
    revision: 0n,
    id: deterministicEventId(streamId, 'create', 'bench', 0),
    event: {
      type: 'OrderCreated',
      data: {
        orderId,
        customerId: `c-${i % 1000}`,
        currency: 'EUR',
        lines: [{ sku: 'SKU-1', quantity: 2, unitPrice: 1250 }],
        total: 2500,
      },
    },
    metadata: {
      schemaVersion: 1,
      recordedAt: new Date().toISOString(),
      clientId: 'bench',
      correlationId: `corr-${i}`,
      requestHash: 'a'.repeat(64),
      prevHash: '',
    },
  });
  return { streamId, event };
}

async function storeRate(path: string, total: number, concurrency: number): Promise<number> {
  const store = openSqliteStore(path, { synchronous: 'FULL' });
  const events = Array.from({ length: total }, (_, i) => orderCreated(i));
  let next = 0;
  const started = process.hrtime.bigint();
  await Promise.all(
    Array.from({ length: concurrency }, async () => {
      while (next < total) {
        const { streamId, event } = events[next++]!;
        await store.append(streamId, [event], 'no_stream');
      }
    }),
  );
  const rate = perSecond(total, started);
  await store.close();
  return rate;
}

function rawRate(path: string, total: number, perTransaction: number): number {
  const db = new Database(path);
  db.pragma('journal_mode = WAL');
  db.pragma('synchronous = FULL');
  db.exec(
    'CREATE TABLE events (position INTEGER PRIMARY KEY AUTOINCREMENT, id TEXT UNIQUE, stream TEXT, revision INTEGER, type TEXT, data TEXT, metadata TEXT, created_at TEXT, UNIQUE(stream, revision))',
  );
  const insert = db.prepare(
    'INSERT INTO events (id, stream, revision, type, data, metadata, created_at) VALUES (?, ?, ?, ?, ?, ?, ?)',
  );
  const events = Array.from({ length: total }, (_, i) => orderCreated(i));
  const writeBatch = db.transaction((batch: typeof events) => {
    for (const { streamId, event } of batch)
      insert.run(
        event.id,
        streamId,
        0,
        event.type,
        JSON.stringify(event.data),
        JSON.stringify(event.metadata),
        new Date().toISOString(),
      );
  });
  const started = process.hrtime.bigint();
  for (let i = 0; i < total; i += perTransaction) writeBatch(events.slice(i, i + perTransaction));
  const rate = perSecond(total, started);
  db.close();
  return rate;
}

export async function run(options: { events?: number } = {}): Promise<AppendFigures> {
  const total = options.events ?? 20_000;
  return withScratchDir('append', async (dir) => {
    const figures: AppendFigures = {
      rawOnePerTransaction: rawRate(join(dir, 'raw1.db'), Math.min(total, 3_000), 1),
      rawBatched100: rawRate(join(dir, 'raw100.db'), total, 100),
      concurrency1: await storeRate(join(dir, 'c1.db'), Math.min(total, 3_000), 1),
      concurrency64: await storeRate(join(dir, 'c64.db'), total, 64),
    };
    console.log('append (sqlite, synchronous=FULL, one event per append, distinct streams)');
    console.table({
      'raw better-sqlite3, 1 event/transaction': { 'events/s': fmt(figures.rawOnePerTransaction) },
      'raw better-sqlite3, 100 events/transaction': { 'events/s': fmt(figures.rawBatched100) },
      'ledger store, concurrency 1': { 'events/s': fmt(figures.concurrency1) },
      'ledger store, concurrency 64': { 'events/s': fmt(figures.concurrency64) },
    });
    console.log(`concurrency 64 / concurrency 1: ${ratio(figures.concurrency64, figures.concurrency1)} (target ≥ 10×)`);
    console.log(
      `concurrency 64 / raw 100 per transaction: ${ratio(figures.concurrency64, figures.rawBatched100)} (target ≥ 0.50×)`,
    );
    return figures;
  });
}

if (import.meta.url === pathToFileURL(process.argv[1] ?? '').href) await run();
