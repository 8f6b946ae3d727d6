/**
 * The payment processor: for each pending request it claims the request (a fenced append), calls
 * the PSP with the payment's idempotency key, and appends the outcome. Calls run concurrently up
 * to a bound; transient failures are retried with back-off, and when the retries run out the
 * request stays pending for a later pass. Nothing here decides: the order decider does, through
 * the command handler, so a lost race or a duplicate outcome is refused or replayed there.
 */
import { randomUUID } from 'node:crypto';
import type { CommandHandler } from '../commands/handler.ts';
import type { CommitSignal } from '../commit-signal.ts';
import { PaymentOutcome } from '../domain/commands.ts';
import { DomainRejection } from '../domain/rejection.ts';
import type { CommandContext } from '../events/metadata.ts';
import { type ProjectionLogger, silentLogger } from '../projections/engine.ts';
import { type BackoffPolicy, backoffDelay, DEFAULT_BACKOFF } from './backoff.ts';
import { type ChargeOutcome, type PaymentGateway, PermanentGatewayError, TransientGatewayError } from './gateway.ts';
import { pspIdempotencyKey } from './idempotency-key.ts';
import type { PendingRequest, PendingRequests } from './pending-requests.ts';

/** The points between the durable steps of one payment (where a crash test stops the process). */
export type ProcessorStep = 'after-claim' | 'after-charge';

export type PspCallResult = 'captured' | 'declined' | 'transient' | 'permanent';
export type RecordedOutcome = 'captured' | 'declined' | 'conflict';

export interface ProcessorObserver {
  pspCall(seconds: number, result: PspCallResult): void;
  outcome(kind: RecordedOutcome): void;
  retriesExhausted(): void;
}

export interface ProcessorOptions {
  readonly requests: PendingRequests;
  /** Woken when the requests change; the processor also looks again every pollMs. */
  readonly wake: CommitSignal;
  readonly gateway: PaymentGateway;
  readonly handle: CommandHandler;
  /** Unique per running processor (default: a random id), so a restarted one is a new claimant. */
  readonly processorId?: string;
  /** PSP calls in flight at once (default 16). */
  readonly concurrency?: number;
  /** How long a claim holds against other processors (default 30 s). */
  readonly leaseMs?: number;
  /** How long the PSP keeps an idempotency key, less a margin (default 23 h). */
  readonly keyWindowMs?: number;
  readonly backoff?: BackoffPolicy;
  /** How long a request whose retries ran out waits before this processor tries again (default: the lease). */
  readonly retryLaterMs?: number;
  readonly pollMs?: number;
  readonly now?: () => number;
  readonly random?: () => number;
  readonly logger?: ProjectionLogger;
  readonly observer?: ProcessorObserver;
  /** Called between the durable steps; a throw there stops that payment as a crash would. */
  readonly onStep?: (step: ProcessorStep, request: PendingRequest) => void | Promise<void>;
}

export interface PaymentProcessor {
  readonly id: string;
  /** Requests no processor will call the PSP for again automatically: an operator must resolve them. */
  needsOperator(): PendingRequest[];
  stop(): Promise<void>;
}

export const DEFAULT_LEASE_MS = 30_000;
export const DEFAULT_KEY_WINDOW_MS = 23 * 3_600_000;
export const DEFAULT_PSP_CONCURRENCY = 16;

const keyOf = (r: { orderId: string; paymentId: string }) => `${r.orderId}\n${r.paymentId}`;

const noObserver: ProcessorObserver = { pspCall() {}, outcome() {}, retriesExhausted() {} };

