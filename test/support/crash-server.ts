/**
 * The ledger server with a test seam, for crash tests only: it SIGKILLs itself at the named step of
 * a keyed write (LEDGER_TEST_CRASH_AT=after-reservation|after-effect), and can be made to bind keys
 * with the two-step protocol on a store that could do it atomically (LEDGER_TEST_BINDING=two-step),
 * so the window between reservation and effect exists on SQLite too.
 */
import type { BindingProtocol, BindingStep } from '../../src/commands/handler.ts';
import { loadConfig } from '../../src/config.ts';
import { exitOnSignals, startServer } from '../../src/server.ts';
import { pino } from 'pino';
import type { FastifyBaseLogger } from 'fastify';

const crashAt = process.env.LEDGER_TEST_CRASH_AT as BindingStep | undefined;
const protocol = process.env.LEDGER_TEST_BINDING as BindingProtocol | undefined;
const config = loadConfig();
const logger = pino({ level: config.LOG_LEVEL }) as FastifyBaseLogger;
const server = await startServer(config, {
  logger,
  commandHandler: {
    ...(protocol && { bindingProtocol: protocol }),
    onBindingStep: (step) => {
      if (step === crashAt) process.kill(process.pid, 'SIGKILL');
    },
  },
});
exitOnSignals(server, config.LEDGER_SHUTDOWN_TIMEOUT_MS, logger);
