/** The OpenAPI document, generated from the routes' zod schemas: GET /openapi.json and the UI at /docs. */
import fastifySwagger from '@fastify/swagger';
import fastifySwaggerUi from '@fastify/swagger-ui';
import type { FastifyInstance } from 'fastify';
import { jsonSchemaTransform } from 'fastify-type-provider-zod';
import type { AuthPolicy } from './auth.ts';

export async function registerOpenApi(app: FastifyInstance, auth: AuthPolicy): Promise<void> {
  const bearer = auth.mode === 'keys';
  await app.register(fastifySwagger, {
    openapi: {
      openapi: '3.1.0',
      info: {
        title: 'Order Ledger',
        version: '0.1.0',
        description:
          'Event-sourced order and payment ledger. Commands are idempotent: retry with the same Idempotency-Key (or the same ' +
          'client-chosen id) and the original result comes back with `Idempotent-Replayed: true`. Errors are ' +
          'application/problem+json; each `type` links to a page under /problems.',
      },
      ...(bearer && {
        components: { securitySchemes: { bearer: { type: 'http', scheme: 'bearer' } } },
        security: [{ bearer: [] }],
      }),
    },
    transform: jsonSchemaTransform,
  });
  await app.register(fastifySwaggerUi, { routePrefix: '/docs' });
  app.get('/openapi.json', { schema: { hide: true } }, async () => app.swagger());
}
