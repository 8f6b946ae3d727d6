/**
 * Requests per minute per client (@fastify/rate-limit): the authenticated client id, else the
 * address. Past the limit: 429 rate-limited with Retry-After, and nothing is done. Probes,
 * metrics, the docs and the problem pages are never limited; loopback clients only when asked.
 */
import fastifyRateLimit from '@fastify/rate-limit';
import type { FastifyInstance, FastifyRequest } from 'fastify';
import type { Config } from '../config.ts';
import { ANONYMOUS_CLIENT, isLoopbackHost } from './auth.ts';
import { DOCS_PREFIX, DOCUMENT_ROUTE } from './openapi.ts';
import { Problem } from './problem.ts';

const UNLIMITED = new Set(['/health', '/ready', '/metrics', DOCUMENT_ROUTE, '/problems', '/problems/:slug']);

export const isUnlimitedRoute = (url: string): boolean =>
  UNLIMITED.has(url) || url === DOCS_PREFIX || url.startsWith(`${DOCS_PREFIX}/`);

export async function registerRateLimit(
  app: FastifyInstance,
  config: Pick<Config, 'LEDGER_RATE_LIMIT' | 'LEDGER_RATE_LIMIT_LOOPBACK'>,
): Promise<void> {
  if (config.LEDGER_RATE_LIMIT === 0) return;
  const limitLoopback = config.LEDGER_RATE_LIMIT_LOOPBACK === 'on';
  await app.register(fastifyRateLimit, {
    max: config.LEDGER_RATE_LIMIT,
    timeWindow: 60_000,
    // Route hooks run after the global auth hook, so the client id is known here.
    keyGenerator: (request: FastifyRequest) =>
      request.clientId === ANONYMOUS_CLIENT ? `address:${request.ip}` : `client:${request.clientId}`,
    allowList: (request: FastifyRequest) =>
      isUnlimitedRoute(request.routeOptions.url ?? '') || (!limitLoopback && isLoopbackHost(request.ip)),
    errorResponseBuilder: (_request, context) =>
      new Problem('rate-limited', `more than ${context.max} requests in a minute; retry in ${context.after}`, {
        retryAfterSeconds: Math.max(1, Math.ceil(context.ttl / 1000)),
      }),
  });
}
