/** The ledger's pino logger: JSON lines, every line passed through the one redaction before it is written. */
import type { FastifyBaseLogger } from 'fastify';
import { pino } from 'pino';
import { redactSecrets } from './redact.ts';

export function createLogger(level: string): FastifyBaseLogger {
  return pino({ level, hooks: { streamWrite: redactSecrets } }) as FastifyBaseLogger;
}
