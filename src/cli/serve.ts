/** `ledger serve`: the HTTP server, as `npm start` runs it, on the --store given here. */
import { redactSecrets } from '../redact.ts';
import { EXIT, UsageError, type CliCommand } from './command.ts';

export const serveCommand: CliCommand = {
  name: 'serve',
  summary: 'Start the ledger HTTP server (PORT, HOST, LEDGER_API_KEYS… are read from the environment).',
  options: {},
  details: 'Runs until SIGTERM or SIGINT, then finishes in-flight requests and exits 0.',
  async run(context) {
    // Loaded here, not at the top: the other subcommands work even while the server does not build.
    const { ConfigError, loadConfig } = await import('../config.ts');
    const { exitOnSignals, startServer } = await import('../server.ts');
    const { createLogger } = await import('../log.ts');
    let config: ReturnType<typeof loadConfig>;
    try {
      config = loadConfig({ ...context.io.env, LEDGER_STORE: context.storeLocation.url });
    } catch (error) {
      if (error instanceof ConfigError)
        throw new UsageError(`${error.message}\nfix the environment variable named above`);
      throw error;
    }
    const logger = createLogger(config.LOG_LEVEL);
    const server = await startServer(config, { logger });
    exitOnSignals(server, config.LEDGER_SHUTDOWN_TIMEOUT_MS, logger);
    context.out.note(`ledger serving ${redactSecrets(context.storeLocation.url)} at ${server.url}`);
    // exitOnSignals ends the process; until then the open server keeps it alive.
    await new Promise<never>(() => {});
    return EXIT.clean;
  },
};
