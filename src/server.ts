/**
 * Starting and stopping the ledger server: open the store, build the app, listen; on close,
 * stop accepting, let in-flight requests finish, then close the store (which waits for
 * pending appends to commit).
 */
import type { FastifyBaseLogger } from 'fastify';
import type { Config } from './config.ts';
import { bindLegacyKeysBeforeCommands, type LegacyKeyGate } from './commands/legacy-key-bindings.ts';
import { afterAppends } from './eventstore/instrumented-store.ts';
import { openStore } from './eventstore/open-store.ts';
import type { EventStore } from './eventstore/port.ts';
import { type BuildAppOptions, type LedgerApp, buildApp } from './http/app.ts';
import { createLogger } from './log.ts';
import { resolveAuthPolicy } from './http/auth.ts';
import { trackUnfinishedRequests } from './http/unfinished-requests.ts';
import { createCommandHandler } from './commands/handler.ts';
import type { PaymentGateway } from './payments/gateway.ts';
import { gatewayFromConfig } from './payments/gateway-from-config.ts';
import { registerPaymentMetrics } from './payments/metrics.ts';
import { processorSettings } from './payments/settings.ts';
import { type PaymentBuffer, type PaymentBufferOptions, startPaymentBuffer } from './payments/service.ts';
import { readModelLocation } from './projections/database.ts';
import type { ReadModelStore } from './projections/read-model-store.ts';
import { registerProjectionMetrics } from './projections/metrics.ts';
import { type ProjectionReads, startProjections } from './projections/service.ts';
import { startProjectionsInWorker } from './projections/worker-projections.ts';

/**
 * Node's default (511) drops SYNs when a burst of clients connects at once, which costs them a
 * one-second retransmit; the kernel caps this at net.core.somaxconn anyway.
 */
export const LISTEN_BACKLOG = 4096;

export interface StartServerOptions extends Pick<BuildAppOptions, 'extraRoutes' | 'readiness' | 'commandHandler'> {
  readonly logger?: FastifyBaseLogger;
  /** The PSP, instead of the one LEDGER_PSP names (tests inject a fake one). */
  readonly gateway?: PaymentGateway;
  /** The in-server processor's lease, back-off, clock, step hook… over what the configuration says. */
  readonly paymentProcessor?: PaymentBufferOptions['processor'];
  /** Test seam: the projection worker's entry module (see WorkerProjectionsOptions.module). */
  readonly projectionWorker?: URL;
}

export interface RunningServer {
  /** http://host:port actually bound (PORT=0 picks a free port). */
  readonly url: string;
  readonly app: LedgerApp;
  readonly store: EventStore;
  readonly projections: ProjectionReads;
  /** The payment buffer, when a gateway is configured. */
  readonly payments: PaymentBuffer | undefined;
  /** Graceful: idempotent, resolves once the server and the store are closed. */
  close(): Promise<void>;
}

