/**
 * The projection runner as a background job (src/background): on its own thread, with its own
 * store connection and its own read-model connection, so catching up and applying batches never
 * holds the event loop that serves HTTP. It tells the main thread after every batch (which then
 * re-reads checkpoints for the reads waiting on a position) and is woken by the main thread's
 * commits instead of waiting for its poll.
 */
import type { JobContext, RunningJob } from '../background/job.ts';
import { CommitSignal } from '../commit-signal.ts';
import { decorateStore } from '../eventstore/instrumented-store.ts';
import { openStore } from '../eventstore/open-store.ts';
import { pollingSubscription } from '../eventstore/polling-subscription.ts';
import type { SqliteStoreOptions } from '../eventstore/sqlite-store.ts';
import type { StoreLocation } from '../eventstore/store-url.ts';
import type { ReadModelLocation } from './read-model-store.ts';
import { type Projections, startProjections } from './service.ts';

export interface ProjectionJobData {
  readonly store: StoreLocation;
  readonly sqlite: SqliteStoreOptions;
  /** Read-model database: a path (never ':memory:': that one would be this thread's alone) or PostgreSQL. */
  readonly readModels: ReadModelLocation;
  /** How often the feed looks for commits it was not told about (another process's). */
  readonly pollIntervalMs: number;
}

/** Main → job: something was committed on the main thread. */
export type ProjectionJobIn = { readonly kind: 'committed' };
/** Job → main: a batch was committed (checkpoints moved). */
export type ProjectionJobOut = { readonly kind: 'advanced' };

/** The job's start, for projection-worker.ts (the thread's entry) and tests that wrap it. */
export async function startProjectionJob({
  data,
  logger,
  post,
  onMessage,
}: JobContext<ProjectionJobIn, ProjectionJobOut>): Promise<RunningJob> {
  const options = data as ProjectionJobData;
  const opened = await openStore(options.store, options.sqlite);
  const committed = new CommitSignal();
  // Local stores only learn of commits through a poll; the main thread's own commits wake it at once.
  // The network stores tell their subscribers themselves.
  const store =
    options.store.kind === 'esdb' || options.store.kind === 'postgres'
      ? opened
      : decorateStore(opened, {
          subscribe: (subscription) =>
            pollingSubscription(opened, subscription, committed.wait, options.pollIntervalMs),
        });
  onMessage(() => committed.notify());
  let projections: Projections;
  try {
    projections = await startProjections({
      store,
      readModels: options.readModels,
      logger,
      afterBatch: () => post({ kind: 'advanced' }),
    });
  } catch (error) {
    await opened.close();
    throw error;
  }
  return {
    async stop() {
      await projections.close();
      await opened.close();
    },
  };
}
