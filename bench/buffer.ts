/**
 * `npm run bench -- buffer`: the payment buffer, each figure beside its baseline in the same run.
 *
 *   (a) intake: asynchronous requests (`Prefer: respond-async`, answered 202) per second against
 *       synchronous captures (201) per second, on one server process over the durable SQLite store,
 *       autocannon with 50 connections; the server only takes requests in (LEDGER_PAYMENT_PROCESSOR=off,
 *       a buffer large enough never to refuse) so the intake is measured alone;
 *   (b) processing: the payment processor (in this process, memory store) charging through the
 *       Stripe gateway and the official SDK over HTTP to the stand-in at 20 ms PSP latency, with
 *       N = 1, 4, 16, 64 calls in flight (LEDGER_PSP_CONCURRENCY), the stand-in executing at most 16
 *       at once; beside each, the gateway alone at the same N (the ceiling the PSP allows).
 *
 * Concurrency model: one processor runs up to N payments at once, each claim → PSP call → outcome in
 * sequence (claims and outcomes are appends fenced by the order's revision); the PSP call is I/O, so
 * throughput grows with N until the PSP's own concurrency limit holds it at limit / latency.
 */
import { randomUUID } from 'node:crypto';
import autocannon, { type Request } from 'autocannon';
import { openMemoryStore } from '../src/eventstore/memory-store.ts';
import { StripeApiBaseSchema } from '../src/payments/stripe-config.ts';
import { createStripeGateway } from '../src/payments/stripe-gateway.ts';
import { allResolved, seedRequests, startBuffer, waitFor } from '../test/payments/support.ts';
import { freePort, ServerProcess } from '../test/reliability/server-process.ts';
import { STAND_IN_API_KEY, StripeStandIn } from '../test/support/stripe-stand-in.ts';
import { gatewayCallsPerSecond } from './psp-ceiling.ts';
import { fmt, ratio, withScratchDir } from './support.ts';

const PSP_LATENCY_MS = 20;
const PSP_CONCURRENCY_LIMIT = 16;
const IN_FLIGHT = [1, 4, 16, 64];
/** Payments per order in the intake run: one order, then this many payments on it, per connection cycle. */
const PAYMENTS_PER_ORDER = 9;

export interface BufferFigures {
  readonly intake: { asyncPerSecond: number; syncPerSecond: number; ratio: number; non2xx: number };
  readonly processing: { inFlight: number; processorPerSecond: number; gatewayPerSecond: number }[];
}

export async function run(options: { seconds?: number } = {}): Promise<BufferFigures> {
  const seconds = options.seconds ?? 5;
  const intake = await withScratchDir('buffer', (dir) => intakeRates(dir, seconds));
  const processing = [];
  for (const inFlight of IN_FLIGHT) processing.push(await processingRate(inFlight));
  const figures = { intake, processing };
  print(figures, seconds);
  return figures;
}

async function intakeRates(dir: string, seconds: number): Promise<BufferFigures['intake']> {
  const server = new ServerProcess({
    store: `sqlite:${dir}/buffer.db`,
    port: await freePort(),
    env: {
      LOG_LEVEL: 'error',
      LEDGER_PSP: 'stripe',
      STRIPE_API_KEY: STAND_IN_API_KEY,
      // Never called: this process only takes requests in.
      STRIPE_API_BASE: `http://127.0.0.1:${await freePort()}`,
      LEDGER_PAYMENT_PROCESSOR: 'off',
      LEDGER_PAYMENT_BUFFER: '10000000',
    },
  });
  await server.start();
  try {
    const sync = await paymentsPerSecond(server.url, seconds, false);
    const asynchronous = await paymentsPerSecond(server.url, seconds, true);
    return {
      asyncPerSecond: asynchronous.perSecond,
      syncPerSecond: sync.perSecond,
      ratio: asynchronous.perSecond / sync.perSecond,
      non2xx: sync.non2xx + asynchronous.non2xx,
    };
  } finally {
    await server.terminate();
  }
}

