/**
 * HTTP benchmark with autocannon. Each server runs in its own child process, so the load
 * generator and the server do not share a core, and each is measured in the same run:
 *   (a) ceiling: fastify + zod with the same two routes and body schemas, doing nothing;
 *   (b) create-then-capture against the ledger on the durable SQLite store (synchronous=FULL),
 *       each connection PUTs a fresh order then captures on it;
 *   (c) duplicate storms: 1,000 identical captures (one Idempotency-Key) sent at once on 1,000
 *       connections, beside the same burst against the no-op ceiling (on a small machine the burst's
 *       latency is mostly accepting and queueing 1,000 requests, which the ceiling shows); then
 *       identical captures at full speed on the throughput runs' connections. Each storm must leave
 *       one event and exactly one response without Idempotent-Replayed;
 *   (d) hot stream: one at a time, a capture on an order already holding 10,000 events beside a
 *       capture on a fresh order, interleaved; the ratio of their p50s (a command's cost must not
 *       grow with its stream).
 *
 *   npx tsx bench/http.ts [seconds per throughput run, default 5]
 */
import { type ChildProcess, spawn } from 'node:child_process';
import { once } from 'node:events';
import { join } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import autocannon, { type Request, type Result } from 'autocannon';
import Fastify from 'fastify';
import { type ZodTypeProvider, serializerCompiler, validatorCompiler } from 'fastify-type-provider-zod';
import { z } from 'zod';
import { createCommandHandler } from '../src/commands/handler.ts';
import { ConfigSchema } from '../src/config.ts';
import { openSqliteStore } from '../src/eventstore/sqlite-store.ts';
import { OrderBody, PaymentBody } from '../src/http/routes/commands.ts';
import { LISTEN_BACKLOG, startServer } from '../src/server.ts';
import { fmt, withScratchDir } from './support.ts';

export interface Throughput {
  readonly requestsPerSecond: number;
  readonly p50Ms: number;
  readonly p99Ms: number;
  readonly non2xx: number;
  readonly errors: number;
}

export interface Latency {
  readonly p50Ms: number;
  readonly p99Ms: number;
  readonly maxMs: number;
}

export interface StormFigures extends Latency {
  readonly requests: number;
  readonly requestsPerSecond: number;
  readonly non201: number;
  /** Responses without Idempotent-Replayed (must be 1 on the ledger). */
  readonly originals: number;
}

export interface HotStreamFigures {
  /** Events in the hot order before the timed captures. */
  readonly events: number;
  readonly samples: number;
  readonly fresh: Latency;
  readonly hot: Latency;
  /** Hot p50 over fresh p50 (target ≤ 1.5). */
  readonly ratio: number;
}

export interface HttpFigures {
  readonly ceiling: Throughput & { readonly burst: StormFigures };
  readonly createCapture: Throughput & { readonly ratioToCeiling: number };
  /** POST /orders and a capture without paymentId, each under a fresh Idempotency-Key (ids from the key). */
  readonly keyedCreateCapture: Throughput & { readonly ratioToCeiling: number };
  readonly duplicateStorm: {
    /** 1,000 connections, one identical capture each, all at once. */
    readonly burst: StormFigures & { readonly ratioToCeilingP99: number };
    /** Identical captures over the throughput runs' connections for as long as they run: replays at full speed. */
    readonly sustained: StormFigures;
    /** PaymentCaptured events the two storms left (must be 2: one per key). */
    readonly paymentEvents: number;
  };
  readonly hotStream: HotStreamFigures;
}

const STORM_SIZE = 1_000;
const STORM_ORDER = 'storm';
const ORDER = {
  customerId: 'bench-customer',
  currency: 'EUR',
  lines: [{ sku: 'SKU-1', quantity: 1, unitPrice: 1_000_000 }],
};
const JSON_HEADERS = { 'content-type': 'application/json' };

