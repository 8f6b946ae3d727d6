/**
 * A local Stripe stand-in: a real HTTP server on 127.0.0.1 that the official SDK talks to (the
 * gateway is pointed at it with STRIPE_API_BASE), serving `POST /v1/payment_intents` (create and
 * confirm) and `GET /v1/payment_intents/:id`.
 *
 * It keeps Stripe's idempotency rules, which the ledger's exactly-once claim rests on: a key seen
 * with the same parameters replays the first answer (same intent, `Idempotent-Replayed: true`);
 * with other parameters it is a 400 `idempotency_error`; while the first request is still
 * executing, another with the same key is a 409. Answers that never reached execution (a
 * validation failure, an injected 500, a 429 at the limit) are not saved, as on Stripe.
 *
 * It counts the charges it really made, per key, and injects faults a test configures: latency,
 * 500s, a reset of the connection after the charge (the caller never hears of it), a concurrency
 * limit, webhooks sent before, after or instead of the API answer, and charges of other money than asked.
 */
import { once } from 'node:events';
import { createServer, type IncomingMessage, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import Stripe from 'stripe';
import {
  apiError,
  type LastPaymentError,
  newIntent,
  PAYMENT_METHODS,
  type StandInIntent,
  type StripeErrorBody,
  stripeId,
} from './stripe-stand-in-objects.ts';

export const STAND_IN_API_KEY = 'sk_test_standin_4eC39HqLyjWDarjtT1zdp7dc';
export const STAND_IN_WEBHOOK_SECRET = 'whsec_standin_0123456789abcdef';

export type WebhookTiming = 'before' | 'after' | 'instead';

export interface StandInWebhooks {
  readonly url: string;
  readonly secret: string;
  readonly timing: WebhookTiming;
}

export interface StandInFaults {
  /** Milliseconds each executing request takes, holding a concurrency slot. */
  latencyMs: number;
  /** The next this-many API requests answer 500 before they execute: nothing charged, nothing saved. */
  fail500: number;
  /** Each API request answers 500 before executing with this probability. */
  fail500Rate: number;
  /** The next this-many POSTs execute (charge or replay) and then have their connection destroyed unanswered. */
  resetAfterCharge: number;
  /** Each POST is reset after it executed with this probability. */
  resetAfterChargeRate: number;
  /** At most this many requests execute at once; the rest wait for a slot, or get 429 with `overLimit: 'reject'`. */
  concurrencyLimit: number;
  overLimit: 'queue' | 'reject';
  /** Where and when events are sent; none by default. */
  webhooks: StandInWebhooks | undefined;
  /** How long a `pm_standin_processing` intent stays processing before it succeeds. */
  settleMs: number;
  /** Quote the caller's API key in full in a 401, as a careless proxy might, to prove the adapter redacts it. */
  echoApiKey: boolean;
  /** Intents are made for this money instead of what was asked (an edit on the PSP's side, a bug). */
  chargeAs: { readonly amount?: number; readonly currency?: string } | undefined;
}

export interface RealCharge {
  readonly idempotencyKey: string;
  readonly intentId: string;
  readonly amount: number;
  readonly currency: string;
  readonly metadata: Readonly<Record<string, string>>;
}

export type RequestFate =
  | 'charged'
  | 'declined'
  | 'replayed'
  | 'in-use-409'
  | 'mismatch-400'
  | 'invalid-400'
  | 'injected-500'
  | 'limited-429'
  | 'unauthorized-401'
  | 'retrieved'
  | 'not-found-404';

export interface StandInRequest {
  readonly method: string;
  readonly path: string;
  readonly idempotencyKey: string | undefined;
  readonly fate: RequestFate;
  /** The connection was destroyed instead of answering. */
  readonly reset: boolean;
}

export interface WebhookDelivery {
  readonly eventId: string;
  readonly type: string;
  readonly status: number | 'unreachable';
}

interface SavedAnswer {
  readonly status: number;
  readonly body: unknown;
}

type KeyEntry =
  | { readonly state: 'executing'; readonly fingerprint: string }
  | { readonly state: 'done'; readonly fingerprint: string; readonly answer: SavedAnswer };

interface StripeEvent {
  readonly id: string;
  readonly type: string;
  readonly payload: string;
}

const DEFAULT_FAULTS: StandInFaults = {
  latencyMs: 0,
  fail500: 0,
  fail500Rate: 0,
  resetAfterCharge: 0,
  resetAfterChargeRate: 0,
  concurrencyLimit: Number.POSITIVE_INFINITY,
  overLimit: 'queue',
  webhooks: undefined,
  settleMs: 0,
  echoApiKey: false,
  chargeAs: undefined,
};

const MAX_BODY_BYTES = 64 * 1024;
const sleep = (ms: number) => new Promise<void>((resolve) => setTimeout(resolve, ms));

export class StripeStandIn {
  private faults: StandInFaults;
  private readonly keys = new Map<string, KeyEntry>();
  private readonly intents = new Map<string, StandInIntent>();
  private readonly events = new Map<string, StripeEvent>();
  private readonly waiting: (() => void)[] = [];
  private readonly pendingWork = new Set<Promise<unknown>>();
  private executing = 0;
  readonly charges: RealCharge[] = [];
  readonly requests: StandInRequest[] = [];
  readonly deliveries: WebhookDelivery[] = [];
  /** The most requests that executed at once. */
  peakConcurrency = 0;

  private constructor(
    private readonly server: ReturnType<typeof createServer>,
    readonly url: string,
    readonly apiKey: string,
    faults: Partial<StandInFaults>,
  ) {
    this.faults = { ...DEFAULT_FAULTS, ...faults };
  }

  static async start(options: { apiKey?: string; faults?: Partial<StandInFaults> } = {}): Promise<StripeStandIn> {
    let standIn: StripeStandIn | undefined;
    const server = createServer((req, res) => {
      standIn?.handle(req, res).catch((error: unknown) => {
        if (!res.headersSent) send(res, 500, apiError('api_error', `stand-in failure: ${String(error)}`));
      });
    });
    server.listen(0, '127.0.0.1');
    await once(server, 'listening');
    const { port } = server.address() as AddressInfo;
    standIn = new StripeStandIn(server, `http://127.0.0.1:${port}`, options.apiKey ?? STAND_IN_API_KEY, {
      ...options.faults,
    });
    return standIn;
  }

  /** Changes the faults from now on; counters such as `fail500` restart from the value given. */
  configure(faults: Partial<StandInFaults>): void {
    this.faults = { ...this.faults, ...faults };
  }

  chargesFor(idempotencyKey: string): number {
    return this.charges.filter((charge) => charge.idempotencyKey === idempotencyKey).length;
  }

  get totalCharges(): number {
    return this.charges.length;
  }

  intent(id: string): StandInIntent | undefined {
    return this.intents.get(id);
  }

  /** Sends a stored event once more, exactly as first sent (Stripe redelivers on a non-2xx). */
  async redeliver(eventId: string, url = this.faults.webhooks?.url): Promise<WebhookDelivery> {
    const event = this.events.get(eventId);
    const webhooks = this.faults.webhooks;
    if (!event || !webhooks || !url) throw new Error(`no event ${eventId} or no webhook configured`);
    return this.deliver(event, { ...webhooks, url });
  }

  eventIds(): string[] {
    return [...this.events.keys()];
  }

  /** Waits for webhooks sent after an answer and for intents still settling. */
  async settled(): Promise<void> {
    while (this.pendingWork.size > 0) await Promise.allSettled([...this.pendingWork]);
  }

  async close(): Promise<void> {
    await this.settled();
    this.server.closeAllConnections();
    this.server.close();
    await once(this.server, 'close');
  }

  private async handle(req: IncomingMessage, res: ServerResponse): Promise<void> {
    const body = await readBody(req);
    const url = new URL(req.url ?? '/', 'http://stand-in');
    const key = header(req, 'idempotency-key');
    const log = (fate: RequestFate, reset = false) =>
      this.requests.push({ method: req.method ?? '', path: url.pathname, idempotencyKey: key, fate, reset });

    const auth = header(req, 'authorization');
    if (auth !== `Bearer ${this.apiKey}`) {
      log('unauthorized-401');
      const quoted = this.faults.echoApiKey ? (auth ?? '') : 'sk_test_****';
      return send(res, 401, apiError('invalid_request_error', `Invalid API Key provided: ${quoted}`));
    }
    if (this.injected500()) {
      log('injected-500');
      return send(res, 500, apiError('api_error', 'An unexpected error occurred (injected by the stand-in).'));
    }
    const retrieve = /^\/v1\/payment_intents\/([^/]+)$/.exec(url.pathname);
    if (req.method === 'GET' && retrieve) return this.retrieve(decodeURIComponent(retrieve[1] ?? ''), res, log);
    if (req.method === 'POST' && url.pathname === '/v1/payment_intents') return this.create(body, key, res, log);
    log('not-found-404');
    return send(
      res,
      404,
      apiError('invalid_request_error', `Unrecognized request URL (${req.method}: ${url.pathname})`),
    );
  }

  private async retrieve(id: string, res: ServerResponse, log: (fate: RequestFate) => void): Promise<void> {
    if (!(await this.slot(res, log))) return;
    try {
      await sleep(this.faults.latencyMs);
      const intent = this.intents.get(id);
      if (!intent) {
        log('not-found-404');
        return send(
          res,
          404,
          apiError('invalid_request_error', `No such payment_intent: '${id}'`, { code: 'resource_missing' }),
        );
      }
      log('retrieved');
      send(res, 200, intent);
    } finally {
      this.release();
    }
  }

  private async create(
    body: string,
    key: string | undefined,
    res: ServerResponse,
    log: (fate: RequestFate, reset?: boolean) => void,
  ): Promise<void> {
    const params = new URLSearchParams(body);
    const fingerprint = JSON.stringify([...params.entries()].sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0)));
    const seen = key === undefined ? undefined : this.keys.get(key);
    if (seen?.state === 'executing') {
      log('in-use-409');
      return send(
        res,
        409,
        apiError(
          'invalid_request_error',
          'There is currently another in-progress request using this idempotency key. Try again later.',
          { code: 'idempotency_key_in_use' },
        ),
      );
    }
    if (seen && seen.fingerprint !== fingerprint) {
      log('mismatch-400');
      return send(
        res,
        400,
        apiError(
          'idempotency_error',
          `Keys for idempotent requests can only be used with the same parameters they were first used with. Try using a key other than '${key}' if you meant to execute a different request.`,
        ),
      );
    }
    if (seen) return this.answer(res, seen.answer, log, 'replayed', true);

    if (key !== undefined) this.keys.set(key, { state: 'executing', fingerprint });
    if (!(await this.slot(res, log))) {
      if (key !== undefined) this.keys.delete(key);
      return;
    }
    let executed: { answer: SavedAnswer; fate: RequestFate; event?: StripeEvent };
    try {
      await sleep(this.faults.latencyMs);
      const invalid = validate(params);
      if (invalid) {
        if (key !== undefined) this.keys.delete(key);
        log('invalid-400');
        return send(res, 400, invalid);
      }
      executed = this.execute(params, key ?? stripeId('standin-unkeyed'));
      if (key !== undefined) this.keys.set(key, { state: 'done', fingerprint, answer: executed.answer });
    } finally {
      this.release();
    }
    const webhooks = this.faults.webhooks;
    const event = executed.event;
    if (event && webhooks?.timing === 'before') await this.deliver(event, webhooks);
    if (event && webhooks?.timing === 'instead') {
      await this.deliver(event, webhooks);
      log(executed.fate, true);
      res.socket?.destroy();
      return;
    }
    this.answer(res, executed.answer, log, executed.fate, false);
    if (event && webhooks?.timing === 'after') this.track(this.deliver(event, webhooks));
  }

  private answer(
    res: ServerResponse,
    answer: SavedAnswer,
    log: (fate: RequestFate, reset?: boolean) => void,
    fate: RequestFate,
    replayed: boolean,
  ): void {
    // While webhooks replace answers, a replay is withheld too: the ledger must learn it from the event.
    if (this.shouldReset() || (replayed && this.faults.webhooks?.timing === 'instead')) {
      log(fate, true);
      res.socket?.destroy();
      return;
    }
    log(fate);
    send(res, answer.status, answer.body, replayed ? { 'idempotent-replayed': 'true' } : {});
  }

  private execute(
    params: URLSearchParams,
    key: string,
  ): { answer: SavedAnswer; fate: RequestFate; event?: StripeEvent } {
    const paymentMethod = params.get('payment_method') ?? '';
    const behaviour = PAYMENT_METHODS[paymentMethod] ?? { kind: 'succeeds' };
    const base = {
      amount: this.faults.chargeAs?.amount ?? Number(params.get('amount')),
      currency: this.faults.chargeAs?.currency ?? params.get('currency') ?? '',
      paymentMethod,
      metadata: metadataOf(params),
    };
    const failWith = (lastPaymentError: LastPaymentError) => {
      const intent = this.store(newIntent({ ...base, status: 'requires_payment_method', lastPaymentError }));
      const body: StripeErrorBody = {
        error: { ...lastPaymentError, charge: intent.latest_charge ?? undefined, payment_intent: intent },
      };
      return {
        answer: { status: 402, body },
        fate: 'declined' as const,
        event: this.event('payment_intent.payment_failed', intent),
      };
    };
    switch (behaviour.kind) {
      case 'declines':
        return failWith(behaviour.error);
      case 'requires-action': {
        if (params.get('error_on_requires_action') === 'true') {
          return failWith({
            type: 'card_error',
            code: 'authentication_required',
            decline_code: 'authentication_required',
            message: 'Your card was declined. This transaction requires authentication.',
          });
        }
        const intent = this.store(newIntent({ ...base, status: 'requires_action' }));
        return { answer: { status: 200, body: intent }, fate: 'declined' };
      }
      case 'processing': {
        const intent = this.store(newIntent({ ...base, status: 'processing' }));
        this.charge(key, intent);
        this.track(this.settle(intent));
        return { answer: { status: 200, body: structuredClone(intent) }, fate: 'charged' };
      }
      case 'succeeds': {
        const intent = this.store(newIntent({ ...base, status: 'succeeded' }));
        this.charge(key, intent);
        return {
          answer: { status: 200, body: intent },
          fate: 'charged',
          event: this.event('payment_intent.succeeded', intent),
        };
      }
    }
  }

  private async settle(intent: StandInIntent): Promise<void> {
    await sleep(this.faults.settleMs);
    intent.status = 'succeeded';
    intent.amount_received = intent.amount;
    const webhooks = this.faults.webhooks;
    if (webhooks) await this.deliver(this.event('payment_intent.succeeded', intent), webhooks);
  }

  private store(intent: StandInIntent): StandInIntent {
    this.intents.set(intent.id, intent);
    return intent;
  }

  private charge(idempotencyKey: string, intent: StandInIntent): void {
    this.charges.push({
      idempotencyKey,
      intentId: intent.id,
      amount: intent.amount,
      currency: intent.currency,
      metadata: intent.metadata,
    });
  }

  private event(type: string, intent: StandInIntent): StripeEvent {
    const id = stripeId('evt');
    const payload = JSON.stringify({
      id,
      object: 'event',
      api_version: '2026-10-28.endive',
      created: Math.floor(Date.now() / 1000),
      type,
      livemode: false,
      pending_webhooks: 1,
      request: { id: stripeId('req'), idempotency_key: null },
      data: { object: intent },
    });
    const event = { id, type, payload };
    this.events.set(id, event);
    return event;
  }

  private async deliver(event: StripeEvent, webhooks: StandInWebhooks): Promise<WebhookDelivery> {
    const signature = Stripe.webhooks.generateTestHeaderString({ payload: event.payload, secret: webhooks.secret });
    let status: WebhookDelivery['status'];
    try {
      const response = await fetch(webhooks.url, {
        method: 'POST',
        headers: { 'content-type': 'application/json; charset=utf-8', 'stripe-signature': signature },
        body: event.payload,
      });
      await response.arrayBuffer();
      status = response.status;
    } catch {
      status = 'unreachable';
    }
    const delivery = { eventId: event.id, type: event.type, status };
    this.deliveries.push(delivery);
    return delivery;
  }

  private track(work: Promise<unknown>): void {
    const tracked = work.finally(() => this.pendingWork.delete(tracked));
    this.pendingWork.add(tracked);
  }

  /** A slot to execute in, or false after answering 429 when the limit rejects. */
  private async slot(res: ServerResponse, log: (fate: RequestFate) => void): Promise<boolean> {
    if (this.executing >= this.faults.concurrencyLimit) {
      if (this.faults.overLimit === 'reject') {
        log('limited-429');
        send(
          res,
          429,
          apiError('rate_limit_error', 'Too many requests hit the API too quickly.', { code: 'rate_limit' }),
        );
        return false;
      }
      await new Promise<void>((resolve) => this.waiting.push(resolve));
    }
    this.executing++;
    this.peakConcurrency = Math.max(this.peakConcurrency, this.executing);
    return true;
  }

  private release(): void {
    this.executing--;
    this.waiting.shift()?.();
  }

  private injected500(): boolean {
    if (this.faults.fail500 > 0) {
      this.faults.fail500--;
      return true;
    }
    return Math.random() < this.faults.fail500Rate;
  }

  private shouldReset(): boolean {
    if (this.faults.resetAfterCharge > 0) {
      this.faults.resetAfterCharge--;
      return true;
    }
    return Math.random() < this.faults.resetAfterChargeRate;
  }
}

