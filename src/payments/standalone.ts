/**
 * A payment processor in a process of its own (`ledger process-payments`, and the tests' worker
 * processes): the store, the processor checkpoint beside the read models, and the buffer, with no
 * HTTP server. Several may run at once, beside servers or not: claims are fenced in the log.
 */
import { createCommandHandler } from '../commands/handler.ts';
import type { Config } from '../config.ts';
import type { EventStore } from '../eventstore/port.ts';
import type { StoreLocation } from '../eventstore/store-url.ts';
import type { ProjectionLogger } from '../projections/engine.ts';
import { readModelLocation } from '../projections/database.ts';
import { openReadModels } from '../projections/open-read-models.ts';
import type { PaymentGateway } from './gateway.ts';
import { type PaymentBuffer, type PaymentBufferOptions, startPaymentBuffer } from './service.ts';
import { processorSettings } from './settings.ts';

export interface StandaloneProcessor {
  readonly buffer: PaymentBuffer;
  close(): Promise<void>;
}

export async function startStandaloneProcessor(options: {
  readonly store: EventStore;
  readonly location: StoreLocation;
  readonly config: Config;
  readonly gateway: PaymentGateway;
  readonly logger: ProjectionLogger;
  readonly processor?: PaymentBufferOptions['processor'];
}): Promise<StandaloneProcessor> {
  const { store, config } = options;
  const readModels = await openReadModels(readModelLocation(options.location, config.LEDGER_READ_MODELS));
  const buffer = startPaymentBuffer({
    store,
    gateway: options.gateway,
    handle: createCommandHandler(store),
    checkpoint: readModels.processorCheckpoint(),
    logger: options.logger,
    capacity: config.LEDGER_PAYMENT_BUFFER,
    processor: { ...processorSettings(config), ...options.processor },
  });
  return {
    buffer,
    async close() {
      await buffer.close();
      await readModels.close();
    },
  };
}