export function startPaymentProcessor(options: ProcessorOptions): PaymentProcessor {
  const { requests, gateway, handle, wake } = options;
  const id = options.processorId ?? `proc-${randomUUID()}`;
  const concurrency = options.concurrency ?? DEFAULT_PSP_CONCURRENCY;
  const leaseMs = options.leaseMs ?? DEFAULT_LEASE_MS;
  const keyWindowMs = options.keyWindowMs ?? DEFAULT_KEY_WINDOW_MS;
  const backoff = options.backoff ?? DEFAULT_BACKOFF;
  const retryLaterMs = options.retryLaterMs ?? leaseMs;
  const pollMs = options.pollMs ?? 1_000;
  const now = options.now ?? Date.now;
  const random = options.random ?? Math.random;
  const logger = options.logger ?? silentLogger;
  const observer = options.observer ?? noObserver;
  const controller = new AbortController();
  const signal = controller.signal;
  const inFlight = new Map<string, Promise<void>>();
  /** Requests this processor leaves alone until then (retries ran out, a store fault). */
  const notBefore = new Map<string, number>();
  const operator = new Map<string, PendingRequest>();
  const unsubscribe = requests.onChange(() => wake.notify());

  function schedule(): void {
    const at = now();
    for (const request of requests.list()) {
      if (inFlight.size >= concurrency) break;
      const key = keyOf(request);
      if (inFlight.has(key) || operator.has(key) || (notBefore.get(key) ?? 0) > at) continue;
      const { claim } = request;
      if (claim && claim.processorId !== id && claim.at + claim.leaseMs > at) continue;
      if (request.firstClaimAt !== undefined && at > request.firstClaimAt + keyWindowMs) {
        flagForOperator(request, 'first sent to the PSP longer ago than it keeps idempotency keys');
        continue;
      }
      const task = work(request).finally(() => {
        inFlight.delete(key);
        wake.notify();
      });
      inFlight.set(key, task);
    }
    if (notBefore.size > 2 * requests.size + 100) {
      for (const key of notBefore.keys()) {
        const [orderId = '', paymentId = ''] = key.split('\n');
        if (!requests.get(orderId, paymentId)) notBefore.delete(key);
      }
    }
  }

  function flagForOperator(request: PendingRequest, why: string): void {
    if (operator.has(keyOf(request))) return;
    operator.set(keyOf(request), request);
    const { orderId, paymentId } = request;
    logger.error({ orderId, paymentId }, `payment request needs an operator: ${why}`);
  }

  async function work(request: PendingRequest): Promise<void> {
    const key = keyOf(request);
    const context: CommandContext = {
      clientId: request.clientId,
      correlationId: request.correlationId,
      causationId: request.requestEventId,
    };
    const { orderId, paymentId } = request;
    try {
      const claimed = await claim(request, context);
      if (!claimed) return;
      await options.onStep?.('after-claim', request);
      const outcome = await charge(request);
      if (!outcome) {
        notBefore.set(key, now() + retryLaterMs);
        return;
      }
      await options.onStep?.('after-charge', request);
      await record(request, outcome, context);
      // Until the feed brings the outcome, the request still looks pending: leave it alone meanwhile.
      notBefore.set(key, now() + retryLaterMs);
    } catch (error) {
      if (signal.aborted) return;
      logger.warn({ err: error, orderId, paymentId }, 'payment processing interrupted; the request stays pending');
      notBefore.set(key, now() + Math.min(retryLaterMs, pollMs * 5));
    }
  }

  async function claim(request: PendingRequest, context: CommandContext): Promise<boolean> {
    const { orderId, paymentId } = request;
    const at = new Date(now()).toISOString();
    try {
      await handle(
        { type: 'StartPaymentProcessing', orderId, paymentId, processorId: id, at, leaseMs, keyWindowMs },
        context,
      );
      return true;
    } catch (error) {
      if (!(error instanceof DomainRejection)) throw error;
      // Another processor won the append, or the request was resolved meanwhile: the feed will say.
      if (error.rule === 'payment-key-window-expired') flagForOperator(request, error.message);
      notBefore.set(keyOf(request), now() + (error.rule === 'payment-claimed' ? pollMs : retryLaterMs));
      return false;
    }
  }

  /** The PSP's outcome, or undefined when it stays unknown for now (retries ran out) or needs an operator. */
  async function charge(request: PendingRequest): Promise<PaymentOutcome | undefined> {
    const { orderId, paymentId, amount, currency, paymentMethod } = request;
    const chargeRequest = {
      idempotencyKey: pspIdempotencyKey(orderId, paymentId),
      orderId,
      paymentId,
      amount,
      currency,
      paymentMethod,
    };
    for (let attempt = 1; attempt <= backoff.attempts; attempt++) {
      const started = performance.now();
      try {
        const outcome = await gateway.charge(chargeRequest, signal);
        observer.pspCall((performance.now() - started) / 1000, outcome.kind);
        return recordable(request, outcome);
      } catch (error) {
        const seconds = (performance.now() - started) / 1000;
        if (error instanceof PermanentGatewayError) {
          observer.pspCall(seconds, 'permanent');
          flagForOperator(request, `the PSP refused the call (${error.code}): ${error.message}`);
          return undefined;
        }
        observer.pspCall(seconds, 'transient');
        if (signal.aborted) throw error;
        if (attempt === backoff.attempts) break;
        const floor = error instanceof TransientGatewayError ? (error.retryAfterMs ?? 0) : 0;
        await sleep(backoffDelay(backoff, attempt, random, floor), signal);
      }
    }
    observer.retriesExhausted();
    logger.warn({ orderId, paymentId }, 'PSP retries ran out; the request stays pending and is tried again later');
    return undefined;
  }

  /**
   * The outcome as the ledger's schema holds it, or undefined with the request flagged: refused by
   * the outcome command, it would be claimed and charged again every few seconds, to no end.
   */
  function recordable(request: PendingRequest, outcome: ChargeOutcome): PaymentOutcome | undefined {
    const parsed = PaymentOutcome.safeParse(outcomeOf(outcome));
    if (parsed.success) return parsed.data;
    const issues = parsed.error.issues.map((issue) => `${issue.path.join('.')}: ${issue.message}`).join('; ');
    flagForOperator(request, `the PSP reported an outcome the ledger cannot hold (${issues})`);
    return undefined;
  }

  async function record(request: PendingRequest, outcome: PaymentOutcome, context: CommandContext): Promise<void> {
    const { orderId, paymentId } = request;
    try {
      await handle({ type: 'RecordPaymentOutcome', orderId, paymentId, outcome, source: 'processor' }, context);
      observer.outcome(outcome.kind);
    } catch (error) {
      if (!(error instanceof DomainRejection)) throw error;
      // The webhook recorded another outcome first: the audit keeps the one recorded, this one is logged.
      observer.outcome('conflict');
      logger.error(
        { orderId, paymentId, reported: outcome, rule: error.rule },
        `PSP outcome not recorded: ${error.message}`,
      );
    }
  }

  async function loop(): Promise<void> {
    while (!signal.aborted) {
      schedule();
      await wake.wait(signal, pollMs);
    }
  }

  const done = loop();
  return {
    id,
    needsOperator: () => [...operator.values()].filter((r) => requests.get(r.orderId, r.paymentId) !== undefined),
    async stop() {
      controller.abort();
      unsubscribe();
      await done;
      await Promise.allSettled(inFlight.values());
    },
  };
}

function outcomeOf(outcome: ChargeOutcome): PaymentOutcome {
  if (outcome.kind === 'captured') return { kind: 'captured', pspReference: outcome.pspReference };
  const { code, message, pspReference } = outcome;
  return { kind: 'declined', code, message, ...(pspReference !== undefined && { pspReference }) };
}

function sleep(ms: number, signal: AbortSignal): Promise<void> {
  return new Promise((resolve) => {
    const done = () => {
      clearTimeout(timer);
      signal.removeEventListener('abort', done);
      resolve();
    };
    const timer = setTimeout(done, ms);
    signal.addEventListener('abort', done, { once: true });
  });
}
