/**
 * The OpenAPI document, generated from the routes' zod schemas: GET /openapi.json and the UI at
 * /docs, both public (they describe the API and hold no data). The document is finished in one
 * pass after generation: problem answers as application/problem+json, each response's headers
 * from the one table, the rate limit's and load shedding's headers, required Idempotency-Keys.
 */
import fastifySwagger from '@fastify/swagger';
import fastifySwaggerUi from '@fastify/swagger-ui';
import type { FastifyInstance } from 'fastify';
import { jsonSchemaTransform } from 'fastify-type-provider-zod';
import { PROBLEM_TYPES, type ProblemSlug } from './problem.ts';
import { RESPONSE_HEADERS, type ResponseHeader } from './response-headers.ts';

export const DOCS_PREFIX = '/docs';
export const DOCUMENT_ROUTE = '/openapi.json';

/** Marks a header parameter the route refuses to go without (the route checks it itself, for its own problem type). */
export const REQUIRED_PARAMETER = 'x-ledger-required';

const TAGS = [
  { name: 'orders', description: 'Create orders and cancel them; read them back' },
  { name: 'payments', description: 'Capture, authorize, void and refund payments on an order' },
  { name: 'reports', description: 'Read models: customers, daily totals, projections' },
  { name: 'audit', description: 'The raw event stream of an order, as stored' },
  { name: 'operations', description: 'Liveness, readiness and Prometheus metrics' },
];

const DESCRIPTION =
  'Event-sourced order and payment ledger. Commands are idempotent: retry with the same Idempotency-Key (or the ' +
  'same client-chosen id) and the original result comes back with `Idempotent-Replayed: true`. Money is integer ' +
  'minor units with an ISO 4217 currency. Errors are application/problem+json (RFC 9457); each `type` links to a ' +
  'page under /problems. With API keys configured, send `Authorization: Bearer <secret>` (the Authorize button).';

export async function registerOpenApi(app: FastifyInstance): Promise<void> {
  let uiPolicy: string | undefined;
  await app.register(fastifySwagger, {
    openapi: {
      openapi: '3.1.0',
      info: {
        title: 'Order Ledger',
        version: '0.1.0',
        description: DESCRIPTION,
        license: { name: 'MIT', identifier: 'MIT' },
        contact: { name: 'Order Ledger maintainers', url: 'https://github.com/order-ledger/order-ledger' },
      },
      // Relative: the server that serves the document, on whatever host and port it listens.
      servers: [{ url: '/', description: 'the server serving this document' }],
      tags: TAGS,
      components: {
        securitySchemes: {
          bearer: {
            type: 'http',
            scheme: 'bearer',
            description: 'A secret from LEDGER_API_KEYS; ignored while the ledger runs without API keys',
          },
        },
      },
      security: [{ bearer: [] }],
    },
    transform: jsonSchemaTransform,
    transformObject: (input) =>
      finishDocument(('openapiObject' in input ? input.openapiObject : {}) as OpenApiDocument),
  });
  await app.register(fastifySwaggerUi, {
    routePrefix: DOCS_PREFIX,
    uiConfig: { persistAuthorization: true, displayOperationId: true },
    // Swagger UI's own policy on its pages, instead of the API's (which allows nothing): its scripts and
    // styles by hash, nothing remote. The hashes are known once the plugin is registered, hence at request time.
    transformStaticCSP: () => (uiPolicy ??= swaggerUiPolicy(app)),
  });
  app.get(DOCUMENT_ROUTE, { schema: { hide: true } }, async () => app.swagger());
}

function swaggerUiPolicy(app: FastifyInstance): string {
  const { script, style } = (app as FastifyInstance & { swaggerCSP: { script: string[]; style: string[] } }).swaggerCSP;
  return [
    "default-src 'self'",
    "base-uri 'self'",
    "font-src 'self' data:",
    "frame-ancestors 'self'",
    "img-src 'self' data:",
    "object-src 'none'",
    ["script-src 'self'", ...script].join(' '),
    "script-src-attr 'none'",
    // Swagger UI sets style attributes as it renders.
    ["style-src 'self' 'unsafe-inline'", ...style].join(' '),
    "form-action 'self'",
  ].join('; ');
}

interface Parameter {
  in: string;
  name: string;
  required?: boolean;
  schema?: Record<string, unknown>;
}
interface Response {
  description: string;
  headers?: Record<string, unknown>;
  content?: Record<string, unknown>;
}
interface Operation {
  parameters?: Parameter[];
  responses?: Record<string, Response>;
}
type OpenApiDocument = { paths?: Record<string, Record<string, Operation>> } & Record<string, unknown>;

const EVERY_RESPONSE: ResponseHeader[] = ['x-request-id', 'x-correlation-id'];
/** Whether the problems a response documents (its `type` enum) all, some or none carry Retry-After. */
function retries(response: Response): 'all' | 'some' | 'none' {
  const [media] = Object.values(response.content ?? {}) as {
    schema?: { properties?: { type?: { enum?: unknown } } };
  }[];
  const types = media?.schema?.properties?.type?.enum;
  if (!Array.isArray(types)) return 'none';
  const slugs = types.map((uri) => String(uri).replace(/^\/problems\//, '') as ProblemSlug);
  const retrying = slugs.filter((slug) => (PROBLEM_TYPES[slug] as { retryAfter?: true } | undefined)?.retryAfter);
  if (retrying.length === 0) return 'none';
  return retrying.length === slugs.length ? 'all' : 'some';
}

function finishDocument(document: OpenApiDocument): OpenApiDocument {
  for (const operations of Object.values(document.paths ?? {})) {
    for (const operation of Object.values(operations)) finishOperation(operation);
  }
  return document;
}

function finishOperation(operation: Operation): void {
  let takesKey = false;
  for (const parameter of operation.parameters ?? []) {
    if (parameter.schema?.[REQUIRED_PARAMETER] === true) {
      parameter.required = true;
      delete parameter.schema[REQUIRED_PARAMETER];
    }
    if (parameter.in === 'header' && parameter.name === 'idempotency-key') takesKey = true;
  }
  for (const [status, response] of Object.entries(operation.responses ?? {})) {
    const names = new Set<ResponseHeader>([
      ...EVERY_RESPONSE,
      ...(Object.keys(response.headers ?? {}) as ResponseHeader[]),
      ...(takesKey ? (['idempotency-key'] as const) : []),
      ...(retries(response) === 'none' ? [] : (['retry-after'] as const)),
      ...(status === '401' ? (['www-authenticate'] as const) : []),
    ]);
    response.headers = Object.fromEntries([...names].map((name) => [name, { ...RESPONSE_HEADERS[name] }]));
    if (retries(response) === 'some')
      response.headers['retry-after'] = { ...RESPONSE_HEADERS['retry-after'], required: false };
    // Problems are sent by the error handler as application/problem+json, whatever the route produces.
    const [problem] = Number(status) >= 400 ? Object.values(response.content ?? {}) : [];
    if (problem !== undefined) response.content = { 'application/problem+json': problem };
  }
}