/** Each connection creates an order, then pays on it PAYMENTS_PER_ORDER times with fresh payment ids. */
async function paymentsPerSecond(
  url: string,
  seconds: number,
  async: boolean,
): Promise<{ perSecond: number; non2xx: number }> {
  let payments = 0;
  const order: Request = {
    method: 'PUT',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify({ customerId: 'bench', currency: 'EUR', lines: [{ sku: 'S', quantity: 1, unitPrice: 1e12 }] }),
    setupRequest: (request, context) => {
      context.orderId = `buffer-${async ? 'a' : 's'}-${randomUUID()}`;
      return { ...request, path: `/orders/${String(context.orderId)}` };
    },
  };
  const pay: Request = {
    method: 'POST',
    headers: { 'content-type': 'application/json', ...(async && { prefer: 'respond-async' }) },
    setupRequest: (request, context) => ({
      ...request,
      path: `/orders/${String(context.orderId)}/payments`,
      body: JSON.stringify({
        paymentId: randomUUID(),
        amount: 1,
        currency: 'EUR',
        ...(async && { paymentMethod: 'pm_card_visa' }),
      }),
    }),
    onResponse: (status) => {
      if (status === (async ? 202 : 201)) payments += 1;
    },
  };
  const result = await autocannon({
    url,
    connections: 50,
    duration: seconds,
    requests: [order, ...Array.from({ length: PAYMENTS_PER_ORDER }, () => pay)],
  });
  return { perSecond: payments / seconds, non2xx: result.non2xx };
}

async function processingRate(inFlight: number): Promise<BufferFigures['processing'][number]> {
  const standIn = await StripeStandIn.start({
    faults: { latencyMs: PSP_LATENCY_MS, concurrencyLimit: PSP_CONCURRENCY_LIMIT, overLimit: 'queue' },
  });
  const store = openMemoryStore();
  try {
    const gatewayPerSecond = await gatewayCallsPerSecond(standIn, inFlight, 2_000);
    // Enough requests for about two seconds at the rate the PSP allows.
    const count = Math.round((2 * 1000 * Math.min(inFlight, PSP_CONCURRENCY_LIMIT)) / PSP_LATENCY_MS);
    const requested = await seedRequests(store, count, 1);
    const gateway = createStripeGateway({
      apiKey: STAND_IN_API_KEY,
      apiBase: StripeApiBaseSchema.parse(standIn.url),
      timeoutMs: 10_000,
    });
    const started = process.hrtime.bigint();
    const buffer = startBuffer(store, gateway, { concurrency: inFlight, pollMs: 50 });
    try {
      await waitFor(() => allResolved(store, requested), 120_000, 'every request resolved');
    } finally {
      await buffer.close();
    }
    const processorPerSecond = count / (Number(process.hrtime.bigint() - started) / 1e9);
    return { inFlight, processorPerSecond, gatewayPerSecond };
  } finally {
    await store.close();
    await standIn.close();
  }
}

function print(figures: BufferFigures, seconds: number): void {
  const { intake, processing } = figures;
  console.log(`intake (${seconds} s each, 50 connections, one server process, SQLite FULL, processor off):`);
  console.log(`  synchronous captures  ${fmt(intake.syncPerSecond)} /s (201)`);
  console.log(
    `  asynchronous requests ${fmt(intake.asyncPerSecond)} /s (202): ${ratio(intake.asyncPerSecond, intake.syncPerSecond)} the synchronous rate`,
  );
  console.log(
    `processing: Stripe SDK → stand-in at ${PSP_LATENCY_MS} ms, at most ${PSP_CONCURRENCY_LIMIT} executing at once`,
  );
  console.log('  in flight | processor charges/s | gateway alone /s | processor / gateway | ideal min(N,16)/20ms');
  for (const row of processing) {
    const ideal = (Math.min(row.inFlight, PSP_CONCURRENCY_LIMIT) * 1000) / PSP_LATENCY_MS;
    console.log(
      `  ${String(row.inFlight).padStart(9)} | ${fmt(row.processorPerSecond).padStart(19)} | ${fmt(row.gatewayPerSecond).padStart(16)} | ${ratio(row.processorPerSecond, row.gatewayPerSecond).padStart(19)} | ${fmt(ideal)}`,
    );
  }
}
