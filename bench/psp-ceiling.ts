/**
 * What the PSP side allows, measured in the benchmark's own run: the Stripe gateway alone (the
 * official SDK over HTTP to the stand-in) with N calls in flight at a fixed PSP latency. It is the
 * ceiling the payment processor's throughput is compared with, since the processor can go no
 * faster than the calls it makes.
 */
import { randomUUID } from 'node:crypto';
import { StripeApiBaseSchema } from '../src/payments/stripe-config.ts';
import { createStripeGateway } from '../src/payments/stripe-gateway.ts';
import { STAND_IN_API_KEY, type StripeStandIn } from '../test/support/stripe-stand-in.ts';

/** N workers each charging one fresh payment after another for `ms`; returns charges per second. */
export async function gatewayCallsPerSecond(standIn: StripeStandIn, inFlight: number, ms: number): Promise<number> {
  const gateway = createStripeGateway({
    apiKey: STAND_IN_API_KEY,
    apiBase: StripeApiBaseSchema.parse(standIn.url),
    timeoutMs: 10_000,
  });
  const endAt = Date.now() + ms;
  const started = process.hrtime.bigint();
  let done = 0;
  await Promise.all(
    Array.from({ length: inFlight }, async () => {
      while (Date.now() < endAt) {
        const paymentId = randomUUID();
        await gateway.charge({
          idempotencyKey: `bench-${paymentId}`,
          orderId: 'bench-order',
          paymentId,
          amount: 100,
          currency: 'EUR',
          paymentMethod: 'pm_card_visa',
        });
        done += 1;
      }
    }),
  );
  return done / (Number(process.hrtime.bigint() - started) / 1e9);
}
