/**
 * A PSP the test controls. Like a real one it charges once per idempotency key (the same key again
 * answers the charge already made; with other parameters it is refused), and refuses a concurrent
 * call with a key in flight. It counts calls and real charges per key, and injects faults: latency,
 * transient failures before the charge, a reset connection after it, declines by payment method.
 * `serveFakeGateway` puts it behind HTTP so processors in other processes charge the same one.
 */
import { once } from 'node:events';
import { createServer, type Server } from 'node:http';
import {
  type ChargeOutcome,
  type ChargeRequest,
  type PaymentGateway,
  PermanentGatewayError,
  TransientGatewayError,
} from '../../src/payments/gateway.ts';

export const DECLINED_METHOD = 'pm_card_chargeDeclined';

interface Charge {
  readonly request: ChargeRequest;
  readonly outcome: ChargeOutcome;
}

export class FakeGateway implements PaymentGateway {
  readonly name = 'fake';
  /** The charges made, by key: one per key at most, by construction of the PSP's idempotency. */
  readonly charges = new Map<string, Charge>();
  readonly calls = new Map<string, number>();
  latencyMs = 0;
  /** The next this many calls fail transiently before anything is charged. */
  failNext = 0;
  /** Every call fails transiently before charging while set (an outage). */
  down = false;
  /** The next this many calls that charge lose their answer: the charge is made, the caller sees a reset. */
  resetAfterChargeNext = 0;
  private readonly inFlight = new Set<string>();
  maxInFlight = 0;
  private references = 0;

  get totalCalls(): number {
    let total = 0;
    for (const n of this.calls.values()) total += n;
    return total;
  }

  capturedCount(): number {
    return [...this.charges.values()].filter((c) => c.outcome.kind === 'captured').length;
  }

  async charge(request: ChargeRequest): Promise<ChargeOutcome> {
    const key = request.idempotencyKey;
    this.calls.set(key, (this.calls.get(key) ?? 0) + 1);
    if (this.inFlight.has(key)) throw new TransientGatewayError('409: a request with this key is in progress');
    this.inFlight.add(key);
    this.maxInFlight = Math.max(this.maxInFlight, this.inFlight.size);
    try {
      if (this.latencyMs > 0) await new Promise((resolve) => setTimeout(resolve, this.latencyMs));
      if (this.down) throw new TransientGatewayError('503: the PSP is down');
      if (this.failNext > 0) {
        this.failNext -= 1;
        throw new TransientGatewayError('500: internal error');
      }
      const previous = this.charges.get(key);
      if (previous) {
        const same =
          previous.request.amount === request.amount &&
          previous.request.currency === request.currency &&
          previous.request.paymentMethod === request.paymentMethod;
        if (!same) throw new PermanentGatewayError('key reused with other parameters', 'idempotency_error');
        return previous.outcome;
      }
      const pspReference = `pi_fake_${++this.references}`;
      const outcome: ChargeOutcome =
        request.paymentMethod === DECLINED_METHOD
          ? { kind: 'declined', code: 'card_declined', message: 'Your card was declined.', pspReference }
          : { kind: 'captured', pspReference };
      this.charges.set(key, { request, outcome });
      if (this.resetAfterChargeNext > 0) {
        this.resetAfterChargeNext -= 1;
        throw new TransientGatewayError('ECONNRESET after the charge');
      }
      return outcome;
    } finally {
      this.inFlight.delete(key);
    }
  }
}

/** The fake behind POST /charge, for processors in other processes. */
export async function serveFakeGateway(gateway: FakeGateway): Promise<{ url: string; close(): Promise<void> }> {
  const server: Server = createServer(async (req, res) => {
    const chunks: Buffer[] = [];
    for await (const chunk of req) chunks.push(chunk as Buffer);
    const request = JSON.parse(Buffer.concat(chunks).toString('utf8')) as ChargeRequest;
    let status = 200;
    let body: unknown;
    try {
      body = await gateway.charge(request);
    } catch (error) {
      const permanent = error instanceof PermanentGatewayError;
      status = permanent ? 400 : 503;
      body = { error: permanent ? 'permanent' : 'transient', message: (error as Error).message };
    }
    res.writeHead(status, { 'content-type': 'application/json' }).end(JSON.stringify(body));
  });
  server.listen(0, '127.0.0.1');
  await once(server, 'listening');
  const address = server.address();
  if (address === null || typeof address === 'string') throw new Error('no port');
  return {
    url: `http://127.0.0.1:${address.port}`,
    close: () => new Promise((resolve) => server.close(() => resolve())),
  };
}

/** The client side of serveFakeGateway. */
export function httpFakeGateway(url: string): PaymentGateway {
  return {
    name: 'fake-http',
    async charge(request, signal) {
      let response: Response;
      try {
        response = await fetch(`${url}/charge`, {
          method: 'POST',
          body: JSON.stringify(request),
          headers: { 'content-type': 'application/json' },
          ...(signal && { signal }),
        });
      } catch (error) {
        throw new TransientGatewayError(`connection failed: ${(error as Error).message}`);
      }
      const body = (await response.json()) as ChargeOutcome | { error: string; message: string };
      if ('error' in body) {
        if (body.error === 'permanent') throw new PermanentGatewayError(body.message, 'idempotency_error');
        throw new TransientGatewayError(body.message);
      }
      return body;
    },
  };
}
