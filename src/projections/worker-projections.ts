/**
 * The server's projections: the runner on a worker thread (worker-job.ts), the reads here. This
 * thread opens the read models by a connection of its own (WAL: it sees each batch once the
 * worker commits it) for queries, checkpoints and status; the worker's message after each batch
 * wakes the reads that wait for a position, and this thread's commits wake the worker.
 */
import { projections as allProjections } from '../../projections/index.ts';
import { startBackgroundJob } from '../background/host.ts';
import { moduleBeside } from '../background/thread.ts';
import { CommitSignal } from '../commit-signal.ts';
import type { EventStore } from '../eventstore/port.ts';
import type { SqliteStoreOptions } from '../eventstore/sqlite-store.ts';
import type { StoreLocation } from '../eventstore/store-url.ts';
import { openReadModels } from './open-read-models.ts';
import type { ReadModelLocation, ReadModelStore } from './read-model-store.ts';
import type { ProjectionLogger } from './engine.ts';
import { blockedBy } from './lanes.ts';
import { ReadModelQueries } from './queries.ts';
import type { ProjectionReads } from './service.ts';
import { projectionStatus, readinessOf } from './status.ts';
import { createPositionWaiter } from './wait.ts';
import type { ProjectionJobData, ProjectionJobIn, ProjectionJobOut } from './worker-job.ts';

export interface WorkerProjectionsOptions {
  /** This thread's store: head and lag for the status. The worker opens `location` itself. */
  readonly store: EventStore;
  readonly location: StoreLocation;
  readonly sqlite?: SqliteStoreOptions;
  /** A file path or a PostgreSQL database: both threads open it. */
  readonly readModels: ReadModelLocation;
  readonly logger: ProjectionLogger;
  readonly maxWaitingReads?: number;
  /** See BackgroundJobOptions: crashes tolerated within a window before the runner is given up on. */
  readonly maxRestarts?: number;
  readonly restartWindowMs?: number;
  readonly restartDelayMs?: number;
  readonly stopTimeoutMs?: number;
  /** How often the worker's feed polls for commits of other processes (default 100 ms). */
  readonly pollIntervalMs?: number;
  /** The worker thread's entry module (default projection-worker.ts); tests wrap it to make it crash. */
  readonly module?: URL;
}

export interface WorkerProjections extends ProjectionReads {
  /** This thread's own connection to the read models (reads, status, the payment checkpoint). */
  readonly readModels: ReadModelStore;
  /** Call after this thread committed to the store: the worker reads the log at once instead of at its next poll. */
  committed(): void;
}

const WORKER_MODULE = moduleBeside(import.meta.url, 'projection-worker');

export async function startProjectionsInWorker(options: WorkerProjectionsOptions): Promise<WorkerProjections> {
  if (options.readModels === ':memory:') throw new Error('a worker cannot share an in-memory read-model database');
  const advanced = new CommitSignal();
  const data: ProjectionJobData = {
    store: options.location,
    sqlite: options.sqlite ?? {},
    readModels: options.readModels,
    pollIntervalMs: options.pollIntervalMs ?? 100,
  };
  const job = await startBackgroundJob<ProjectionJobIn, ProjectionJobOut>({
    name: 'projections',
    module: options.module ?? WORKER_MODULE,
    data,
    logger: options.logger,
    onMessage: () => advanced.notify(),
    // A restarted runner resumes from its checkpoints: waiting reads may be reached already.
    onReady: () => advanced.notify(),
    ...(options.maxRestarts !== undefined && { maxRestarts: options.maxRestarts }),
    ...(options.restartWindowMs !== undefined && { restartWindowMs: options.restartWindowMs }),
    ...(options.restartDelayMs !== undefined && { restartDelayMs: options.restartDelayMs }),
    ...(options.stopTimeoutMs !== undefined && { stopTimeoutMs: options.stopTimeoutMs }),
  });
  // Opened after the worker started: its start created the tables and planned the generations.
  let readModels: ReadModelStore;
  try {
    readModels = await openReadModels(options.readModels);
  } catch (error) {
    await job.stop();
    throw error;
  }
  // Another server's runner may be the one moving the checkpoints: its commits wake the waits too.
  const watcher = readModels.watchCheckpoints?.(() => advanced.notify());
  const projections = allProjections;
  const status = async () => {
    const rows = await readModels.generations();
    const blocked = new Map<string, string>();
    for (const projection of projections) {
      const reason = blockedBy(
        rows.filter((row) => row.projection === projection.name),
        projection,
      );
      if (reason) blocked.set(projection.name, reason);
    }
    return projectionStatus(projections, readModels, options.store, blocked);
  };
  let wakeQueued = false;
  let closing: Promise<void> | undefined;
  return {
    readModels,
    queries: new ReadModelQueries(readModels),
    waitForPosition: createPositionWaiter(readModels, advanced, { maxWaiting: options.maxWaitingReads }),
    status,
    async readiness() {
      const projectionsReady = readinessOf(await status());
      if (job.state !== 'failed') return projectionsReady;
      // The runner is gone for good: reads would wait for ever, so the instance is not ready.
      const detail = `the projection runner crashed ${job.crashes} times and was not restarted: ${job.lastCrash}`;
      return { name: 'projections', ok: false, detail, ownDataDetail: 'the projection runner is stopped' };
    },
    committed() {
      // One message per turn of the event loop, however many appends it committed.
      if (wakeQueued) return;
      wakeQueued = true;
      setImmediate(() => {
        wakeQueued = false;
        job.post({ kind: 'committed' });
      });
    },
    close: () =>
      (closing ??= (async () => {
        try {
          await job.stop();
        } finally {
          await watcher?.close();
          await readModels.close();
        }
      })()),
  };
}
