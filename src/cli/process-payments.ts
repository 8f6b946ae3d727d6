/** `ledger process-payments`: the payment processor alone, beside servers or instead of theirs. */
import { redactSecrets } from '../redact.ts';
import { EXIT, UsageError, withStore, type CliCommand } from './command.ts';

export const processPaymentsCommand: CliCommand = {
  name: 'process-payments',
  summary: 'Charge pending payment requests through the PSP (LEDGER_PSP), each exactly once, until stopped.',
  options: {},
  details:
    "Follows the log from its checkpoint, claims each pending request, calls the PSP with the payment's " +
    'idempotency key and records the outcome. Several may run at once, in one or more processes. ' +
    'Runs until SIGTERM or SIGINT, then lets its PSP calls finish and exits 0.',
  async run(context) {
    // Loaded here, not at the top: the other subcommands work even while this one does not build.
    const { ConfigError, loadConfig } = await import('../config.ts');
    const { gatewayFromConfig } = await import('../payments/gateway-from-config.ts');
    const { startStandaloneProcessor } = await import('../payments/standalone.ts');
    const { createLogger } = await import('../log.ts');
    let config: ReturnType<typeof loadConfig>;
    let gateway: Awaited<ReturnType<typeof gatewayFromConfig>>;
    try {
      config = loadConfig({ ...context.io.env, LEDGER_STORE: context.storeLocation.url });
      gateway = await gatewayFromConfig(config);
    } catch (error) {
      if (error instanceof ConfigError)
        throw new UsageError(`${error.message}\nfix the environment variable named above`);
      throw error;
    }
    if (!gateway) throw new UsageError('LEDGER_PSP is not set: there is no payment service provider to charge through');
    const psp = gateway;
    const logger = createLogger(config.LOG_LEVEL);
    return withStore(context.storeLocation, true, async (store) => {
      const processor = await startStandaloneProcessor({
        store,
        location: context.storeLocation,
        config,
        gateway: psp,
        logger,
      });
      context.out.note(`ledger processing payments of ${redactSecrets(context.storeLocation.url)} through ${psp.name}`);
      await new Promise<void>((resolve) => {
        process.once('SIGTERM', resolve);
        process.once('SIGINT', resolve);
      });
      await processor.close();
      return EXIT.clean;
    });
  },
};
