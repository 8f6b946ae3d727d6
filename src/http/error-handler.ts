/**
 * The one place where errors become responses. Everything thrown anywhere in the app lands
 * here and leaves as application/problem+json; a client's mistake is always a 4xx, and a
 * response never carries a stack trace or an internal message.
 */
import type { FastifyBaseLogger, FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import { z } from 'zod';
import { ConcurrencyExhaustedError, RevisionMismatchError } from '../commands/errors.ts';
import { IdempotencyKeyReused } from '../domain/key-binding.ts';
import { DomainRejection } from '../domain/rejection.ts';
import { CorruptEventError, StoreUnavailableError, WrongExpectedVersionError } from '../eventstore/errors.ts';
import { WaitCapacityError } from '../projections/wait.ts';
import { type FieldError, PROBLEM_TYPES, Problem, type ProblemSlug } from './problem.ts';
import { echoRequestIds } from './request-context.ts';
import { type RouteMethods, shorten } from './route-methods.ts';

/** How long a client should wait before retrying, by why the store refused. */
const RETRY_AFTER_SECONDS: Record<StoreUnavailableError['reason'], number> = {
  busy: 1,
  io: 5,
  unreachable: 5,
  closed: 5,
  full: 60,
};

export function installErrorHandling(app: FastifyInstance, routes: RouteMethods): void {
  app.setErrorHandler((error, request, reply) => {
    const problem = problemFor(error);
    logProblem(request.log, problem, error);
    return sendProblem(reply, problem, request);
  });
  app.setNotFoundHandler((request, reply) => {
    const path = shorten(request.url);
    const allowed = routes.allowed(request.url);
    if (allowed.length > 0 && !allowed.includes(request.method)) {
      reply.header('allow', allowed.join(', '));
      const detail = `${request.method} is not served at ${path}; ${allowed.join(', ')} are`;
      return sendProblem(reply, new Problem('method-not-allowed', detail), request);
    }
    return sendProblem(reply, new Problem('not-found', `nothing is served at ${request.method} ${path}`), request);
  });
}

/** For fastify's `frameworkErrors` option: router failures (bad URL encoding, over-long parameters). */
export function renderFrameworkError(error: unknown, request: FastifyRequest, reply: FastifyReply): void {
  void sendProblem(reply, problemFor(error), request);
}

export function sendProblem(reply: FastifyReply, problem: Problem, request: FastifyRequest): FastifyReply {
  echoRequestIds(request, reply);
  // Every problem documented as retryable carries Retry-After, whoever raised it.
  const retryAfter = problem.extras.retryAfterSeconds ?? (retryable(problem.slug) ? 1 : undefined);
  if (retryAfter !== undefined) reply.header('retry-after', String(retryAfter));
  // Serialized here, not by a route's response schema: a problem must not depend on which route failed.
  return reply
    .code(problem.status)
    .type('application/problem+json')
    .send(JSON.stringify(problem.toJSON(`urn:uuid:${request.id}`)));
}

const retryable = (slug: ProblemSlug): boolean => (PROBLEM_TYPES[slug] as { retryAfter?: true }).retryAfter === true;

export function problemFor(error: unknown): Problem {
  if (error instanceof Problem) return error;
  if (error instanceof IdempotencyKeyReused) {
    return new Problem('idempotency-key-reused', error.message, { differs: error.differs });
  }
  if (error instanceof DomainRejection) return new Problem(error.rule, error.message);
  if (error instanceof RevisionMismatchError) {
    const current = error.actual === 'no_stream' ? null : String(error.actual);
    return new Problem(
      'revision-mismatch',
      `If-Match names revision ${error.expected}; the order is at ${current ?? 'no revision (it does not exist)'}`,
      {
        currentRevision: current,
      },
    );
  }
  if (error instanceof ConcurrencyExhaustedError || error instanceof WrongExpectedVersionError) {
    return new Problem(
      'concurrency-conflict',
      'other writers kept changing this order; nothing was written by this request',
      { retryAfterSeconds: 1 },
    );
  }
  if (error instanceof StoreUnavailableError) {
    return new Problem('store-unavailable', `the event store is unavailable (${error.reason}); nothing was written`, {
      retryAfterSeconds: RETRY_AFTER_SECONDS[error.reason],
    });
  }
  if (error instanceof WaitCapacityError) {
    const detail = `${error.message}; retry after the delay in Retry-After`;
    return new Problem('projection-lagging', detail, { retryAfterSeconds: 1 });
  }
  if (error instanceof CorruptEventError) {
    const at = { streamId: error.streamId, revision: String(error.revision), position: error.position.toString() };
    const record = `event ${at.streamId}@${at.revision} (position ${at.position})`;
    return new Problem('event-corrupt', `${record} cannot be trusted; the ledger will not decide on it`, at);
  }
  if (error instanceof z.ZodError)
    return validationProblem(error.issues.map((issue) => ({ path: pathOf('', issue.path), message: issue.message })));
  if (hasValidation(error)) {
    const root = error.validationContext === 'querystring' ? 'query' : (error.validationContext ?? '');
    return validationProblem(
      error.validation.map((v) => ({
        path: pathOf(root, v.instancePath.split('/').filter(Boolean)),
        message: v.message ?? 'is invalid',
      })),
    );
  }
  return (
    fastifyProblem(error) ??
    new Problem('internal-error', 'an unexpected error occurred; the instance URN is the request id in the logs')
  );
}

/** Fastify's own request errors: each is the client's, so each keeps a 4xx. */
function fastifyProblem(error: unknown): Problem | undefined {
  const { code, statusCode } = (error ?? {}) as { code?: unknown; statusCode?: unknown };
  switch (code) {
    case 'FST_ERR_CTP_BODY_TOO_LARGE':
      return new Problem('payload-too-large', 'the body exceeds 65536 bytes');
    case 'FST_ERR_CTP_INVALID_MEDIA_TYPE':
      return new Problem('unsupported-media-type', 'send the body as Content-Type: application/json');
    case 'FST_ERR_MAX_PARAM_LENGTH': {
      const message = 'a path parameter is far longer than any valid id';
      return validationProblem([{ path: 'params', message }]);
    }
  }
  // Any other error fastify or a plugin marks as the client's (bad URL encoding, content-length mismatch…).
  if (statusCode === 404) return new Problem('not-found', 'no such resource');
  if (typeof statusCode === 'number' && statusCode >= 400 && statusCode < 500) {
    return new Problem(
      'bad-request',
      typeof code === 'string' ? `the request is malformed (${code})` : 'the request is malformed',
    );
  }
  return undefined;
}

function validationProblem(errors: FieldError[]): Problem {
  const summary = errors.map((e) => `${e.path || '(request)'}: ${e.message}`).join('; ');
  return new Problem('validation-failed', summary, { errors });
}

interface ValidationFailure {
  validation: Array<{ instancePath: string; message?: string }>;
  validationContext?: string;
}

function hasValidation(error: unknown): error is ValidationFailure {
  return typeof error === 'object' && error !== null && Array.isArray((error as ValidationFailure).validation);
}

/** `body.lines[0].sku`: a path a person can read and a program can split. */
function pathOf(root: string, segments: readonly PropertyKey[]): string {
  return segments.reduce<string>((path, segment) => {
    const text = String(segment);
    if (/^\d+$/.test(text)) return `${path}[${text}]`;
    return path === '' ? text : `${path}.${text}`;
  }, root);
}

function logProblem(log: FastifyBaseLogger, problem: Problem, error: unknown): void {
  if (error instanceof CorruptEventError) {
    const at = { streamId: error.streamId, revision: String(error.revision), position: error.position.toString() };
    log.error({ ...at, problem: error.problem }, 'stored event cannot be trusted (decoding, schema or hash chain)');
  } else if (error instanceof Problem && problem.status >= 500) {
    // An answer the ledger chose (not ready, overloaded, store down): its detail says it all, no stack.
    log.warn({ problem: problem.slug, status: problem.status }, problem.detail);
  } else if (problem.status >= 500) {
    log.error({ err: error, problem: problem.slug }, problem.detail);
  } else {
    log.info({ problem: problem.slug, status: problem.status }, problem.detail);
  }
}