export async function run(options: { seconds?: number; connections?: number } = {}): Promise<HttpFigures> {
  const seconds = options.seconds ?? 5;
  const connections = options.connections ?? 50;
  return withScratchDir('http', async (dir) => {
    const ceiling = await withChild(['ceiling'], async (url) => ({
      ...(await createThenCapture(url, seconds, connections, 'ceiling')),
      burst: await storm(url, { connections: STORM_SIZE, amount: STORM_SIZE }, 'burst-key'),
    }));
    const ledgerPath = join(dir, 'ledger.db');
    const hotHead = await seedHotOrder(ledgerPath);
    const ledger = await withChild(['ledger', ledgerPath], async (url) => {
      const hotStream = await hotAgainstFresh(url, hotHead);
      const createCapture = await createThenCapture(url, seconds, connections, 'ledger');
      const keyedCreateCapture = await keyedCreateThenCapture(url, seconds, connections);
      await fetch(`${url}/orders/${STORM_ORDER}`, {
        method: 'PUT',
        headers: JSON_HEADERS,
        body: JSON.stringify(ORDER),
      });
      const burst = await storm(url, { connections: STORM_SIZE, amount: STORM_SIZE }, 'burst-key');
      const sustained = await storm(url, { connections, duration: seconds }, 'sustained-key');
      const stream = (await (await fetch(`${url}/orders/${STORM_ORDER}/events`)).json()) as {
        events: Array<{ type: string }>;
      };
      const paymentEvents = stream.events.filter((e) => e.type === 'PaymentCaptured').length;
      return { createCapture, keyedCreateCapture, burst, sustained, paymentEvents, hotStream };
    });
    const result: HttpFigures = {
      ceiling,
      createCapture: {
        ...ledger.createCapture,
        ratioToCeiling: ledger.createCapture.requestsPerSecond / ceiling.requestsPerSecond,
      },
      keyedCreateCapture: {
        ...ledger.keyedCreateCapture,
        ratioToCeiling: ledger.keyedCreateCapture.requestsPerSecond / ceiling.requestsPerSecond,
      },
      duplicateStorm: {
        burst: { ...ledger.burst, ratioToCeilingP99: ledger.burst.p99Ms / ceiling.burst.p99Ms },
        sustained: ledger.sustained,
        paymentEvents: ledger.paymentEvents,
      },
      hotStream: ledger.hotStream,
    };
    print(result, seconds, connections);
    return result;
  });
}

const HOT_ORDER = 'hot';
const HOT_EVENTS = 10_000;
const HOT_SAMPLES = 400;
const HOT_WARMUP = 50;

/** An order holding HOT_EVENTS events (its creation, then captures of 1), written before the server starts. */
async function seedHotOrder(path: string): Promise<bigint> {
  // NORMAL: seeding is set-up, not a figure; the server opens the file with FULL.
  const store = openSqliteStore(path, { synchronous: 'NORMAL' });
  try {
    const handle = createCommandHandler(store);
    const context = { clientId: 'anonymous', correlationId: 'bench-seed' };
    const lines = [{ sku: 'SKU-1', quantity: 1, unitPrice: 1_000_000_000_000 }];
    let last = await handle(
      { type: 'CreateOrder', orderId: HOT_ORDER, customerId: 'bench', currency: 'EUR', lines },
      context,
    );
    for (let i = 1; i < HOT_EVENTS; i++) {
      const paymentId = `seed-${i}`;
      last = await handle(
        { type: 'CapturePayment', orderId: HOT_ORDER, paymentId, amount: 1, currency: 'EUR' },
        context,
      );
    }
    return last.position;
  } finally {
    await store.close();
  }
}

/**
 * One request at a time, so each latency is a command's own cost: a capture on a fresh order (its
 * creation untimed) then one on the hot order, interleaved so both meet the same machine load.
 */
