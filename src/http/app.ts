/**
 * Builds the fastify app: zod for validation, serialization and the OpenAPI document; one
 * error handler; request context, auth and metrics hooks; then the route groups (the read routes
 * when given the read models). Routes and plugins reach what they need through `app.ledger` only.
 * Extra route plugins are registered last, inside the same app, so they share the error handler,
 * the auth hook, the metrics and the OpenAPI document without editing this file.
 */
import type { IncomingMessage, ServerResponse } from 'node:http';
import Fastify, {
  type FastifyBaseLogger,
  type FastifyInstance,
  type FastifyPluginAsync,
  type RawServerDefault,
} from 'fastify';
import { type ZodTypeProvider, serializerCompiler, validatorCompiler } from 'fastify-type-provider-zod';
import { decidedStreams } from '../commands/decided-streams.ts';
import { createDispatcher, type Dispatch } from '../commands/dispatcher.ts';
import { createCommandHandler, type CommandHandlerOptions } from '../commands/handler.ts';
import { createKeyedRunner } from '../commands/key-binding.ts';
import { createOrderReads, type OrderReads } from '../commands/order-reads.ts';
import { StateCache } from '../commands/state-cache.ts';
import type { Config } from '../config.ts';
import { orderDecider } from '../domain/order.ts';
import { instrumentAppends } from '../eventstore/instrumented-store.ts';
import type { EventStore } from '../eventstore/port.ts';
import { createLogger } from '../log.ts';
import type { PaymentBuffer } from '../payments/service.ts';
import { authenticate, resolveAuthPolicy } from './auth.ts';
import { answerClientError } from './client-errors.ts';
import { installErrorHandling, renderFrameworkError } from './error-handler.ts';
import { registerJsonBodyParser } from './json-body.ts';
import { createMetrics, type LedgerMetrics } from './metrics.ts';
import { registerCors } from './cors.ts';
import { type LoadSheddingOptions, registerLoadShedding } from './load-shedding.ts';
import { registerOpenApi } from './openapi.ts';
import { problemPages } from './problem-pages.ts';
import { registerRateLimit } from './rate-limit.ts';
import { registerRequestContext, requestIdOf, requestLogger } from './request-context.ts';
import { LedgerLogController } from './request-logging.ts';
import { answerOptions, trackRouteMethods } from './route-methods.ts';
import { registerSecurityHeaders } from './security-headers.ts';
import { commandRoutes } from './routes/commands.ts';
import { operationRoutes, type ReadinessCheck } from './routes/operations.ts';
import { orderEventRoutes } from './routes/order-events.ts';
import { paymentRequestRoutes } from './routes/payment-requests.ts';
import { type ReadRoutesDeps, readRoutes } from './routes/reads.ts';
import { stripeWebhookRoutes } from './routes/stripe-webhook.ts';

/** The app's type: plugins typed with FastifyPluginAsyncZod get the zod type provider. */
export type LedgerApp = FastifyInstance<
  RawServerDefault,
  IncomingMessage,
  ServerResponse,
  FastifyBaseLogger,
  ZodTypeProvider
>;

/** What routes and plugins reach through `app.ledger`. */
export interface LedgerServices {
  /** The store behind the port: reads, subscriptions and its readiness ping. */
  readonly store: EventStore;
  readonly config: Config;
  readonly metrics: LedgerMetrics;
  readonly dispatch: Dispatch;
  /** The orders as the command handler decides on them (cached, verified, brought up to date per read). */
  readonly orders: OrderReads;
  /** Checks behind GET /ready; a plugin may push its own while it is registered. */
  readonly readiness: ReadinessCheck[];
  /** What the read routes answer from; without it they are not served. */
  readonly reads?: ReadRoutesDeps;
  /** The payment buffer; without it asynchronous captures answer 501 psp-not-configured. */
  readonly payments?: PaymentBuffer;
}

declare module 'fastify' {
  interface FastifyInstance {
    ledger: LedgerServices;
  }
}

export interface BuildAppOptions {
  readonly store: EventStore;
  readonly config: Config;
  readonly logger?: FastifyBaseLogger;
  // eslint-disable-next-line @typescript-eslint/no-explicit-any -- any plugin options and type provider
  // biome-ignore lint/suspicious/noExplicitAny: a plugin may take any options and use any type provider
  readonly extraRoutes?: readonly FastifyPluginAsync<any, RawServerDefault, any>[];
  readonly readiness?: readonly ReadinessCheck[];
  /** The projections' queries and waits: with them, the read routes are served. */
  readonly reads?: ReadRoutesDeps;
  readonly payments?: PaymentBuffer;
  /** Retry bounds, clock and key-binding protocol for the command handler (tests). */
  readonly commandHandler?: Omit<CommandHandlerOptions, 'onConflict'>;
  /** How often the event-loop lag is sampled (tests; under-pressure's default otherwise). */
  readonly loadSampleIntervalMs?: LoadSheddingOptions['sampleIntervalMs'];
}

/** Bodies above this are refused with 413 before they are parsed. */
export const BODY_LIMIT_BYTES = 65_536;

/** A request over its timeout is cut at most this much later. */
export const CONNECTIONS_CHECK_MS = 1_000;

