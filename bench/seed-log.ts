/**
 * A reproducible event log for benchmarks: the same seed and size give the same file, byte for
 * byte. Going through the command handler would take minutes for a million events, so the rows
 * are written straight into the SQLite store's own table, encoded exactly as the handler encodes
 * them (encodeEvent, deterministic ids, prevHash → hash chain), in large transactions.
 *
 *   npx tsx bench/seed-log.ts [events] [path] [seed]
 */
import { execFileSync } from 'node:child_process';
import { existsSync, renameSync, rmSync } from 'node:fs';
import { fileURLToPath, pathToFileURL } from 'node:url';
import Database from 'better-sqlite3';
import type { OrderCommand } from '../src/domain/commands.ts';
import { EVENT_SCHEMA_VERSION } from '../src/domain/events.ts';
import { orderStreamId } from '../src/domain/ids.ts';
import { orderDecider, type OrderState } from '../src/domain/order.ts';
import { openSqliteStore } from '../src/eventstore/sqlite-store.ts';
import { commandDigestOf, deterministicEventId, encodeEvent } from '../src/events/codec.ts';

export interface SeedOptions {
  readonly path: string;
  readonly events: number;
  readonly seed?: number;
  readonly onProgress?: (written: number) => void;
}

export interface SeedSummary {
  readonly path: string;
  readonly events: number;
  readonly orders: number;
  readonly seconds: number;
}

const CURRENCIES = ['EUR', 'USD', 'GBP', 'JPY'] as const;
const START = Date.parse('2024-01-01T00:00:00.000Z');
/** Orders still owing money that a capture may pick; bounded so the log interleaves realistically. */
const MAX_OPEN_ORDERS = 5_000;
const TRANSACTION_ROWS = 20_000;

interface OpenOrder {
  readonly orderId: string;
  state: OrderState;
  payments: number;
  revision: number;
  prevHash: string;
}

/** mulberry32: tiny, fast, and the same sequence on every machine. */
export function prng(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4_294_967_296;
  };
}

