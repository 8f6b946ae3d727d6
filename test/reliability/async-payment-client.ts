/**
 * A client of the payment buffer: it creates an order, then asks for captures with
 * `Prefer: respond-async`, each under its own Idempotency-Key, retrying the same request with the
 * same key on a network error, a timeout or a 503 until it gets a definite answer (202, or a 4xx
 * the rules give), and sends every accepted request once more to the other server as a duplicate.
 * At the end it polls each accepted payment until it is captured or declined.
 */
import { randomUUID } from 'node:crypto';
import { sleep } from './server-process.ts';

export interface AsyncPayment {
  readonly orderId: string;
  readonly paymentId: string;
  readonly key: string;
  readonly amount: number;
  readonly paymentMethod: string;
  /** The definite answer to the request (undefined when the client gave up). */
  status?: number;
  /** The duplicate's answer: it must be the same 202. */
  duplicateStatus?: number;
  /** From GET …/payments/:paymentId once resolved. */
  final?: { status: string; pspReference?: string; declineCode?: string };
  attempts: number;
}

export interface AsyncClientRecord {
  readonly orders: { orderId: string; total: number }[];
  readonly payments: AsyncPayment[];
  retries: number;
}

export interface AsyncClientOptions {
  readonly urls: readonly string[];
  readonly stop: () => boolean;
  /** Share of payments sent with a card the PSP declines. */
  readonly declineRate: number;
  readonly requestTimeoutMs?: number;
  readonly giveUpAfterMs?: number;
}

const ORDER_TOTAL = 1_000;
/** Three requests of 400 on an order of 1,000: the third fits only if one of the first two was declined. */
const PAYMENT_AMOUNT = 400;
const PAYMENTS_PER_ORDER = 3;
const RETRYABLE = new Set([502, 503, 504]);

interface Answer {
  readonly status: number;
  readonly body: unknown;
}

/** One request, re-sent as is until a definite answer; each attempt goes to the next server. */
async function untilDefinite(
  options: AsyncClientOptions,
  record: AsyncClientRecord,
  request: { method: string; path: string; headers?: Record<string, string>; body?: unknown },
  firstServer: number,
): Promise<Answer | undefined> {
  const giveUpAt = Date.now() + (options.giveUpAfterMs ?? 60_000);
  let backoff = 20;
  for (let attempt = 0; Date.now() < giveUpAt; attempt++) {
    if (attempt > 0) record.retries += 1;
    const url = options.urls[(firstServer + attempt) % options.urls.length]!;
    try {
      const response = await fetch(`${url}${request.path}`, {
        method: request.method,
        headers: { ...(request.body === undefined ? {} : { 'content-type': 'application/json' }), ...request.headers },
        ...(request.body === undefined ? {} : { body: JSON.stringify(request.body) }),
        signal: AbortSignal.timeout(options.requestTimeoutMs ?? 5_000),
      });
      const text = await response.text();
      if (!RETRYABLE.has(response.status))
        return { status: response.status, body: text ? JSON.parse(text) : undefined };
    } catch {
      // refused or reset (a killed server) or timed out: the outcome is unknown, so the same request again
    }
    await sleep(backoff * (0.5 + Math.random()));
    backoff = Math.min(backoff * 2, 1_000);
  }
  return undefined;
}

export async function runAsyncPaymentClient(options: AsyncClientOptions, index: number): Promise<AsyncClientRecord> {
  const record: AsyncClientRecord = { orders: [], payments: [], retries: 0 };
  for (let n = 0; !options.stop(); n++) {
    const orderId = `psp-${index}-${n}-${randomUUID().slice(0, 8)}`;
    const order = {
      customerId: `cust-${index}`,
      currency: 'EUR',
      lines: [{ sku: 'S', quantity: 1, unitPrice: ORDER_TOTAL }],
    };
    const created = await untilDefinite(options, record, { method: 'PUT', path: `/orders/${orderId}`, body: order }, n);
    if (created?.status !== 201) continue;
    record.orders.push({ orderId, total: ORDER_TOTAL });
    for (let p = 0; p < PAYMENTS_PER_ORDER; p++) {
      const payment: AsyncPayment = {
        orderId,
        paymentId: `pay-${p}`,
        key: randomUUID(),
        amount: PAYMENT_AMOUNT,
        paymentMethod: Math.random() < options.declineRate ? 'pm_card_chargeDeclined' : 'pm_card_visa',
        attempts: 0,
      };
      record.payments.push(payment);
      const request = {
        method: 'POST',
        path: `/orders/${orderId}/payments`,
        headers: { prefer: 'respond-async', 'idempotency-key': payment.key },
        body: {
          paymentId: payment.paymentId,
          amount: payment.amount,
          currency: 'EUR',
          paymentMethod: payment.paymentMethod,
        },
      };
      const answer = await untilDefinite(options, record, request, n + p);
      payment.status = answer?.status;
      if (answer?.status === 202) {
        // The duplicate goes to the other server first.
        payment.duplicateStatus = (await untilDefinite(options, record, request, n + p + 1))?.status;
      }
    }
  }
  return record;
}

/** Polls every accepted payment until it is no longer pending, or the deadline passes. */
export async function awaitResolution(
  urls: readonly string[],
  records: readonly AsyncClientRecord[],
  deadlineMs: number,
): Promise<void> {
  const giveUpAt = Date.now() + deadlineMs;
  const waiting = records.flatMap((r) => r.payments).filter((p) => p.status === 202);
  let turn = 0;
  while (waiting.some((p) => p.final === undefined) && Date.now() < giveUpAt) {
    for (const payment of waiting.filter((p) => p.final === undefined)) {
      const url = urls[turn++ % urls.length]!;
      try {
        const response = await fetch(`${url}/orders/${payment.orderId}/payments/${payment.paymentId}`, {
          signal: AbortSignal.timeout(5_000),
        });
        if (response.status !== 200) continue;
        const body = (await response.json()) as { status: string; pspReference?: string; declineCode?: string };
        if (body.status !== 'pending') payment.final = body;
      } catch {
        // a server still starting: the next round asks again
      }
    }
    if (waiting.some((p) => p.final === undefined)) await sleep(200);
  }
}
