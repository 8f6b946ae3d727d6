import { Gauge, type Registry } from 'prom-client';
import type { ProjectionStatus } from './status.ts';

/**
 * Projection health for Prometheus, read at scrape time from the runner's status so the gauges
 * can never disagree with GET /projections: state (1 for the current state), lag in events.
 */
export function registerProjectionMetrics(registry: Registry, status: () => Promise<ProjectionStatus[]>): void {
  new Gauge({
    name: 'ledger_projection_lag_events',
    help: 'Events between the log head and the served generation checkpoint',
    labelNames: ['projection'] as const,
    registers: [registry],
    async collect() {
      this.reset();
      for (const projection of await status()) {
        if (projection.serving) this.set({ projection: projection.name }, projection.serving.lag.events);
      }
    },
  });
  new Gauge({
    name: 'ledger_projection_state',
    help: 'Projection state: 1 for the state it is in (running, rebuilding, failed)',
    labelNames: ['projection', 'state'] as const,
    registers: [registry],
    async collect() {
      this.reset();
      for (const projection of await status()) {
        for (const state of ['running', 'rebuilding', 'failed'] as const) {
          this.set({ projection: projection.name, state }, projection.state === state ? 1 : 0);
        }
      }
    },
  });
}