/** Writes the log to `path` (replacing any file there) and says what it wrote. */
export async function seedLog(options: SeedOptions): Promise<SeedSummary> {
  const started = performance.now();
  const random = prng(options.seed ?? 1);
  const int = (min: number, max: number) => min + Math.floor(random() * (max - min + 1));
  // Written beside the target and renamed at the end, so an interrupted run never leaves a half log to be reused.
  const partial = `${options.path}.partial`;
  for (const suffix of ['', '-wal', '-shm']) rmSync(partial + suffix, { force: true });
  // The store creates the schema; the rows go in through a connection of this tool's own, in bulk.
  await openSqliteStore(partial, { synchronous: 'OFF' }).close();
  const db = new Database(partial);
  db.pragma('journal_mode = WAL');
  db.pragma('synchronous = OFF');
  const insert = db.prepare(
    'INSERT INTO events (id, stream, revision, type, data, metadata, created_at) VALUES (?, ?, ?, ?, ?, ?, ?)',
  );

  const open: OpenOrder[] = [];
  let orders = 0;
  let clock = START;
  let written = 0;

  function nextCommand(): { command: OrderCommand; order: OpenOrder; slot: number } {
    const create = open.length === 0 || (open.length < MAX_OPEN_ORDERS && random() < 0.4);
    if (create) {
      const orderId = `o${(++orders).toString(36)}`;
      const lines = Array.from({ length: int(1, 4) }, () => ({
        sku: `SKU-${int(1, 500)}`,
        quantity: int(1, 5),
        unitPrice: int(100, 20_000),
      }));
      const currency = CURRENCIES[int(0, CURRENCIES.length - 1)]!;
      const command: OrderCommand = { type: 'CreateOrder', orderId, customerId: `c${int(1, 20_000)}`, currency, lines };
      open.push({ orderId, state: orderDecider.initialState(), payments: 0, revision: -1, prevHash: '' });
      return { command, order: open[open.length - 1]!, slot: open.length - 1 };
    }
    const slot = int(0, open.length - 1);
    const order = open[slot]!;
    if (order.state.status !== 'open') throw new Error(`order ${order.orderId} was never created`);
    const outstanding = order.state.total - order.state.captured;
    // Half the captures settle the order; the rest take a part of what is owed.
    const amount = random() < 0.5 ? outstanding : int(1, outstanding);
    const paymentId = `p${++order.payments}`;
    const command: OrderCommand = {
      type: 'CapturePayment',
      orderId: order.orderId,
      paymentId,
      amount,
      currency: order.state.currency,
    };
    return { command, order, slot };
  }

  function writeOne(): void {
    const { command, order, slot } = nextCommand();
    // The real decider: the log holds exactly what the handler would have written.
    const [event] = orderDecider.decide(command, order.state);
    if (!event) throw new Error(`${command.type} on ${order.orderId} decided nothing`);
    const streamId = orderStreamId(order.orderId);
    const digest = commandDigestOf(command);
    clock += int(0, 2_000);
    const recordedAt = new Date(clock).toISOString();
    const n = written + 1;
    const record = encodeEvent({
      streamId,
      revision: BigInt(order.revision + 1),
      id: deterministicEventId(streamId, orderDecider.idempotencyScope(command), digest, 0),
      event,
      metadata: {
        schemaVersion: EVENT_SCHEMA_VERSION,
        recordedAt,
        clientId: 'bench',
        correlationId: `corr-${n}`,
        idempotencyKey: `key-${n}`,
        requestHash: digest,
        prevHash: order.prevHash,
      },
    });
    insert.run(
      record.id,
      streamId,
      order.revision + 1,
      record.type,
      JSON.stringify(record.data),
      JSON.stringify(record.metadata),
      recordedAt,
    );
    order.revision += 1;
    order.prevHash = record.metadata.hash as string;
    order.state = orderDecider.evolve(order.state, event);
    if (order.state.status === 'open' && order.state.captured === order.state.total) {
      // Settled: swap-remove, O(1); the PRNG decides the order anyway.
      open[slot] = open[open.length - 1]!;
      open.pop();
    }
    written += 1;
  }

  const batch = db.transaction((count: number) => {
    for (let i = 0; i < count; i++) writeOne();
  });
  while (written < options.events) {
    batch(Math.min(TRANSACTION_ROWS, options.events - written));
    options.onProgress?.(written);
  }
  // Closing the last connection checkpoints the WAL into the file and removes it, so the rename moves everything.
  db.close();
  renameSync(partial, options.path);
  return { path: options.path, events: written, orders, seconds: (performance.now() - started) / 1000 };
}

/**
 * The cached log for `events` under .bench/, generated on first use by a child process: the call
 * stays synchronous, and the generator's memory never shows in the caller's peak-memory figures.
 */
export function cachedLog(events: number, seed = 1, dir = '.bench'): { path: string; generated: boolean } {
  const path = `${dir}/replay-${events}-seed${seed}.db`;
  if (existsSync(path)) return { path, generated: false };
  execFileSync(
    process.execPath,
    ['--import', 'tsx', fileURLToPath(import.meta.url), String(events), path, String(seed)],
    { stdio: ['ignore', 'ignore', 'inherit'] },
  );
  return { path, generated: true };
}

if (import.meta.url === pathToFileURL(process.argv[1] ?? '').href) {
  const events = Number(process.argv[2] ?? 1_000_000);
  const path = process.argv[3] ?? `.bench/replay-${events}-seed1.db`;
  const seed = Number(process.argv[4] ?? 1);
  const summary = await seedLog({ path, events, seed, onProgress: (n) => process.stderr.write(`\r${n} events`) });
  process.stderr.write('\n');
  console.log(JSON.stringify(summary));
}
