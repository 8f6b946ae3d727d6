/**
 * Exactly one charge, under crashes: two server processes on one SQLite file, each running the
 * payment processor against the Stripe stand-in, which resets connections after it charged and
 * fails some calls with 500s (and, optionally, sends webhooks to one of the servers after its
 * answers). Retrying clients send asynchronous captures while the processes are SIGKILLed at random
 * moments and restarted. Then the kills stop, every 202 must resolve, and the three sets of books —
 * the clients', the ledger's, the PSP's — must agree.
 */
import { join } from 'node:path';
import { openSqliteStore } from '../../src/eventstore/sqlite-store.ts';
import { STAND_IN_API_KEY, STAND_IN_WEBHOOK_SECRET, StripeStandIn } from '../support/stripe-stand-in.ts';
import { type AsyncClientRecord, awaitResolution, runAsyncPaymentClient } from './async-payment-client.ts';
import { checkPsp, type PspRunSummary } from './psp-check.ts';
import { freePort, ServerProcess, sleep } from './server-process.ts';

export interface PspCrashOptions {
  readonly dir: string;
  readonly clients: number;
  readonly durationMs: number;
  /** Mean time between SIGKILLs (of one of the two processes, chosen at random). */
  readonly killEveryMs: number;
  readonly minKills?: number;
  /** Share of the PSP's answers lost to a reset after it charged. */
  readonly resetRate: number;
  readonly fail500Rate?: number;
  readonly latencyMs?: number;
  /** Webhooks to the first server after each answer, racing the processor's own record. */
  readonly webhooks?: boolean;
  /** How long the processors get, after the load, to resolve every request. */
  readonly resolveWithinMs?: number;
  readonly log?: (line: string) => void;
}

export interface PspScenarioResult {
  readonly summary: PspRunSummary;
  readonly storePath: string;
}

/** Settings that make a killed processor's claims expire, and retries come, within the test's time. */
export const FAST_PROCESSOR_ENV: Record<string, string> = {
  LEDGER_PSP: 'stripe',
  STRIPE_API_KEY: STAND_IN_API_KEY,
  STRIPE_WEBHOOK_SECRET: STAND_IN_WEBHOOK_SECRET,
  STRIPE_TIMEOUT_MS: '2000',
  // A killed processor's claims are taken over after this (and a request whose retries ran out is tried again).
  LEDGER_PAYMENT_CLAIM_LEASE_MS: '1500',
};

export async function pspCrashUnderLoad(options: PspCrashOptions): Promise<PspScenarioResult> {
  const storePath = join(options.dir, 'psp.db');
  const standIn = await StripeStandIn.start({
    faults: {
      latencyMs: options.latencyMs ?? 5,
      resetAfterChargeRate: options.resetRate,
      fail500Rate: options.fail500Rate ?? 0,
    },
  });
  const env = { ...FAST_PROCESSOR_ENV, STRIPE_API_BASE: standIn.url };
  const servers = await Promise.all(
    [0, 1].map(async () => new ServerProcess({ store: `sqlite:${storePath}`, port: await freePort(), env })),
  );
  try {
    for (const server of servers) await server.start(120_000);
    if (options.webhooks) {
      standIn.configure({
        webhooks: { url: `${servers[0]!.url}/webhooks/stripe`, secret: STAND_IN_WEBHOOK_SECRET, timing: 'after' },
      });
    }
    let stop = false;
    const urls = servers.map((s) => s.url);
    const clients: Promise<AsyncClientRecord>[] = Array.from({ length: options.clients }, (_, i) =>
      runAsyncPaymentClient({ urls: i % 2 === 0 ? urls : [...urls].reverse(), stop: () => stop, declineRate: 0.1 }, i),
    );
    const kills = () => servers.reduce((n, s) => n + s.kills, 0);
    const endAt = Date.now() + options.durationMs;
    const more = () => Date.now() < endAt || kills() < (options.minKills ?? 0);
    while (more()) {
      await sleep(options.killEveryMs * (0.5 + Math.random()));
      if (!more()) break;
      const victim = servers[Math.floor(Math.random() * servers.length)]!;
      await victim.kill();
      options.log?.(`killed ${victim.url} (${kills()} kills, ${standIn.totalCharges} charges)`);
      await victim.start(120_000);
    }
    stop = true;
    const records = await Promise.all(clients);
    options.log?.('load stopped; waiting for every accepted request to resolve');
    await awaitResolution(urls, records, options.resolveWithinMs ?? 60_000);
    await standIn.settled();
    await Promise.all(servers.map((s) => s.terminate()));
    const store = openSqliteStore(storePath);
    try {
      const run = {
        kills: kills(),
        resets: standIn.requests.filter((r) => r.reset).length,
        webhooks: standIn.deliveries.length,
      };
      return { summary: await checkPsp(store, records, standIn.charges, run), storePath };
    } finally {
      await store.close();
    }
  } finally {
    await Promise.all(servers.map((s) => s.terminate()));
    await standIn.close();
  }
}