/** What Stripe refuses before executing (and so does not save under the key). */
function validate(params: URLSearchParams): StripeErrorBody | undefined {
  const invalid = (param: string, message: string) =>
    apiError('invalid_request_error', message, { param, code: 'parameter_invalid' });
  const amount = params.get('amount') ?? '';
  if (!/^[1-9][0-9]{0,11}$/.test(amount)) return invalid('amount', 'This value must be a positive integer.');
  if (!/^[a-z]{3}$/.test(params.get('currency') ?? '')) return invalid('currency', 'Invalid currency.');
  const method = params.get('payment_method') ?? '';
  if (!(method in PAYMENT_METHODS)) {
    return apiError('invalid_request_error', `No such PaymentMethod: '${method}'`, {
      param: 'payment_method',
      code: 'resource_missing',
    });
  }
  return undefined;
}

function metadataOf(params: URLSearchParams): Record<string, string> {
  const metadata: Record<string, string> = {};
  for (const [name, value] of params) {
    const field = /^metadata\[(.+)\]$/.exec(name)?.[1];
    if (field !== undefined) metadata[field] = value;
  }
  return metadata;
}

function header(req: IncomingMessage, name: string): string | undefined {
  const value = req.headers[name];
  return Array.isArray(value) ? value[0] : value;
}

async function readBody(req: IncomingMessage): Promise<string> {
  const chunks: Buffer[] = [];
  let size = 0;
  for await (const chunk of req) {
    size += (chunk as Buffer).length;
    if (size > MAX_BODY_BYTES) throw new Error('request body too large');
    chunks.push(chunk as Buffer);
  }
  return Buffer.concat(chunks).toString('utf8');
}

function send(res: ServerResponse, status: number, body: unknown, headers: Record<string, string> = {}): void {
  res.writeHead(status, { 'content-type': 'application/json', 'request-id': stripeId('req'), ...headers });
  res.end(JSON.stringify(body));
}
