/**
 * The runner: catch up from the lowest checkpoint through the store's global log in batches,
 * then follow it live. Every batch is one transaction (ProjectionEngine.apply); when another
 * runner moved a checkpoint, or a rebuilt generation was swapped in, it feeds again from the
 * lowest checkpoint. Store or database faults are retried with back-off; handler failures stop
 * only their projection, and a record that cannot be read stops the projections at it (it is fed
 * to them as its error, never retried as a fault).
 */
import type { LogEntry } from '../eventstore/log-entries.ts';
import type { EventStore } from '../eventstore/port.ts';
import { CommitSignal } from '../commit-signal.ts';
import type { ProjectionEngine, ProjectionLogger } from './engine.ts';
import type { RunnerLease } from './read-model-store.ts';
import { catchUpPage, fedFromRecord, liveBatches, liveEntries } from './feed.ts';

export interface RunnerOptions {
  readonly store: EventStore;
  readonly engine: ProjectionEngine;
  readonly logger: ProjectionLogger;
  /** Most events per transaction (default 1000). */
  readonly batchSize?: number;
  /** Following the log live, how long a batch waits for more events once none is immediately available (default 2 ms). */
  readonly lingerMs?: number;
  /** First delay after a store or database fault; doubles up to 5 s. */
  readonly retryDelayMs?: number;
  /** Called after every committed batch (progress bars, tests that stop between batches). */
  readonly afterBatch?: (info: { readonly position: bigint; readonly events: number }) => void | Promise<void>;
}

export interface ProjectionRunner {
  /** Wakes whoever waits for a checkpoint (waitForPosition) after every commit. */
  readonly advanced: CommitSignal;
  /**
   * Settles when the runner stops: after stop(), or — when it only builds generations (the CLI,
   * scratch rebuilds) — once none is left to build.
   */
  readonly done: Promise<void>;
  /** True once the runner has reached the head of the log at least once since it started. */
  readonly caughtUp: boolean;
  stop(): Promise<void>;
}

const MAX_RETRY_DELAY_MS = 5_000;
/** Retired generations are deleted this many documents per transaction, so appends never wait long. */
const PURGE_CHUNK = 2_000;

type Outcome = 'rewind' | 'finished' | 'stopped';

/** The lease went with its connection: another process may be feeding now, so this one stops feeding. */
class LeaseLost extends Error {}

