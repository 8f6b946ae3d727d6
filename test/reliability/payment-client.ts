/**
 * A client that behaves like a real payment integration: every command carries an
 * Idempotency-Key, and on a network error, a timeout or a 503 it retries the *same* request with
 * the same key (bounded exponential back-off with jitter) until it gets a definite answer.
 * A buggy one keeps the key but regenerates the body on every retry (a fresh paymentId, another
 * customer): each such retry must be refused (422) or be the one request the key took effect for.
 */
import { randomUUID } from 'node:crypto';
import { sleep } from './server-process.ts';

export interface SentCommand {
  readonly kind: 'create' | 'capture' | 'authorize' | 'capture-authorization' | 'void' | 'refund' | 'cancel';
  readonly key: string;
  readonly orderId?: string;
  /** Sent by a client that regenerates the body on retry: 422 is then a correct definite answer. */
  readonly buggy?: boolean;
  /** Filled from a 2xx answer. */
  resource?: { orderId: string; paymentId?: string; amount?: number; total?: number };
  /** The final, definite status (undefined when the client gave up). */
  status?: number;
  attempts: number;
  replayedSeen: boolean;
  /** The servers its attempts and re-sends went to. */
  sentTo?: Set<string>;
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
  /** Regenerate the body (keeping the key) on every retry and re-send. */
  readonly regenerateOnRetry?: boolean;
}

export interface ClientRecord {
  readonly commands: SentCommand[];
  retries: number;
  /** Answers to regenerated retries: refused as a reused key, or anything else than 422 or the original. */
  keyReused: number;
  regeneratedWrong: number;
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
  bodyOf: (attempt: number) => unknown,
  record: ClientRecord,
): Promise<{ status: number; body: any; replayed: boolean } | undefined> {
  const giveUpAt = Date.now() + (options.giveUpAfterMs ?? 60_000);
  let backoff = 20;
  for (let attempt = 0; Date.now() < giveUpAt; attempt++) {
    command.attempts += 1;
    if (attempt > 0) record.retries += 1;
    // Counted across sends, so a retry and a deliberate re-send go to the next server.
    const url = options.urls[(command.attempts - 1) % options.urls.length]!;
    (command.sentTo ??= new Set()).add(url);
    try {
      const response = await fetch(`${url}${path}`, {
        method: 'POST',
        headers: { 'content-type': 'application/json', 'idempotency-key': command.key },
        body: JSON.stringify(bodyOf(command.attempts - 1)),
        signal: AbortSignal.timeout(options.requestTimeoutMs ?? 5_000),
      });
      const text = await response.text();
      if (response.status === 503) {
        record.unavailable += 1;
        if (!response.headers.get('retry-after')) record.unavailableWithoutRetryAfter += 1;
      }
      if (!RETRYABLE.has(response.status)) {
        return {
          status: response.status,
          body: text ? JSON.parse(text) : undefined,
          replayed: response.headers.get('idempotent-replayed') === 'true',
        };
      }
    } catch {
      // connection refused or reset (a crash), or a timeout: the outcome is unknown, so retry the same request
    }
    await sleep(backoff * (0.5 + Math.random()));
    backoff = Math.min(backoff * 2, 1_000);
  }
  return undefined;
}

/**
 * One client's life, until told to stop: orders of 1000 created, then either paid (a direct capture,
 * a hold captured, a hold voided, another direct capture, two refunds) or held and cancelled; a
 * buggy client captures its orders in full, in 250-unit slices.
 */
export async function runPaymentClient(options: ClientOptions, maxOrders: number): Promise<ClientRecord> {
  const record: ClientRecord = {
    commands: [],
    retries: 0,
    keyReused: 0,
    regeneratedWrong: 0,
    unavailable: 0,
    unavailableWithoutRetryAfter: 0,
  };
  const buggy = options.regenerateOnRetry ?? false;
  // A correct client sends the same body on every attempt; a buggy one makes it anew on each.
  const bodies = (make: (attempt: number) => unknown) => (buggy ? make : () => make(0));
  for (let n = 0; n < maxOrders && !options.stop?.(); n++) {
    const create: SentCommand = { kind: 'create', key: randomUUID(), attempts: 0, replayedSeen: false, buggy };
    record.commands.push(create);
    // A regenerated body never repeats an earlier one (a repeat would be an honest retry).
    const customerId = (attempt: number) => (attempt === 0 ? `cust-${n % 7}` : `cust-${randomUUID()}`);
    const order = (attempt: number) => ({
      customerId: customerId(attempt),
      currency: 'EUR',
      lines: [{ sku: 'SKU-1', quantity: 4, unitPrice: 250 }],
    });
    const created = await sendTracked(options, create, '/orders', bodies(order), record);
    if (created?.status !== 201) continue;
    const orderId = created.body.orderId as string;
    create.resource = { orderId, total: created.body.total };
    if (buggy) await captureInSlices(options, record, orderId);
    else await moneyLife(options, record, orderId, n % 2 === 0);
  }
  return record;
}