export async function buildApp(options: BuildAppOptions): Promise<LedgerApp> {
  const { store, config } = options;
  const auth = resolveAuthPolicy(config);
  const metrics = createMetrics(store.kind);
  const instrumented = instrumentAppends(store, metrics.observeAppend);
  const stateCache = options.commandHandler?.stateCache ?? stateCacheOf(config);
  // One set of decided order streams: the handler decides on them, the order reads answer from them.
  const orders = decidedStreams(orderDecider, instrumented, stateCache);
  const handle = createCommandHandler(
    instrumented,
    { ...options.commandHandler, stateCache, onConflict: () => metrics.countCommand('retried_on_conflict') },
    orders,
  );
  const run = createKeyedRunner(instrumented, handle, options.commandHandler?.now, stateCache);

  const app = Fastify({
    loggerInstance: options.logger ?? createLogger(config.LOG_LEVEL),
    bodyLimit: BODY_LIMIT_BYTES,
    genReqId: requestIdOf,
    childLoggerFactory: requestLogger,
    logController: new LedgerLogController(),
    // While closing, requests already on a kept-alive connection are served (and the connection
    // then closed) instead of getting a bare 503 that is not a problem document.
    return503OnClosing: false,
    frameworkErrors: renderFrameworkError,
    clientErrorHandler: answerClientError,
    // Headers and body must arrive whole within the timeout: a slow sender cannot hold a socket
    // (and a shutdown) open. Node checks the deadlines once per connectionsCheckingInterval.
    requestTimeout: config.LEDGER_REQUEST_TIMEOUT_MS,
    http: { headersTimeout: config.LEDGER_REQUEST_TIMEOUT_MS, connectionsCheckingInterval: CONNECTIONS_CHECK_MS },
    routerOptions: { maxParamLength: 256 },
  }).withTypeProvider<ZodTypeProvider>();

  app.setValidatorCompiler(validatorCompiler);
  app.setSerializerCompiler(serializerCompiler);
  registerJsonBodyParser(app);
  // Before any route: it learns the routes as they are registered.
  const routes = trackRouteMethods(app);
  app.decorate('ledger', {
    store,
    config,
    metrics,
    dispatch: createDispatcher(run, metrics.countCommand),
    orders: createOrderReads(orders, instrumented),
    readiness: [...(options.readiness ?? [])],
    ...(options.reads && { reads: options.reads }),
    ...(options.payments && { payments: options.payments }),
  } satisfies LedgerServices);

  registerRequestContext(app);
  // Before authentication: security headers on a 401 too, preflights answered without a key, load
  // shed before any work. The rate limit's hooks are per route, so they run after authentication.
  await registerSecurityHeaders(app);
  if (config.LEDGER_CORS_ORIGINS) await registerCors(app, config.LEDGER_CORS_ORIGINS);
  await registerLoadShedding(app, {
    maxEventLoopDelayMs: config.LEDGER_MAX_EVENT_LOOP_DELAY_MS,
    ...(options.loadSampleIntervalMs !== undefined && { sampleIntervalMs: options.loadSampleIntervalMs }),
  });
  app.addHook('onRequest', authenticate(auth));
  await registerRateLimit(app, config);
  app.addHook('onResponse', (request, reply, done) => {
    metrics.observeRequest(
      request.method,
      request.routeOptions.url ?? 'unmatched',
      reply.statusCode,
      reply.elapsedTime / 1000,
    );
    done();
  });
  installErrorHandling(app, routes);
  closeKeptAliveConnectionsOnShutdown(app);

  await registerOpenApi(app);
  answerOptions(app, routes, config.LEDGER_CORS_ORIGINS !== undefined);
  await app.register(problemPages);
  await app.register(operationRoutes);
  await app.register(commandRoutes);
  await app.register(orderEventRoutes);
  await app.register(paymentRequestRoutes);
  if (options.reads) await app.register(readRoutes);
  if (config.LEDGER_PSP === 'stripe' && config.STRIPE_WEBHOOK_SECRET !== undefined) {
    await app.register(stripeWebhookRoutes(config.STRIPE_WEBHOOK_SECRET));
  }
  for (const plugin of options.extraRoutes ?? []) await app.register(plugin);

  if (auth.mode === 'off') app.log.warn(auth.notice);
  return app;
}

/** One cache per app: the decided streams and the key bindings share its bounds. */
const stateCacheOf = (config: Config): StateCache =>
  new StateCache({
    maxEntries: config.LEDGER_STATE_CACHE_ENTRIES,
    maxBytes: Math.floor(config.LEDGER_STATE_CACHE_MB * 2 ** 20),
  });

/**
 * Closing stops new connections and drops idle ones, but a kept-alive connection that is busy at
 * that moment would otherwise stay open after its answer, holding shutdown until the keep-alive
 * timeout. Answers given while closing therefore tell the client to close the connection.
 */
function closeKeptAliveConnectionsOnShutdown(app: LedgerApp): void {
  let closing = false;
  app.addHook('preClose', (done) => {
    closing = true;
    done();
  });
  app.addHook('onSend', (_request, reply, payload, done) => {
    if (closing) reply.header('connection', 'close');
    done(null, payload);
  });
}