async function hotAgainstFresh(url: string, hotHead: bigint): Promise<HotStreamFigures> {
  // The read models catch up with the seeded log first, so that work does not land in the samples.
  // Each wait is bounded by the server (at most 10 s); a slow machine may need a few of them.
  let caughtUp = await fetch(`${url}/orders/${HOT_ORDER}?minPosition=${hotHead}&waitMs=10000`);
  for (let tries = 1; caughtUp.status === 503 && tries < 12; tries++) {
    await caughtUp.text();
    caughtUp = await fetch(`${url}/orders/${HOT_ORDER}?minPosition=${hotHead}&waitMs=10000`);
  }
  if (caughtUp.status !== 200) throw new Error(`the read models did not catch up: ${caughtUp.status}`);
  const post = async (path: string, body: unknown): Promise<number> => {
    const started = performance.now();
    const response = await fetch(`${url}${path}`, {
      method: 'POST',
      headers: JSON_HEADERS,
      body: JSON.stringify(body),
    });
    await response.text();
    if (response.status !== 201) throw new Error(`${path}: ${response.status}`);
    return performance.now() - started;
  };
  const fresh: number[] = [];
  const hot: number[] = [];
  for (let i = 0; i < HOT_WARMUP + HOT_SAMPLES; i++) {
    const orderId = `fresh-${process.pid}-${i}`;
    const put = await fetch(`${url}/orders/${orderId}`, {
      method: 'PUT',
      headers: JSON_HEADERS,
      body: JSON.stringify(ORDER),
    });
    await put.text();
    const onFresh = () => post(`/orders/${orderId}/payments`, { paymentId: 'p-1', amount: 250, currency: 'EUR' });
    const onHot = () => post(`/orders/${HOT_ORDER}/payments`, { paymentId: `hot-${i}`, amount: 1, currency: 'EUR' });
    // Which goes first alternates, so neither always follows the other's background work (projections).
    let freshMs: number;
    let hotMs: number;
    if (i % 2 === 0) {
      freshMs = await onFresh();
      hotMs = await onHot();
    } else {
      hotMs = await onHot();
      freshMs = await onFresh();
    }
    if (i < HOT_WARMUP) continue;
    fresh.push(freshMs);
    hot.push(hotMs);
  }
  const freshLatency = latencyOf(fresh);
  const hotLatency = latencyOf(hot);
  return {
    events: HOT_EVENTS,
    samples: HOT_SAMPLES,
    fresh: freshLatency,
    hot: hotLatency,
    ratio: hotLatency.p50Ms / freshLatency.p50Ms,
  };
}

function latencyOf(samples: number[]): Latency {
  const sorted = [...samples].sort((x, y) => x - y);
  const at = (q: number) => Number(sorted[Math.min(sorted.length - 1, Math.floor(q * sorted.length))]!.toFixed(3));
  return { p50Ms: at(0.5), p99Ms: at(0.99), maxMs: at(1) };
}

/** Each connection alternates: PUT a fresh order, capture on it with a fresh payment id. */
export async function createThenCapture(
  url: string,
  seconds: number,
  connections: number,
  label: string,
): Promise<Throughput> {
  let sequence = 0;
  const requests: Request[] = [
    {
      method: 'PUT',
      headers: JSON_HEADERS,
      body: JSON.stringify(ORDER),
      setupRequest: (request, context) => {
        context.orderId = `${label}-${process.pid}-${++sequence}`;
        return { ...request, path: `/orders/${String(context.orderId)}` };
      },
    },
    {
      method: 'POST',
      headers: JSON_HEADERS,
      body: JSON.stringify({ paymentId: 'p-1', amount: 250, currency: 'EUR' }),
      setupRequest: (request, context) => ({ ...request, path: `/orders/${String(context.orderId)}/payments` }),
    },
  ];
  const result = await autocannon({ url, connections, duration: seconds, requests });
  return throughput(result);
}

/**
 * Each connection alternates: POST /orders under a fresh key, then capture on the order it got
 * under another fresh key and no paymentId, so both ids come from the keys.
 */