/** The buggy client names its payments, and names them anew on each retry. */
async function captureInSlices(options: ClientOptions, record: ClientRecord, orderId: string): Promise<void> {
  const firstPaymentIds = Array.from({ length: 4 }, () => randomUUID());
  for (let p = 0; p < 4; p++) {
    const capture: SentCommand = {
      kind: 'capture',
      key: randomUUID(),
      orderId,
      attempts: 0,
      replayedSeen: false,
      buggy: true,
    };
    record.commands.push(capture);
    const payment = (attempt: number) => ({
      paymentId: attempt === 0 ? firstPaymentIds[p] : randomUUID(),
      amount: 250,
      currency: 'EUR',
    });
    const answer = await sendTracked(options, capture, `/orders/${orderId}/payments`, payment, record);
    if (answer?.status === 201)
      capture.resource = { orderId, paymentId: answer.body.paymentId, amount: answer.body.amount };
  }
}

/** Every command type on one order; ids the client names itself, or leaves to the key, in turn. */
async function moneyLife(options: ClientOptions, record: ClientRecord, orderId: string, pay: boolean): Promise<void> {
  const send = async (kind: SentCommand['kind'], path: string, body: unknown) => {
    const command: SentCommand = { kind, key: randomUUID(), orderId, attempts: 0, replayedSeen: false };
    record.commands.push(command);
    const answer = await sendTracked(options, command, `/orders/${orderId}${path}`, () => body, record);
    return answer !== undefined && answer.status >= 200 && answer.status < 300 ? answer.body : undefined;
  };
  const hold = randomUUID();
  if (!pay) {
    await send('authorize', '/authorizations', { paymentId: hold, amount: 400, currency: 'EUR' });
    await send('cancel', '/cancel', { reason: 'the customer changed their mind' });
    return;
  }
  const direct = await send('capture', '/payments', { amount: 250, currency: 'EUR' });
  await send('authorize', '/authorizations', { paymentId: hold, amount: 250, currency: 'EUR' });
  await send('capture-authorization', `/authorizations/${hold}/capture`, {});
  const released = (await send('authorize', '/authorizations', { amount: 250, currency: 'EUR' }))?.paymentId;
  if (released) await send('void', `/authorizations/${released}/void`, {});
  await send('capture', '/payments', { amount: 250, currency: 'EUR' });
  if (direct?.paymentId)
    await send('refund', `/payments/${direct.paymentId}/refunds`, { refundId: randomUUID(), amount: 100 });
  await send('refund', `/payments/${hold}/refunds`, { amount: 250 });
}

async function sendTracked(
  options: ClientOptions,
  command: SentCommand,
  path: string,
  bodyOf: (attempt: number) => unknown,
  record: ClientRecord,
) {
  const answer = await sendUntilDefinite(options, command, path, bodyOf, record);
  if (!answer) return undefined;
  command.status = answer.status;
  command.replayedSeen ||= answer.replayed;
  if (command.buggy && command.attempts > 1) countRegenerated(record, answer);
  if (answer.status >= 200 && answer.status < 300 && options.resendAfterSuccess) {
    const again = await sendUntilDefinite(options, command, path, bodyOf, record);
    if (command.buggy) {
      // The re-send carries a regenerated body: the key is bound to the one that succeeded.
      if (again) countRegenerated(record, again, answer);
    } else if (
      again &&
      (again.status !== answer.status || !again.replayed || JSON.stringify(again.body) !== JSON.stringify(answer.body))
    ) {
      // A replay must be the original answer; anything else is recorded as a definite failure.
      command.status = -again.status;
    }
  }
  return answer;
}

/**
 * A regenerated retry is answered correctly by 422, or by 201 when it is the first of the key's
 * requests to reach the ledger (then it is the key's request, and re-sends must replay it).
 */
function countRegenerated(
  record: ClientRecord,
  answer: { status: number; body: any; replayed: boolean },
  original?: { body: any },
): void {
  if (answer.status === 422 && answer.body?.type?.endsWith('/idempotency-key-reused')) record.keyReused += 1;
  else if (answer.status !== 201 || original !== undefined) record.regeneratedWrong += 1;
}
