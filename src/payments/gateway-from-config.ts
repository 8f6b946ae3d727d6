/** The gateway LEDGER_PSP names, or none when it is unset (asynchronous captures then answer 501). */
import { type Config, ConfigError } from '../config.ts';
import type { PaymentGateway } from './gateway.ts';
import { createStripeGateway } from './stripe-gateway.ts';

export async function gatewayFromConfig(config: Config): Promise<PaymentGateway | undefined> {
  if (config.LEDGER_PSP === undefined) return undefined;
  if (config.STRIPE_API_KEY === undefined) {
    throw new ConfigError('LEDGER_PSP=stripe needs STRIPE_API_KEY (a secret sk_… or restricted rk_… key)');
  }
  return createStripeGateway({
    apiKey: config.STRIPE_API_KEY,
    apiBase: config.STRIPE_API_BASE,
    timeoutMs: config.STRIPE_TIMEOUT_MS,
  });
}
