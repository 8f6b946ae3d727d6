/**
 * API keys. With LEDGER_API_KEYS set, every route but the exempt ones needs
 * `Authorization: Bearer <secret>`; the matching client id scopes idempotency keys and is
 * recorded in event metadata. Without keys the ledger trusts its network, so it only agrees
 * to listen on loopback unless LEDGER_AUTH=off says a gateway in front authenticates.
 */
import { createHash, timingSafeEqual } from 'node:crypto';
import type { FastifyReply, FastifyRequest } from 'fastify';
import { ANONYMOUS_CLIENT, type ApiKey, ConfigError, type Config } from '../config.ts';
import { headerOccurrences } from './headers.ts';
import { DOCS_PREFIX, DOCUMENT_ROUTE } from './openapi.ts';
import { Problem } from './problem.ts';

export { ANONYMOUS_CLIENT };

/**
 * Liveness must answer an orchestrator that holds no key, problem pages are what error responses
 * link to, Stripe's webhook carries no key (its signature authenticates it), and the docs and the OpenAPI document describe the API without holding any data (Swagger
 * UI must load before its Authorize button can take a key). OPTIONS says only which methods a path takes.
 */
const EXEMPT_ROUTES = new Set(['/health', '/problems', '/problems/:slug', DOCUMENT_ROUTE, '/webhooks/stripe', '*']);

const isExempt = (url: string) => EXEMPT_ROUTES.has(url) || url === DOCS_PREFIX || url.startsWith(`${DOCS_PREFIX}/`);

export type AuthPolicy =
  | { readonly mode: 'keys'; readonly clients: ReadonlyMap<string, ApiKey> }
  | { readonly mode: 'off'; readonly notice: string };

/** Decides how requests are authenticated, or refuses a configuration that would expose an open ledger. */
export function resolveAuthPolicy(config: Pick<Config, 'LEDGER_API_KEYS' | 'LEDGER_AUTH' | 'HOST'>): AuthPolicy {
  const clients = config.LEDGER_API_KEYS ?? new Map<string, ApiKey>();
  if (clients.size > 0) {
    if (config.LEDGER_AUTH === 'off') {
      throw new ConfigError('LEDGER_AUTH=off contradicts LEDGER_API_KEYS: unset one of them');
    }
    return { mode: 'keys', clients };
  }
  if (config.LEDGER_AUTH === 'on') {
    throw new ConfigError('LEDGER_AUTH=on needs LEDGER_API_KEYS=clientId:secret,… (secrets of 16 characters or more)');
  }
  if (!isLoopbackHost(config.HOST) && config.LEDGER_AUTH !== 'off') {
    throw new ConfigError(
      `refusing to listen on HOST=${config.HOST} without authentication: set LEDGER_API_KEYS=clientId:secret,… ` +
        'or, if a gateway in front of the ledger authenticates every request, LEDGER_AUTH=off',
    );
  }
  const where = isLoopbackHost(config.HOST)
    ? 'only loopback clients can connect'
    : 'LEDGER_AUTH=off: a gateway must authenticate';
  return {
    mode: 'off',
    notice: `auth is off (no LEDGER_API_KEYS): every request acts as client "${ANONYMOUS_CLIENT}"; ${where}`,
  };
}

export function isLoopbackHost(host: string): boolean {
  const bare = host.replace(/^\[(.*)\]$/, '$1').toLowerCase();
  return bare === 'localhost' || bare === '::1' || /^127(\.\d{1,3}){3}$/.test(bare);
}

/**
 * The onRequest hook: sets request.clientId, or answers 401. A client reads and commands only its
 * own orders; an auditor reads every client's and may not command.
 */
export function authenticate(policy: AuthPolicy): (request: FastifyRequest, reply: FastifyReply) => Promise<void> {
  if (policy.mode === 'off') return async () => {};
  const identify = clientMatcher(policy.clients);
  return async (request, reply) => {
    if (isExempt(request.routeOptions.url ?? '')) return;
    // Node keeps the first of two; a proxy that keeps the last would have seen another client.
    if (headerOccurrences(request, 'authorization').length > 1) {
      throw new Problem('bad-request', 'send exactly one Authorization header');
    }
    const match = /^Bearer +([^ ]+) *$/i.exec(request.headers.authorization ?? '');
    const client = match ? identify(match[1]!) : undefined;
    if (client === undefined) {
      reply.header('www-authenticate', 'Bearer realm="order-ledger"');
      throw new Problem(
        'unauthorized',
        match ? 'the bearer token matches no configured API key' : 'send Authorization: Bearer <secret>',
      );
    }
    request.clientId = client.clientId;
    request.readsAll = client.role === 'auditor';
    request.readOnly = client.role === 'auditor';
  };
}

/**
 * Both sides are hashed first so timingSafeEqual always compares equal lengths, and every
 * client is compared on every request so the time taken does not say which one matched.
 */
interface Identified {
  readonly clientId: string;
  readonly role: ApiKey['role'];
}

function clientMatcher(clients: ReadonlyMap<string, ApiKey>): (token: string) => Identified | undefined {
  const digest = (text: string) => createHash('sha256').update(text).digest();
  const known = [...clients].map(([clientId, key]) => ({ clientId, role: key.role, digest: digest(key.secret) }));
  return (token) => {
    const offered = digest(token);
    let found: Identified | undefined;
    for (const { clientId, role, digest: expected } of known) {
      if (timingSafeEqual(offered, expected) && found === undefined) found = { clientId, role };
    }
    return found;
  };
}
