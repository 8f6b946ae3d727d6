/**
 * A payment's state read from its order stream, on orders of 10, 1,000 and 10,000 events (SQLite):
 * through the order reads over the state cache (what GET /orders/:orderId/payments/:paymentId does:
 * the cached state, refreshed with the tail after its head), against the baseline of reading,
 * decoding, verifying and folding the whole stream per read (what the route did before). Both run
 * in the same process, in alternating blocks after a warm-up; the figures are p50s, and the ratios
 * the ones that matter: cached against whole per size, and the cached read on the longest order
 * against the cached read on the shortest (≈ 1 when its cost does not grow).
 *
 *   npm run bench -- payment-read
 */
import { join } from 'node:path';
import { decidedStreams } from '../src/commands/decided-streams.ts';
import { createCommandHandler } from '../src/commands/handler.ts';
import { createOrderReads } from '../src/commands/order-reads.ts';
import { StateCache } from '../src/commands/state-cache.ts';
import { orderStreamId } from '../src/domain/ids.ts';
import { orderDecider } from '../src/domain/order.ts';
import { paymentStatusOf } from '../src/domain/payment-status.ts';
import { decodeStream } from '../src/events/codec.ts';
import type { EventStore } from '../src/eventstore/port.ts';
import { openSqliteStore } from '../src/eventstore/sqlite-store.ts';
import { fmt, ratio, withScratchDir } from './support.ts';

export interface PaymentReadFigures {
  /** Per order length: p50 µs of a whole-stream read and of a cached read. */
  readonly sizes: readonly { events: number; wholeP50Us: number; cachedP50Us: number; ratio: number }[];
  /** The cached read's p50 on the longest order over its p50 on the shortest. */
  readonly cachedGrowth: number;
}

const SIZES = [10, 1_000, 10_000];
const context = { clientId: 'bench', correlationId: 'bench-payment-read' };

/** The state as the route used to build it: every event read, decoded, chain-verified and folded. */
async function foldedWhole(store: EventStore, orderId: string, paymentId: string) {
  const records = await store.readStream(orderStreamId(orderId));
  const state = decodeStream(records, orderDecider.eventSchema).reduce(
    (s, e) => orderDecider.evolve(s, e.event),
    orderDecider.initialState(),
  );
  return state.status === 'open' ? paymentStatusOf(state, paymentId) : undefined;
}

const p50 = (samples: number[]) => [...samples].sort((a, b) => a - b)[Math.floor(samples.length / 2)]!;

async function timed(work: () => Promise<unknown>): Promise<number> {
  const started = process.hrtime.bigint();
  await work();
  return Number(process.hrtime.bigint() - started) / 1_000;
}

export async function run(): Promise<PaymentReadFigures> {
  return withScratchDir('payment-read', async (dir) => {
    const store = openSqliteStore(join(dir, 'ledger.db'), { synchronous: 'NORMAL' });
    const streams = decidedStreams(orderDecider, store, new StateCache());
    const handle = createCommandHandler(store, {}, streams);
    const reads = createOrderReads(streams, store);
    const sizes: PaymentReadFigures['sizes'][number][] = [];
    try {
      for (const events of SIZES) {
        const orderId = `long-${events}`;
        const lines = [{ sku: 'S', quantity: 1, unitPrice: 1_000_000_000 }];
        await handle({ type: 'CreateOrder', orderId, customerId: 'c', currency: 'EUR', lines }, context);
        for (let i = 1; i < events; i++) {
          await handle({ type: 'CapturePayment', orderId, paymentId: `p-${i}`, amount: 1, currency: 'EUR' }, context);
        }
        const paymentId = `p-${Math.floor(events / 2)}`;
        const cached = async () => {
          const found = await reads.payment(orderId, paymentId, undefined);
          if (!found.found) throw new Error(`${orderId}: no ${paymentId}`);
          return found.payment;
        };
        const whole = () => foldedWhole(store, orderId, paymentId);
        if (JSON.stringify(await cached()) !== JSON.stringify(await whole())) {
          throw new Error(`${orderId}: the two reads disagree`);
        }
        // In blocks, not interleaved read by read: the whole read's garbage would be collected in the
        // middle of the cached reads after it. The blocks alternate, so a change of load hits both.
        const samples = { whole: [] as number[], cached: [] as number[] };
        const wholeReads = events >= 10_000 ? 10 : 100;
        for (let block = 0; block < 4; block++) {
          for (const kind of block % 2 === 0 ? (['cached', 'whole'] as const) : (['whole', 'cached'] as const)) {
            const work = kind === 'whole' ? whole : cached;
            for (let i = 0; i < 5; i++) await work(); // warm-up
            for (let i = 0; i < (kind === 'whole' ? wholeReads : 250); i++) samples[kind].push(await timed(work));
          }
        }
        const figure = { events, wholeP50Us: p50(samples.whole), cachedP50Us: p50(samples.cached) };
        sizes.push({ ...figure, ratio: figure.cachedP50Us / figure.wholeP50Us });
        console.log(
          `${fmt(events)} events: whole ${fmt(figure.wholeP50Us)} µs, cached ${fmt(figure.cachedP50Us)} µs ` +
            `(${ratio(figure.cachedP50Us, figure.wholeP50Us)})`,
        );
      }
    } finally {
      await store.close();
    }
    const cachedGrowth = sizes.at(-1)!.cachedP50Us / sizes[0]!.cachedP50Us;
    console.log(`cached read, ${fmt(SIZES.at(-1)!)} events against ${fmt(SIZES[0]!)}: ${cachedGrowth.toFixed(2)}×`);
    return { sizes, cachedGrowth };
  });
}