async function keyedCreateThenCapture(url: string, seconds: number, connections: number): Promise<Throughput> {
  let sequence = 0;
  const keyed = () => ({ ...JSON_HEADERS, 'idempotency-key': `keyed-${process.pid}-${++sequence}` });
  const requests: Request[] = [
    {
      method: 'POST',
      path: '/orders',
      body: JSON.stringify(ORDER),
      setupRequest: (request, _context) => ({ ...request, headers: keyed() }),
      onResponse: (status, body, context) => {
        context.orderId = status === 201 ? (JSON.parse(body) as { orderId: string }).orderId : 'missing';
      },
    },
    {
      method: 'POST',
      body: JSON.stringify({ amount: 250, currency: 'EUR' }),
      setupRequest: (request, context) => ({
        ...request,
        headers: keyed(),
        path: `/orders/${String(context.orderId)}/payments`,
      }),
    },
  ];
  return throughput(await autocannon({ url, connections, duration: seconds, requests }));
}

/** Identical captures (one Idempotency-Key): `amount` of them, or as many as fit in `duration` seconds. */
async function storm(
  url: string,
  load: { connections: number; amount?: number; duration?: number },
  key: string,
): Promise<StormFigures> {
  let originals = 0;
  const result = await autocannon({
    url,
    ...load,
    requests: [
      {
        method: 'POST',
        path: `/orders/${STORM_ORDER}/payments`,
        headers: { ...JSON_HEADERS, 'idempotency-key': key },
        body: JSON.stringify({ amount: 500, currency: 'EUR' }),
        onResponse: (status, _body, _context, headers) => {
          if (status === 201 && headers['idempotent-replayed'] === undefined) originals += 1;
        },
      },
    ],
  });
  return {
    requests: result.requests.total,
    requestsPerSecond: result.requests.average,
    p50Ms: result.latency.p50,
    p99Ms: result.latency.p99,
    maxMs: result.latency.max,
    non201: result.requests.total - (result.statusCodeStats['201']?.count ?? 0),
    originals,
  };
}

const throughput = (result: Result): Throughput => ({
  requestsPerSecond: result.requests.average,
  p50Ms: result.latency.p50,
  p99Ms: result.latency.p99,
  non2xx: result.non2xx,
  errors: result.errors,
});

function print(figures: HttpFigures, seconds: number, connections: number): void {
  const { ceiling, createCapture: ledger, keyedCreateCapture: keyed, duplicateStorm } = figures;
  const { burst, sustained } = duplicateStorm;
  console.log(
    `HTTP, ${seconds} s per throughput run, ${connections} connections, each server in its own process on 127.0.0.1`,
  );
  console.table({
    'no-op ceiling (fastify + zod)': {
      'req/s': fmt(ceiling.requestsPerSecond),
      'p50 ms': ceiling.p50Ms,
      'p99 ms': ceiling.p99Ms,
      non2xx: ceiling.non2xx,
      '× ceiling': '1.00',
    },
    'create+capture (sqlite FULL)': {
      'req/s': fmt(ledger.requestsPerSecond),
      'p50 ms': ledger.p50Ms,
      'p99 ms': ledger.p99Ms,
      non2xx: ledger.non2xx,
      '× ceiling': ledger.ratioToCeiling.toFixed(2),
    },
    'create+capture, ids from keys': {
      'req/s': fmt(keyed.requestsPerSecond),
      'p50 ms': keyed.p50Ms,
      'p99 ms': keyed.p99Ms,
      non2xx: keyed.non2xx,
      '× ceiling': keyed.ratioToCeiling.toFixed(2),
    },
  });
  console.log('duplicate storms: identical captures, one Idempotency-Key per storm');
  console.table({
    'no-op ceiling, 1,000 at once': row(ceiling.burst),
    'ledger, 1,000 at once': { ...row(burst), 'p99 × ceiling': burst.ratioToCeilingP99.toFixed(2) },
    [`ledger, ${connections} connections for ${seconds} s`]: row(sustained),
  });
  console.log(`PaymentCaptured events written by the two ledger storms: ${duplicateStorm.paymentEvents} (one per key)`);
  const { hotStream } = figures;
  console.log(`hot stream: one capture at a time, ${hotStream.samples} of each, interleaved`);
  console.table({
    'capture on a fresh order': { 'p50 ms': hotStream.fresh.p50Ms, 'p99 ms': hotStream.fresh.p99Ms, '× fresh': '1.00' },
    [`capture on an order of ${fmt(hotStream.events)} events`]: {
      'p50 ms': hotStream.hot.p50Ms,
      'p99 ms': hotStream.hot.p99Ms,
      '× fresh': hotStream.ratio.toFixed(2),
    },
  });
}

