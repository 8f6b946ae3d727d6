/**
 * CORS (@fastify/cors), only for the origins in LEDGER_CORS_ORIGINS: without it a browser on
 * another origin reads nothing. Preflights are answered before authentication (a browser sends
 * them without credentials), and the headers a client needs are exposed.
 */
import fastifyCors from '@fastify/cors';
import type { FastifyInstance } from 'fastify';
import { RESPONSE_HEADERS } from './response-headers.ts';

const REQUEST_HEADERS = [
  'authorization',
  'content-type',
  'idempotency-key',
  'if-match',
  'if-none-match',
  'prefer',
  'x-correlation-id',
  'x-min-position',
  'x-request-id',
];

export async function registerCors(app: FastifyInstance, origins: readonly string[]): Promise<void> {
  await app.register(fastifyCors, {
    origin: [...origins],
    methods: ['GET', 'HEAD', 'PUT', 'POST', 'OPTIONS'],
    allowedHeaders: REQUEST_HEADERS,
    exposedHeaders: Object.keys(RESPONSE_HEADERS),
    maxAge: 600,
    // Plain OPTIONS (no Origin) is answered too, with Allow (see route-methods.ts).
    strictPreflight: false,
  });
}
