/**
 * Who is asking and which conversation a request belongs to: the client id (set by auth), the
 * correlation id (the caller's X-Correlation-Id when usable, else the request id), both echoed
 * and carried by every log line of the request.
 */
import type { FastifyInstance } from 'fastify';
import { ANONYMOUS_CLIENT } from './auth.ts';

declare module 'fastify' {
  interface FastifyRequest {
    clientId: string;
    /**
     * Whether this caller may read every client's orders: an auditor, or any caller when auth is
     * off (one trusted tenant). Otherwise reads and commands see only the caller's own orders.
     */
    readsAll: boolean;
    /** An auditor's key: it reads (readsAll) and every command answers 403. */
    readOnly: boolean;
    correlationId: string;
  }
}

/** The metadata field holds 1–128 characters; anything else is replaced, not rejected. */
const USABLE_CORRELATION_ID = /^[\x21-\x7e]{1,128}$/;
/** Only echo what can be echoed verbatim and safely in a header. */
const ECHOABLE = /^[\x20-\x7e]{1,1024}$/;

export function registerRequestContext(app: FastifyInstance): void {
  app.decorateRequest('clientId', ANONYMOUS_CLIENT);
  app.decorateRequest('readsAll', true);
  app.decorateRequest('readOnly', false);
  app.decorateRequest('correlationId', '');
  app.addHook('onRequest', (request, reply, done) => {
    const offered = request.headers['x-correlation-id'];
    request.correlationId = typeof offered === 'string' && USABLE_CORRELATION_ID.test(offered) ? offered : request.id;
    if (request.correlationId !== request.id) request.log = request.log.child({ correlationId: request.correlationId });
    reply.header('x-request-id', request.id).header('x-correlation-id', request.correlationId);
    const key = request.headers['idempotency-key'];
    if (typeof key === 'string' && ECHOABLE.test(key)) reply.header('idempotency-key', key);
    done();
  });
}
