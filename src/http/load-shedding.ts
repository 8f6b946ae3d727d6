/**
 * Load shedding (@fastify/under-pressure): while the event loop lags past the bound, requests are
 * answered 503 overloaded with Retry-After before any work is done, so the ledger recovers
 * instead of queueing. Liveness and metrics are still answered: an overloaded ledger is alive,
 * and its metrics are how an operator sees why.
 */
import fastifyUnderPressure from '@fastify/under-pressure';
import type { FastifyInstance } from 'fastify';
import { Problem } from './problem.ts';

const NEVER_SHED = new Set(['/health', '/metrics']);

export interface LoadSheddingOptions {
  /** 0: never shed. */
  readonly maxEventLoopDelayMs: number;
  /** How often the lag is measured (under-pressure's sampleInterval). */
  readonly sampleIntervalMs?: number;
}

export async function registerLoadShedding(app: FastifyInstance, options: LoadSheddingOptions): Promise<void> {
  if (options.maxEventLoopDelayMs === 0) return;
  await app.register(fastifyUnderPressure, {
    maxEventLoopDelay: options.maxEventLoopDelayMs,
    ...(options.sampleIntervalMs !== undefined && { sampleInterval: options.sampleIntervalMs }),
    pressureHandler: async (request, _reply, type, value) => {
      if (NEVER_SHED.has(request.routeOptions.url ?? '')) return;
      const lag =
        typeof value === 'number' ? ` (${Math.round(value)} ms, bound ${options.maxEventLoopDelayMs} ms)` : '';
      throw new Problem('overloaded', `the ledger is shedding load: ${type}${lag}; nothing was done`, {
        retryAfterSeconds: 1,
      });
    },
  });
}
