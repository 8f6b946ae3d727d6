/**
 * Shared by the projection tests: logs written through the real command handler, the read
 * models of a clean single pass over a log, and snapshots of every projection's documents.
 */
import { spawn } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import Database from 'better-sqlite3';
import { projections as allProjections } from '../../projections/index.ts';
import { orderSummary } from '../../projections/order-summary.ts';
import type { Projection } from '../../projections/projection.ts';
import { createCommandHandler } from '../../src/commands/handler.ts';
import type { EventStore } from '../../src/eventstore/port.ts';
import { decodeEvent, type LedgerEvent } from '../../src/events/codec.ts';
import { Checkpoints } from '../../src/projections/checkpoints.ts';
import { DocumentTable } from '../../src/projections/documents.ts';
import { ProjectionNotServingError } from '../../src/projections/queries.ts';
import type { ReadModelStore } from '../../src/projections/read-model-store.ts';
import { listDocuments, rebuildInto } from '../../src/projections/rebuild.ts';
import type { Projections } from '../../src/projections/service.ts';
import { context } from '../support/commands.ts';

/** order-summary's next version: the same documents plus a field only it writes. */
export const orderSummaryV2: Projection = {
  ...orderSummary,
  version: orderSummary.version + 1,
  apply: (event, docs) =>
    orderSummary.apply(event, docs).map((change) => ({
      ...change,
      update: (current: unknown) => {
        const next = change.update(current);
        return next && { ...next, builtBy: 'v2' };
      },
    })),
};

export type Snapshot = Record<string, Array<{ collection: string; key: string; doc: unknown }>>;

/** Every served document of every projection, in (collection, key) order (a SQLite file may be open read-only). */
export async function snapshot(
  source: Database.Database | ReadModelStore,
  projections: readonly Projection[] = allProjections,
): Promise<Snapshot> {
  if (source instanceof Database) {
    const checkpoints = new Checkpoints(source);
    const documents = new DocumentTable(source);
    return Object.fromEntries(
      projections.map((p) => {
        const served = checkpoints.active(p.name);
        if (!served) throw new ProjectionNotServingError(p.name);
        return [p.name, [...documents.list(p.name, served.generation)]];
      }),
    );
  }
  const taken: Snapshot = {};
  for (const p of projections) {
    const docs = [];
    for await (const doc of listDocuments(source, p.name)) docs.push(doc);
    taken[p.name] = docs;
  }
  return taken;
}

export async function* decodedLog(store: EventStore): AsyncGenerator<LedgerEvent> {
  for await (const record of store.readAll()) yield decodeEvent(record);
}

/** The reference: one clean pass over the whole log into a fresh database. */
export async function cleanPass(
  store: EventStore,
  projections: readonly Projection[] = allProjections,
): Promise<Snapshot> {
  const db = new Database(':memory:');
  try {
    await rebuildInto(db, decodedLog(store), { projections });
    return await snapshot(db, projections);
  } finally {
    db.close();
  }
}

/**
 * `orders` orders of a few customers and currencies, each created and then captured in one to
 * three payments (odd orders in full), interleaved, an hour apart on the handler's clock so the
 * log spans days.
 */
export async function writeOrders(store: EventStore, orders: number, prefix = 'o'): Promise<bigint> {
  let clock = Date.parse('2024-03-01T20:00:00.000Z');
  const handle = createCommandHandler(store, { now: () => new Date((clock += 3_600_000)) });
  const currencies = ['EUR', 'USD', 'JPY'];
  let position = 0n;
  const pending: Array<() => Promise<void>> = [];
  for (let i = 0; i < orders; i++) {
    const orderId = `${prefix}${i}`;
    const currency = currencies[i % currencies.length]!;
    const created = await handle(
      {
        type: 'CreateOrder',
        orderId,
        customerId: `${prefix}-customer-${i % 7}`,
        currency,
        lines: [{ sku: 'SKU-1', quantity: 1 + (i % 3), unitPrice: 1_000 }],
      },
      context(),
    );
    position = created.position;
    const payments = 1 + (i % 3);
    for (let p = 0; p < payments; p++) {
      // Captures run a few orders later, so streams interleave in the global log.
      pending.push(async () => {
        // Odd orders end fully paid, even ones partially.
        const amount = i % 2 === 1 ? 1_000 : 300;
        const outcome = await handle(
          { type: 'CapturePayment', orderId, paymentId: `${orderId}-p${p}`, amount, currency },
          context(),
        );
        position = outcome.position;
      });
    }
    if (pending.length > 4) await pending.shift()!();
  }
  for (const capture of pending) await capture();
  return position;
}

/** Resolves once every projection serves a generation built by this code that has applied the log up to its head (no rebuild pending). */
export async function caughtUp(running: Projections, store: EventStore, timeoutMs = 20_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const head = await store.headPosition();
    const statuses = await running.status();
    const done = statuses.every(
      (s) =>
        s.rebuilding === undefined &&
        s.serving?.version === s.codeVersion &&
        (head === undefined || (s.serving.checkpoint ?? -1n) >= head),
    );
    if (done) return;
    if (Date.now() > deadline)
      throw new Error(
        `projections did not catch up with position ${head} within ${timeoutMs} ms: ${JSON.stringify(statuses, (_, v) => (typeof v === 'bigint' ? String(v) : v))}`,
      );
    await new Promise((resolve) => setTimeout(resolve, 10));
  }
}

/** Runs `body`, then closes what it opened even when an assertion failed (a live runner would keep the test process alive). */
export async function withClosing(
  body: (closeLater: (close: () => Promise<void>) => void) => Promise<void>,
): Promise<void> {
  const closers: Array<() => Promise<void>> = [];
  try {
    await body((close) => closers.unshift(close));
  } finally {
    for (const close of closers) await close();
  }
}

const RUNNER_PROCESS = fileURLToPath(new URL('./fixtures/runner-process.ts', import.meta.url));

export interface ChildRun {
  readonly code: number | null;
  readonly signal: NodeJS.Signals | null;
  readonly stdout: string;
  readonly stderr: string;
}

/**
 * A projection runner in another OS process on the same SQLite file. It exits 0 once caught
 * up with the head of the log (and the head stopped moving), or SIGKILLs itself right after
 * committing its `killAfterBatches`-th batch.
 */
export function runnerProcess(
  dbPath: string,
  options: { batchSize: number; killAfterBatches?: number; onSpawn?: (kill: () => void) => void },
): Promise<ChildRun> {
  return new Promise((resolve, reject) => {
    const child = spawn(
      process.execPath,
      ['--import', 'tsx', RUNNER_PROCESS, dbPath, String(options.batchSize), String(options.killAfterBatches ?? 0)],
      { stdio: ['ignore', 'pipe', 'pipe'] },
    );
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (chunk: Buffer) => (stdout += chunk.toString()));
    child.stderr.on('data', (chunk: Buffer) => (stderr += chunk.toString()));
    child.on('error', reject);
    child.on('close', (code, signal) => resolve({ code, signal, stdout, stderr }));
    options.onSpawn?.(() => child.kill('SIGKILL'));
  });
}
