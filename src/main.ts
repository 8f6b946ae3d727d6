/** `npm start`: the ledger's HTTP server on the configured store. */
import { inspect } from 'node:util';
import { ConfigError, loadConfig } from './config.ts';
import { createLogger } from './log.ts';
import { redactSecrets } from './redact.ts';
import { exitOnSignals, startServer } from './server.ts';

try {
  const config = loadConfig();
  const logger = createLogger(config.LOG_LEVEL);
  const server = await startServer(config, { logger });
  exitOnSignals(server, config.LEDGER_SHUTDOWN_TIMEOUT_MS, logger);
} catch (error) {
  // A configuration the ledger refuses is the operator's to fix: say what, not where in the code.
  if (error instanceof ConfigError) {
    console.error(`order-ledger: ${error.message}`);
    process.exit(1);
  }
  console.error(`order-ledger: failed to start: ${redactSecrets(inspect(error))}`);
  process.exit(1);
}
