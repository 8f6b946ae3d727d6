/**
 * Prometheus metrics, one registry per app (tests run several apps in one process, and the
 * global registry would refuse a second metric of the same name).
 */
import { Counter, Histogram, Registry, collectDefaultMetrics } from 'prom-client';
import type { CommandOutcomeKind } from '../commands/dispatcher.ts';
import type { AppendOutcome } from '../eventstore/instrumented-store.ts';

export interface LedgerMetrics {
  readonly registry: Registry;
  observeRequest(method: string, route: string, status: number, seconds: number): void;
  countCommand(outcome: CommandOutcomeKind | 'retried_on_conflict'): void;
  observeAppend(seconds: number, outcome: AppendOutcome): void;
}

export function createMetrics(storeKind: string): LedgerMetrics {
  const registry = new Registry();
  collectDefaultMetrics({ register: registry });
  const requests = new Counter({
    name: 'ledger_http_requests_total',
    help: 'HTTP requests by method, route template and status',
    labelNames: ['method', 'route', 'status'] as const,
    registers: [registry],
  });
  const requestSeconds = new Histogram({
    name: 'ledger_http_request_duration_seconds',
    help: 'HTTP request duration by method and route template',
    labelNames: ['method', 'route'] as const,
    buckets: [0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5],
    registers: [registry],
  });
  const commands = new Counter({
    name: 'ledger_commands_total',
    help: 'Commands by outcome: created, replayed, rejected, failed, and each retry after losing a race (retried_on_conflict)',
    labelNames: ['outcome'] as const,
    registers: [registry],
  });
  const appends = new Histogram({
    name: 'ledger_store_append_duration_seconds',
    help: 'Event store append latency (durable commit included) by outcome',
    labelNames: ['store', 'outcome'] as const,
    buckets: [0.0005, 0.001, 0.002, 0.005, 0.01, 0.02, 0.05, 0.1, 0.25, 0.5, 1],
    registers: [registry],
  });
  return {
    registry,
    observeRequest(method, route, status, seconds) {
      requests.inc({ method, route, status: String(status) });
      requestSeconds.observe({ method, route }, seconds);
    },
    countCommand(outcome) {
      commands.inc({ outcome });
    },
    observeAppend(seconds, outcome) {
      appends.observe({ store: storeKind, outcome }, seconds);
    },
  };
}
