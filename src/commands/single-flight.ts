/**
 * Coalesces identical commands that are in flight at the same moment in this process, so a
 * storm of duplicates costs one read-decide-append instead of N racing ones. An optimisation
 * only: correctness comes from the expected revision and the idempotent decider, which still
 * hold across processes and for duplicates that do not overlap in time.
 */
export interface SingleFlight<T> {
  /** Runs `work` unless an identical one (same key) is running; then shares its result. */
  run(key: string, work: () => Promise<T>): Promise<{ readonly value: T; readonly shared: boolean }>;
}

export function createSingleFlight<T>(): SingleFlight<T> {
  const inFlight = new Map<string, Promise<T>>();
  return {
    async run(key, work) {
      const running = inFlight.get(key);
      if (running) return { value: await running, shared: true };
      const started = work().finally(() => inFlight.delete(key));
      inFlight.set(key, started);
      return { value: await started, shared: false };
    },
  };
}