const row = (s: StormFigures) => ({
  requests: s.requests,
  'req/s': fmt(s.requestsPerSecond),
  'p50 ms': s.p50Ms,
  'p99 ms': s.p99Ms,
  'max ms': s.maxMs,
  non201: s.non201,
  originals: s.originals,
});

/** Starts this file as a server in a child process, runs `work` against it, stops it. */
async function withChild<T>(args: string[], work: (url: string) => Promise<T>): Promise<T> {
  // BENCH_CPU_PROF=<dir>: each server writes a V8 CPU profile there when it exits (where the microseconds go).
  const profile = process.env.BENCH_CPU_PROF ? ['--cpu-prof', `--cpu-prof-dir=${process.env.BENCH_CPU_PROF}`] : [];
  const entry = [...profile, '--import', 'tsx', fileURLToPath(import.meta.url), '--serve', ...args];
  const child = spawn(process.execPath, entry, {
    stdio: ['ignore', 'pipe', 'inherit'],
  });
  try {
    return await work(await listeningUrl(child));
  } finally {
    child.kill('SIGTERM');
    await once(child, 'exit');
  }
}

function listeningUrl(child: ChildProcess): Promise<string> {
  return new Promise((resolve, reject) => {
    let output = '';
    child.stdout!.on('data', (chunk: Buffer) => {
      output += chunk.toString();
      const match = /^LISTENING (\S+)$/m.exec(output);
      if (match) resolve(match[1]!);
    });
    child.once('exit', (code) => reject(new Error(`bench server exited with ${code}: ${output}`)));
  });
}

/** The child side: serve until SIGTERM. */
async function serve(mode: string, dbPath: string | undefined): Promise<void> {
  let url: string;
  let close: () => Promise<unknown>;
  if (mode === 'ceiling') {
    const app = Fastify({ logger: false }).withTypeProvider<ZodTypeProvider>();
    app.setValidatorCompiler(validatorCompiler);
    app.setSerializerCompiler(serializerCompiler);
    const Params = z.object({ orderId: z.string() });
    const Ok = z.object({ ok: z.boolean() });
    app.put(
      '/orders/:orderId',
      { schema: { params: Params, body: OrderBody, response: { 201: Ok } } },
      async (_request, reply) => reply.code(201).send({ ok: true }),
    );
    app.post(
      '/orders/:orderId/payments',
      { schema: { params: Params, body: PaymentBody, response: { 201: Ok } } },
      async (_request, reply) => reply.code(201).send({ ok: true }),
    );
    url = await app.listen({ host: '127.0.0.1', port: 0, backlog: LISTEN_BACKLOG });
    close = () => app.close();
  } else {
    const config = ConfigSchema.parse({
      LEDGER_STORE: `sqlite:${dbPath}`,
      LEDGER_SYNCHRONOUS: 'FULL',
      HOST: '127.0.0.1',
      PORT: '0',
      LOG_LEVEL: 'error',
    });
    const server = await startServer(config);
    url = server.url;
    close = server.close;
  }
  process.once('SIGTERM', () => void close().then(() => process.exit(0)));
  console.log(`LISTENING ${url}`);
}

if (process.argv[2] === '--serve') {
  await serve(process.argv[3] ?? 'ceiling', process.argv[4]);
} else if (process.argv[1] && import.meta.url === pathToFileURL(process.argv[1]).href) {
  const seconds = Number(process.argv[2] ?? 5);
  console.log(JSON.stringify(await run({ seconds }), null, 2));
}
