/** `npm start`: the ledger's HTTP server on the configured store. */
import { pino } from 'pino';
import type { FastifyBaseLogger } from 'fastify';
import { ConfigError, loadConfig } from './config.ts';
import { exitOnSignals, startServer } from './server.ts';

try {
  const config = loadConfig();
  const logger = pino({ level: config.LOG_LEVEL }) as FastifyBaseLogger;
  const server = await startServer(config, { logger });
  exitOnSignals(server, config.LEDGER_SHUTDOWN_TIMEOUT_MS, logger);
} catch (error) {
  // A configuration the ledger refuses is the operator's to fix: say what, not where in the code.
  if (error instanceof ConfigError) {
    console.error(`order-ledger: ${error.message}`);
    process.exit(1);
  }
  console.error('order-ledger: failed to start:', error);
  process.exit(1);
}