export function runProjections(options: RunnerOptions): ProjectionRunner {
  const { store, engine, logger } = options;
  const batchSize = options.batchSize ?? 1_000;
  const controller = new AbortController();
  const signal = controller.signal;
  const advanced = new CommitSignal();
  let caughtUp = false;
  let purging: Promise<void> | undefined;
  let lease: RunnerLease | undefined;

  /** One batch through the engine; true when the feed must start again from the lowest checkpoint. */
  async function applyRecords(records: readonly LogEntry[], feedPosition: bigint): Promise<boolean> {
    if (lease && !lease.held()) throw new LeaseLost();
    const outcome = await engine.apply(
      records.map((record) => fedFromRecord(record, engine.handledTypes)),
      signal,
    );
    advanced.notify();
    await options.afterBatch?.({ position: feedPosition, events: records.length });
    return outcome === 'moved' || mustRefeed(feedPosition);
  }

  /**
   * Feed again from the lowest checkpoint when a lane is below the feed (a swap or another
   * runner put it there: it would miss events), or when no lane takes events any more.
   */
  function mustRefeed(feedPosition: bigint | undefined): boolean {
    const lanes = engine.running();
    if (lanes.length === 0) return true;
    return (
      feedPosition !== undefined && lanes.some((lane) => lane.position === undefined || lane.position < feedPosition)
    );
  }

  /** At the head of the log: swap in finished builds, clean up after them, and say whether a rebuild-only run is done. */
  async function atHead(feedPosition: bigint | undefined): Promise<boolean> {
    const swapped = (await engine.promote(feedPosition)).length > 0;
    if (swapped) advanced.notify();
    // Retired generations appear only through swaps (this process's or another's, seen at start).
    if (swapped || !caughtUp) void purgeRetired();
    caughtUp = true;
    return engine.rebuildOnly && engine.running().length === 0;
  }

  /** Deletes retired generations a chunk at a time, yielding between chunks so appends and reads go on. */
  function purgeRetired(): Promise<void> {
    purging ??= (async () => {
      try {
        while (!signal.aborted && (await engine.purgeRetired(PURGE_CHUNK)))
          await new Promise((resolve) => setImmediate(resolve));
      } catch (error) {
        logger.warn({ err: error }, 'could not delete a retired read-model generation; will retry later');
      } finally {
        purging = undefined;
      }
    })();
    return purging;
  }

  async function follow(after: bigint | undefined): Promise<Outcome> {
    let feedPosition = after;
    // Catch-up reads whole pages straight from the log: no per-event wake-ups, full batches.
    for (;;) {
      const records = await catchUpPage(store, feedPosition, batchSize);
      if (signal.aborted) return 'stopped';
      const last = records[records.length - 1];
      if (last) {
        feedPosition = last.position;
        if (await applyRecords(records, feedPosition)) return 'rewind';
      }
      if (records.length < batchSize) break;
    }
    if (await atHead(feedPosition)) return 'finished';
    if (mustRefeed(feedPosition)) return 'rewind';

    const live = new AbortController();
    const stopLive = () => live.abort();
    signal.addEventListener('abort', stopLive, { once: true });
    try {
      const items = liveEntries(store, feedPosition, live.signal);
      for await (const batch of liveBatches(items, batchSize, options.lingerMs ?? 2)) {
        if (signal.aborted) return 'stopped';
        const last = batch.events[batch.events.length - 1];
        if (last) {
          feedPosition = last.position;
          if (await applyRecords(batch.events, feedPosition)) return 'rewind';
        }
        if (batch.caughtUp && batch.idle) {
          if (await atHead(feedPosition)) return 'finished';
          if (mustRefeed(feedPosition)) return 'rewind';
        }
      }
      // A subscription that ends without being asked to is followed again, not taken as a stop.
      return signal.aborted ? 'stopped' : 'rewind';
    } finally {
      signal.removeEventListener('abort', stopLive);
      live.abort();
    }
  }

  /**
   * Where the read models are shared over the network, only the process holding the lease feeds
   * them; the others wait their turn (and take over when its holder's connection goes). Taking
   * it re-reads the checkpoints, which its previous holder moved.
   */
  async function leaseIfShared(): Promise<boolean> {
    // A rebuild (the CLI's) goes ahead beside the serving projector: its batches are compare-and-set too.
    if (engine.rebuildOnly || !engine.store.acquireRunnerLease || lease?.held()) return true;
    await lease?.release();
    lease = await engine.store.acquireRunnerLease(signal);
    if (!lease) return false;
    await engine.replan();
    return true;
  }

  async function loop(): Promise<void> {
    let delay = options.retryDelayMs ?? 100;
    while (!signal.aborted) {
      try {
        if (!(await leaseIfShared())) return;
      } catch (error) {
        if (signal.aborted) return;
        logger.warn({ err: error, retryInMs: delay }, 'projection runner could not take its lease; retrying');
        await abortable(new Promise((resolve) => setTimeout(resolve, delay)));
        delay = Math.min(delay * 2, MAX_RETRY_DELAY_MS);
        continue;
      }
      const start = engine.feedStart();
      if (!start) {
        // Nothing to feed: every lane failed, is blocked by newer code, or (rebuild-only) is done.
        if (!engine.rebuildOnly) await abortable(new Promise(() => {}));
        return;
      }
      try {
        const outcome = await follow(start.after);
        // A rebuild-only run cleans up after its swaps before it says it is done.
        if (outcome === 'finished') await purgeRetired();
        if (outcome !== 'rewind') return;
        delay = options.retryDelayMs ?? 100;
      } catch (error) {
        if (signal.aborted) return;
        if (error instanceof LeaseLost) {
          logger.warn(
            {},
            'projection runner lost its lease (its connection to the read models); waiting to take it again',
          );
          continue;
        }
        logger.warn(
          { err: error, retryInMs: delay },
          'projection runner interrupted by a store or database fault; retrying',
        );
        await abortable(new Promise((resolve) => setTimeout(resolve, delay)));
        delay = Math.min(delay * 2, MAX_RETRY_DELAY_MS);
      }
    }
  }

  const abortable = (wait: Promise<unknown>): Promise<unknown> =>
    signal.aborted
      ? Promise.resolve()
      : Promise.race([wait, new Promise((resolve) => signal.addEventListener('abort', resolve, { once: true }))]);

  const done = loop().finally(() => lease?.release());
  return {
    advanced,
    done,
    get caughtUp() {
      return caughtUp;
    },
    async stop() {
      controller.abort();
      advanced.notify();
      await done;
    },
  };
}
