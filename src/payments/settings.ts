/** The processor's settings as the configuration gives them: the server and the CLI read the same ones. */
import type { Config } from '../config.ts';
import type { PaymentBufferOptions } from './service.ts';

export function processorSettings(config: Config): NonNullable<PaymentBufferOptions['processor']> {
  return {
    concurrency: config.LEDGER_PSP_CONCURRENCY,
    leaseMs: config.LEDGER_PAYMENT_CLAIM_LEASE_MS,
    keyWindowMs: config.LEDGER_PSP_KEY_WINDOW_MS,
  };
}
