/**
 * The per-request log lines ("incoming request", "request completed"): at info, except for what
 * is polled or fetched in bulk — probes, the OpenAPI document, Swagger UI's assets — which is
 * logged at debug, so that an orchestrator's probes do not drown the log. Errors keep their level.
 */
import { type FastifyReply, type FastifyRequest, LogController } from 'fastify';
import { DOCS_PREFIX, DOCUMENT_ROUTE } from './openapi.ts';

const QUIET_ROUTES = new Set(['/health', '/ready', DOCUMENT_ROUTE]);

export const isQuietRoute = (url: string): boolean =>
  QUIET_ROUTES.has(url) || url === DOCS_PREFIX || url.startsWith(`${DOCS_PREFIX}/`);

export class LedgerLogController extends LogController {
  override incomingRequest(request: FastifyRequest, reply: FastifyReply): void {
    if (isQuietRoute(request.routeOptions.url ?? '')) request.log.debug({ req: request }, 'incoming request');
    else super.incomingRequest(request, reply);
  }

  override requestCompleted(error: Error | null | undefined, request: FastifyRequest, reply: FastifyReply): void {
    if (!error && isQuietRoute(request.routeOptions.url ?? '')) {
      reply.log.debug({ res: reply, responseTime: reply.elapsedTime }, 'request completed');
    } else super.requestCompleted(error, request, reply);
  }
}
