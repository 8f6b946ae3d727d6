/**
 * Who is asking and which conversation a request belongs to: the request id (the caller's
 * X-Request-Id when usable, else a fresh UUID), the correlation id (the caller's X-Correlation-Id
 * when usable, else the request id), and the client id (set by auth). Both ids are echoed, and
 * the request's logger carries both from its first line ("incoming request") to its last.
 */
import { randomUUID } from 'node:crypto';
import type { IncomingMessage } from 'node:http';
import type { FastifyBaseLogger, FastifyInstance, FastifyReply, FastifyRequest, FastifyServerOptions } from 'fastify';
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
const USABLE_ID = /^[\x21-\x7e]{1,128}$/;
/** Only echo what can be echoed verbatim and safely in a header. */
const ECHOABLE = /^[\x20-\x7e]{1,1024}$/;

function usableHeader(raw: IncomingMessage, name: string): string | undefined {
  const value = raw.headers[name];
  return typeof value === 'string' && USABLE_ID.test(value) ? value : undefined;
}

/**
 * For fastify's `genReqId`. A fresh id is unique across restarts: it becomes the correlation id
 * stored in event metadata when the caller sends none.
 */
export const requestIdOf = (raw: IncomingMessage): string => usableHeader(raw, 'x-request-id') ?? randomUUID();

const correlationIdOf = (raw: IncomingMessage, requestId: string): string =>
  usableHeader(raw, 'x-correlation-id') ?? requestId;

/** For fastify's `childLoggerFactory`: every line of the request names its correlation id. */
export const requestLogger: NonNullable<FastifyServerOptions['childLoggerFactory']> = (
  logger,
  bindings,
  options,
  raw,
) => {
  const correlationId = correlationIdOf(raw, String(bindings.reqId));
  return logger.child({ ...bindings, correlationId }, options) as FastifyBaseLogger;
};

/**
 * Sets the request's correlation id and echoes both ids. Also called for answers given before the
 * hooks run (a path the router cannot decode), which would otherwise leave without them.
 */
export function echoRequestIds(request: FastifyRequest, reply: FastifyReply): void {
  if (!request.correlationId) request.correlationId = correlationIdOf(request.raw, request.id);
  reply.header('x-request-id', request.id).header('x-correlation-id', request.correlationId);
}

export function registerRequestContext(app: FastifyInstance): void {
  app.decorateRequest('clientId', ANONYMOUS_CLIENT);
  app.decorateRequest('readsAll', true);
  app.decorateRequest('readOnly', false);
  app.decorateRequest('correlationId', '');
  app.addHook('onRequest', (request, reply, done) => {
    echoRequestIds(request, reply);
    const key = request.headers['idempotency-key'];
    if (typeof key === 'string' && ECHOABLE.test(key)) reply.header('idempotency-key', key);
    done();
  });
}
