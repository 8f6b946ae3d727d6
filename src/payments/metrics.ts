/**
 * The payment buffer in Prometheus: its depth and the age of its oldest request (read at scrape
 * time from the feed), requests waiting for an operator, PSP call latency, and outcomes recorded.
 * The counters exist before the app's registry does (the processor starts first), so they are
 * made unregistered and registered with it once it exists.
 */
import { Counter, Gauge, Histogram, type Registry } from 'prom-client';
import type { ProcessorObserver } from './processor.ts';
import type { PaymentBuffer } from './service.ts';

export interface PaymentObserver extends ProcessorObserver {
  register(registry: Registry): void;
}

export function createPaymentObserver(): PaymentObserver {
  const calls = new Histogram({
    name: 'ledger_psp_call_duration_seconds',
    help: 'PSP charge calls by result: captured, declined, transient (retried) or permanent (left to an operator)',
    labelNames: ['result'] as const,
    buckets: [0.005, 0.01, 0.02, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10],
    registers: [],
  });
  const outcomes = new Counter({
    name: 'ledger_payment_outcomes_total',
    help: 'Payment outcomes this process recorded from its PSP calls (conflict: another outcome was recorded first)',
    labelNames: ['outcome'] as const,
    registers: [],
  });
  const exhausted = new Counter({
    name: 'ledger_psp_retries_exhausted_total',
    help: 'Claims whose PSP calls all failed transiently: the request stays pending and is tried again later',
    registers: [],
  });
  return {
    pspCall: (seconds, result) => calls.observe({ result }, seconds),
    outcome: (kind) => outcomes.inc({ outcome: kind }),
    retriesExhausted: () => exhausted.inc(),
    register(registry) {
      registry.registerMetric(calls);
      registry.registerMetric(outcomes);
      registry.registerMetric(exhausted);
    },
  };
}

export function registerPaymentMetrics(registry: Registry, payments: PaymentBuffer, now = Date.now): void {
  payments.observer.register(registry);
  new Gauge({
    name: 'ledger_payment_buffer_depth',
    help: 'Payment requests without an outcome, as far as this process has read the log',
    registers: [registry],
    collect() {
      this.set(payments.depth());
    },
  });
  new Gauge({
    name: 'ledger_payment_buffer_capacity',
    help: 'LEDGER_PAYMENT_BUFFER: past this many pending requests, new ones answer 503',
    registers: [registry],
    collect() {
      this.set(payments.capacity);
    },
  });
  new Gauge({
    name: 'ledger_payment_oldest_pending_age_seconds',
    help: 'Age of the oldest payment request without an outcome (0 when none is pending)',
    registers: [registry],
    collect() {
      const oldest = payments.feed.requests.oldestRequestedAt();
      this.set(oldest === undefined ? 0 : Math.max(0, now() - oldest) / 1000);
    },
  });
  new Gauge({
    name: 'ledger_payment_requests_needing_operator',
    help: 'Pending requests this processor will not send to the PSP again (key window passed, PSP refused the call)',
    registers: [registry],
    collect() {
      this.set(payments.processor?.needsOperator().length ?? 0);
    },
  });
}
