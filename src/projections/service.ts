/**
 * One call to run the projections next to a store: open the read-model database, plan the
 * lanes, start the runner, and hand out what the HTTP reads, /ready and /metrics need.
 */
import type Database from 'better-sqlite3';
import { projections as allProjections } from '../../projections/index.ts';
import type { Projection } from '../../projections/projection.ts';
import type { EventStore } from '../eventstore/port.ts';
import { openReadModels } from './open-read-models.ts';
import type { ReadModelLocation, ReadModelStore } from './read-model-store.ts';
import { type EngineMode, ProjectionEngine, silentLogger, type ProjectionLogger } from './engine.ts';
import { ReadModelQueries } from './queries.ts';
import { runProjections, type ProjectionRunner, type RunnerOptions } from './runner.ts';
import { projectionStatus, readinessOf, type ProjectionStatus } from './status.ts';
import { createPositionWaiter, type WaitForPosition } from './wait.ts';

export interface StartProjectionsOptions {
  readonly store: EventStore;
  /** A SQLite path (see readModelLocation) or ':memory:', an open SQLite connection (left open on close), or a PostgreSQL database. */
  readonly readModels: ReadModelLocation | Database.Database;
  readonly projections?: readonly Projection[];
  readonly logger?: ProjectionLogger;
  /** 'serve' (default) keeps the served generations live; 'rebuild' builds fresh ones and stops when they are swapped in. */
  readonly mode?: EngineMode;
  /**
   * Events per transaction: default 1000 when serving, 20 000 when rebuilding (fewer, larger
   * commits write each document fewer times).
   */
  readonly batchSize?: number;
  readonly busyTimeoutMs?: number;
  /** SQLite page cache of the read-model connection (see ReadModelDatabaseOptions.pageCacheMb). */
  readonly pageCacheMb?: number;
  /** See RunnerOptions.lingerMs. */
  readonly lingerMs?: number;
  /** Documents each projection keeps in memory between batches (see EngineOptions.cacheCapacity). */
  readonly cacheCapacity?: number;
  readonly afterBatch?: RunnerOptions['afterBatch'];
  /** Most reads parked at once waiting for a position (see PositionWaiterOptions.maxWaiting). */
  readonly maxWaitingReads?: number;
  /** How often parked reads look at the checkpoints when nothing woke them (see PositionWaiterOptions.pollIntervalMs). */
  readonly waitPollIntervalMs?: number;
}

/** What the HTTP side needs of the projections, wherever their runner runs (this thread or a worker). */
export interface ProjectionReads {
  readonly queries: ReadModelQueries;
  readonly waitForPosition: WaitForPosition;
  status(): Promise<ProjectionStatus[]>;
  /** A /ready check: not ok while a projection is failed. */
  readiness(): Promise<{ name: string; ok: boolean; detail?: string; ownDataDetail?: string }>;
  /** Stops the runner, then closes the database if it was opened here. Call before closing the store. */
  close(): Promise<void>;
}

/** The projections run on this thread: the runner and its engine are at hand (tests, the CLI). */
export interface Projections extends ProjectionReads {
  readonly readModels: ReadModelStore;
  readonly engine: ProjectionEngine;
  readonly runner: ProjectionRunner;
}

/**
 * A rebuild writes a whole generation at once: larger batches write each hot document fewer
 * times, and a larger page cache saves re-reading the B-tree pages every batch inserts into. Each
 * is a fixed bound, so memory stays flat whatever the length of the log. (50,000 cached documents
 * per lane instead of 20,000 saved about a third of the document reads but cost ~150 MB of peak memory: not kept.)
 */
const REBUILD_BATCH = 20_000;
const REBUILD_PAGE_CACHE_MB = 64;

export async function startProjections(options: StartProjectionsOptions): Promise<Projections> {
  const projections = options.projections ?? allProjections;
  const rebuilding = options.mode === 'rebuild';
  const pageCacheMb = options.pageCacheMb ?? (rebuilding ? REBUILD_PAGE_CACHE_MB : undefined);
  const readModels = await openReadModels(options.readModels, {
    ...(options.busyTimeoutMs !== undefined && { busyTimeoutMs: options.busyTimeoutMs }),
    ...(pageCacheMb !== undefined && { pageCacheMb }),
  });
  try {
    const engine = new ProjectionEngine(readModels, projections, {
      mode: options.mode ?? 'serve',
      ...(options.logger && { logger: options.logger }),
      ...(options.cacheCapacity !== undefined && { cacheCapacity: options.cacheCapacity }),
    });
    await engine.plan();
    const runner = runProjections({
      store: options.store,
      engine,
      logger: options.logger ?? silentLogger,
      batchSize: options.batchSize ?? (rebuilding ? REBUILD_BATCH : 1_000),
      ...(options.lingerMs !== undefined && { lingerMs: options.lingerMs }),
      ...(options.afterBatch && { afterBatch: options.afterBatch }),
    });
    const status = () => projectionStatus(projections, readModels, options.store, engine.blocked);
    // Another server's runner may be the one moving the checkpoints: its commits wake the waits too.
    const watcher = readModels.watchCheckpoints?.(() => runner.advanced.notify());
    let closing: Promise<void> | undefined;
    return {
      readModels,
      engine,
      runner,
      queries: new ReadModelQueries(readModels),
      waitForPosition: createPositionWaiter(readModels, runner.advanced, {
        maxWaiting: options.maxWaitingReads,
        ...(options.waitPollIntervalMs !== undefined && { pollIntervalMs: options.waitPollIntervalMs }),
      }),
      status,
      readiness: async () => readinessOf(await status()),
      close: () =>
        (closing ??= (async () => {
          await runner.stop();
          await watcher?.close();
          await readModels.close();
        })()),
    };
  } catch (error) {
    await readModels.close();
    throw error;
  }
}
