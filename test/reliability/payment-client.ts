/**
 * A client that behaves like a real payment integration: every command carries an
 * Idempotency-Key, and on a network error, a timeout or a 503 it retries the *same* request with
 * the same key (bounded exponential back-off with jitter) until it gets a definite answer.
 */
import { randomUUID } from 'node:crypto';
import { sleep } from './server-process.ts';

export interface SentCommand {
  readonly kind: 'create' | 'capture';
  readonly key: string;
  readonly orderId?: string;
  /** Filled from a 2xx answer. */
  resource?: { orderId: string; paymentId?: string; amount?: number; total?: number };
  /** The final, definite status (undefined when the client gave up). */
  status?: number;
  attempts: number;
  replayedSeen: boolean;
}

export interface ClientOptions {
  /** One base URL per server; each attempt goes to the next one (duplicates across servers). */
  readonly urls: readonly string[];
  readonly requestTimeoutMs?: number;
  /** Give up after this long without a definite answer (the run then reports it). */
  readonly giveUpAfterMs?: number;
  /** Also send every command once more after its success, to prove the replay is harmless. */
  readonly resendAfterSuccess?: boolean;
  readonly stop?: () => boolean;
}

export interface ClientRecord {
  readonly commands: SentCommand[];
  retries: number;
  /** 503 answers, and how many of them lacked the Retry-After a client needs. */
  unavailable: number;
  unavailableWithoutRetryAfter: number;
}

const RETRYABLE = new Set([502, 503, 504]);

/** Sends one request until a definite answer; returns its status and body. */
async function sendUntilDefinite(
  options: ClientOptions,
  command: SentCommand,
  path: string,
  body: unknown,
  record: ClientRecord,
): Promise<{ status: number; body: any; replayed: boolean } | undefined> {
  const giveUpAt = Date.now() + (options.giveUpAfterMs ?? 60_000);
  let backoff = 20;
  for (let attempt = 0; Date.now() < giveUpAt; attempt++) {
    command.attempts += 1;
    if (attempt > 0) record.retries += 1;
    // Counted across sends, so a retry and a deliberate re-send go to the next server.
    const url = options.urls[(command.attempts - 1) % options.urls.length]!;
    try {
      const response = await fetch(`${url}${path}`, {
        method: 'POST',
        headers: { 'content-type': 'application/json', 'idempotency-key': command.key },
        body: JSON.stringify(body),
        signal: AbortSignal.timeout(options.requestTimeoutMs ?? 5_000),
      });
      const text = await response.text();
      if (response.status === 503) {
        record.unavailable += 1;
        if (!response.headers.get('retry-after')) record.unavailableWithoutRetryAfter += 1;
      }
      if (!RETRYABLE.has(response.status)) {
        return { status: response.status, body: text ? JSON.parse(text) : undefined, replayed: response.headers.get('idempotent-replayed') === 'true' };
      }
    } catch {
      // connection refused or reset (a crash), or a timeout: the outcome is unknown, so retry the same request
    }
    await sleep(backoff * (0.5 + Math.random()));
    backoff = Math.min(backoff * 2, 1_000);
  }
  return undefined;
}

/** One client's life: create orders and capture them in full, in 250-unit slices, until told to stop. */
export async function runPaymentClient(options: ClientOptions, maxOrders: number): Promise<ClientRecord> {
  const record: ClientRecord = { commands: [], retries: 0, unavailable: 0, unavailableWithoutRetryAfter: 0 };
  for (let n = 0; n < maxOrders && !options.stop?.(); n++) {
    const create: SentCommand = { kind: 'create', key: randomUUID(), attempts: 0, replayedSeen: false };
    record.commands.push(create);
    const order = { customerId: `cust-${n % 7}`, currency: 'EUR', lines: [{ sku: 'SKU-1', quantity: 4, unitPrice: 250 }] };
    const created = await sendTracked(options, create, '/orders', order, record);
    if (!created || created.status !== 201) continue;
    const orderId = created.body.orderId as string;
    create.resource = { orderId, total: created.body.total };
    for (let p = 0; p < 4; p++) {
      const capture: SentCommand = { kind: 'capture', key: randomUUID(), orderId, attempts: 0, replayedSeen: false };
      record.commands.push(capture);
      const answer = await sendTracked(options, capture, `/orders/${orderId}/payments`, { amount: 250, currency: 'EUR' }, record);
      if (answer?.status === 201) capture.resource = { orderId, paymentId: answer.body.paymentId, amount: answer.body.amount };
    }
  }
  return record;
}

async function sendTracked(options: ClientOptions, command: SentCommand, path: string, body: unknown, record: ClientRecord) {
  const answer = await sendUntilDefinite(options, command, path, body, record);
  if (!answer) return undefined;
  command.status = answer.status;
  command.replayedSeen ||= answer.replayed;
  if (answer.status === 201 && options.resendAfterSuccess) {
    const again = await sendUntilDefinite(options, command, path, body, record);
    if (again && (again.status !== 201 || !again.replayed || JSON.stringify(again.body) !== JSON.stringify(answer.body))) {
      // A replay must be the original answer; anything else is recorded as a definite failure.
      command.status = -again.status;
    }
  }
  return answer;
}