export async function startServer(config: Config, options: StartServerOptions = {}): Promise<RunningServer> {
  // Refuse an unsafe configuration before anything is opened or bound.
  resolveAuthPolicy(config);
  const logger = options.logger ?? createLogger(config.LOG_LEVEL);
  const store = await openStore(config.LEDGER_STORE, { synchronous: config.LEDGER_SYNCHRONOUS });
  let app: LedgerApp;
  let url: string;
  let projections: ProjectionReads | undefined;
  let cutUnfinished: () => number;
  let legacyKeys: LegacyKeyGate | undefined;
  let payments: PaymentBuffer | undefined;
  try {
    // Keys of an earlier release are bound before any request can reuse them.
    legacyKeys = await bindLegacyKeysBeforeCommands(store, (error) =>
      logger.warn(
        { reason: error.reason },
        'old Idempotency-Keys not bound yet (store unavailable): commands wait for it',
      ),
    );
    const started = await startServerProjections(config, store, logger, options.projectionWorker);
    projections = started.reads;
    const gateway = options.gateway ?? (await gatewayFromConfig(config));
    if (gateway) {
      // The processor's checkpoint lives with the read models.
      payments = startPaymentBuffer({
        store: legacyKeys.store,
        gateway,
        handle: createCommandHandler(legacyKeys.store, options.commandHandler),
        checkpoint: started.readModels.processorCheckpoint(),
        logger,
        capacity: config.LEDGER_PAYMENT_BUFFER,
        process: config.LEDGER_PAYMENT_PROCESSOR === 'on',
        processor: { ...processorSettings(config), ...options.paymentProcessor },
      });
    }
    app = await buildApp({
      ...options,
      ...(payments && { payments }),
      store: started.committed ? afterAppends(legacyKeys.store, started.committed) : legacyKeys.store,
      config,
      logger,
      reads: projections,
      readiness: [projections.readiness, ...(options.readiness ?? [])],
    });
    registerProjectionMetrics(app.ledger.metrics.registry, projections.status);
    if (payments) registerPaymentMetrics(app.ledger.metrics.registry, payments);
    cutUnfinished = trackUnfinishedRequests(app.server);
    await app.listen({ host: config.HOST, port: config.PORT, backlog: LISTEN_BACKLOG });
    const address = app.server.address();
    const port = typeof address === 'object' && address !== null ? address.port : config.PORT;
    url = `http://${config.HOST.includes(':') ? `[${config.HOST}]` : config.HOST}:${port}`;
  } catch (error) {
    legacyKeys?.stop();
    await payments?.close();
    await projections?.close();
    await store.close();
    throw error;
  }
  const running = projections;
  const buffer = payments;
  const keys = legacyKeys!;
  logger.info({ url, store: store.kind }, 'listening');

  let closing: Promise<void> | undefined;
  const close = () =>
    (closing ??= (async () => {
      // Half-way through the shutdown bound, requests still arriving are from slow or stalled
      // senders; cutting them has no effect on the ledger and lets the close finish in time.
      const slowSenders = setTimeout(() => {
        const cut = cutUnfinished();
        if (cut > 0) logger.warn({ cut }, 'shutting down: closed connections whose request had not arrived whole');
      }, config.LEDGER_SHUTDOWN_TIMEOUT_MS / 2);
      try {
        await app.close();
      } finally {
        clearTimeout(slowSenders);
      }
      // The runner and the processor read the store, so they stop first; the store then flushes pending appends.
      keys.stop();
      await buffer?.close();
      await running.close();
      await store.close();
    })());
  return { url, app, store, projections: running, payments: buffer, close };
}

/**
 * The projection runner on a worker thread (the default), or on this thread where the read models
 * cannot be shared between threads (a memory: store keeps them in this thread's memory) or when
 * LEDGER_PROJECTION_RUNNER=in-process.
 */
async function startServerProjections(
  config: Config,
  store: EventStore,
  logger: FastifyBaseLogger,
  module: URL | undefined,
): Promise<{ reads: ProjectionReads; committed?: () => void; readModels: ReadModelStore }> {
  const readModels = readModelLocation(config.LEDGER_STORE, config.LEDGER_READ_MODELS);
  const maxWaitingReads = config.LEDGER_MAX_WAITING_READS;
  if (config.LEDGER_PROJECTION_RUNNER === 'in-process' || readModels === ':memory:') {
    const projections = await startProjections({ store, readModels, logger, maxWaitingReads });
    return { reads: projections, readModels: projections.readModels };
  }
  const reads = await startProjectionsInWorker({
    store,
    location: config.LEDGER_STORE,
    sqlite: { synchronous: config.LEDGER_SYNCHRONOUS },
    readModels,
    logger,
    maxWaitingReads,
    ...(module && { module }),
  });
  return { reads, committed: reads.committed, readModels: reads.readModels };
}

/**
 * SIGTERM / SIGINT: close gracefully and exit 0; past the timeout (or on a second signal) exit 1
 * rather than hang a deployment. Kept out of startServer so tests can start servers freely.
 */
export function exitOnSignals(server: RunningServer, timeoutMs: number, logger: FastifyBaseLogger): void {
  let stopping = false;
  const onSignal = (signal: NodeJS.Signals) => {
    if (stopping) {
      logger.warn({ signal }, 'second signal: exiting without waiting');
      process.exit(1);
    }
    stopping = true;
    logger.info({ signal, timeoutMs }, 'shutting down: no new connections, finishing in-flight requests');
    setTimeout(() => {
      logger.error({ timeoutMs }, 'shutdown timed out: exiting with requests still in flight');
      process.exit(1);
    }, timeoutMs).unref();
    server.close().then(
      () => {
        logger.info('shut down cleanly');
        process.exit(0);
      },
      (error: unknown) => {
        logger.error({ err: error }, 'shutdown failed');
        process.exit(1);
      },
    );
  };
  process.on('SIGTERM', onSignal);
  process.on('SIGINT', onSignal);
}
