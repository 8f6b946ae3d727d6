/** The gateway LEDGER_PSP names, or none when it is unset (asynchronous captures then answer 501). */
import { type Config, ConfigError } from '../config.ts';
import type { PaymentGateway } from './gateway.ts';

export async function gatewayFromConfig(config: Config): Promise<PaymentGateway | undefined> {
  if (config.LEDGER_PSP === undefined) return undefined;
  throw new ConfigError(`LEDGER_PSP=${config.LEDGER_PSP}: this build has no adapter for it`);
}
