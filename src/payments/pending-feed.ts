/**
 * Follows the global log into PendingRequests, the way the projection runner does: catch up in
 * pages from the checkpoint, then follow live batches; after a store fault, resume where it got
 * to. Now and then it saves the low-water mark (see processor-checkpoint.ts), so a restart reads
 * only the part of the log that can still hold a pending request.
 */
import { CommitSignal } from '../commit-signal.ts';
import { decodeEvent } from '../events/codec.ts';
import { CorruptEventError } from '../eventstore/errors.ts';
import type { LogEntry } from '../eventstore/log-entries.ts';
import type { EventStore } from '../eventstore/port.ts';
import { catchUpPage, liveBatches, liveEntries } from '../projections/feed.ts';
import type { ProjectionLogger } from '../projections/engine.ts';
import type { ProcessorCheckpoint } from './processor-checkpoint.ts';
import { PAYMENT_EVENT_TYPES, PendingRequests } from './pending-requests.ts';

export interface PendingFeedOptions {
  readonly store: EventStore;
  readonly checkpoint: ProcessorCheckpoint;
  readonly logger: ProjectionLogger;
  readonly batchSize?: number;
  /** How often the low-water mark is saved at most (default 1 s). */
  readonly checkpointEveryMs?: number;
  readonly retryDelayMs?: number;
}

export interface PendingFeed {
  readonly requests: PendingRequests;
  /** Woken after every batch the feed applied. */
  readonly advanced: CommitSignal;
  /** Resolves once the feed has reached the head of the log for the first time. */
  readonly caughtUp: Promise<void>;
  readonly isCaughtUp: boolean;
  stop(): Promise<void>;
}

export function followPendingRequests(options: PendingFeedOptions): PendingFeed {
  const { store, checkpoint, logger } = options;
  const batchSize = options.batchSize ?? 1_000;
  const every = options.checkpointEveryMs ?? 1_000;
  const requests = new PendingRequests();
  const advanced = new CommitSignal();
  const controller = new AbortController();
  const signal = controller.signal;
  let savedAt = 0;
  let isCaughtUp = false;
  let reachHead: () => void = () => {};
  const caughtUp = new Promise<void>((resolve) => {
    reachHead = resolve;
  });

  function applyAll(entries: readonly LogEntry[]): void {
    for (const entry of entries) {
      if (entry instanceof CorruptEventError) {
        // The audit reports it; here it can only be passed over.
        logger.warn({ streamId: entry.streamId, position: String(entry.position) }, 'payment feed: unreadable record');
        requests.advance(entry.position);
        continue;
      }
      if (!PAYMENT_EVENT_TYPES.has(entry.type)) {
        requests.advance(entry.position);
        continue;
      }
      try {
        requests.apply(decodeEvent(entry));
      } catch (error) {
        const where = { streamId: entry.streamId, position: String(entry.position), err: error };
        logger.warn(where, 'payment feed: a payment event fails its schema; the audit lists it');
        requests.advance(entry.position);
      }
    }
    advanced.notify();
    void saveCheckpoint(false);
  }

  /** Resolves once saved (or given up on): a busy database costs only a longer catch-up on the next start. */
  function saveCheckpoint(force: boolean): Promise<void> {
    const now = Date.now();
    if (!force && now - savedAt < every) return Promise.resolve();
    const mark = requests.lowWaterMark();
    if (mark === undefined) return Promise.resolve();
    savedAt = now;
    return (async () => checkpoint.advance(mark))().then(
      () => {},
      (error: unknown) => {
        savedAt = 0;
        logger.warn({ err: error }, 'payment feed: could not save its checkpoint; will retry');
      },
    );
  }

  /** Where to start: the saved mark, or the beginning of the log when it cannot be read (slower, as safe). */
  async function readCheckpoint(): Promise<bigint | undefined> {
    try {
      return await checkpoint.read();
    } catch (error) {
      logger.warn({ err: error }, 'payment feed: could not read its checkpoint; reading the log from its start');
      return undefined;
    }
  }

  function atHead(): void {
    if (isCaughtUp) return;
    isCaughtUp = true;
    reachHead();
  }

  async function follow(): Promise<void> {
    for (;;) {
      const entries = await catchUpPage(store, requests.position, batchSize);
      if (signal.aborted) return;
      applyAll(entries);
      if (entries.length < batchSize) break;
    }
    atHead();
    for await (const batch of liveBatches(liveEntries(store, requests.position, signal), batchSize)) {
      if (signal.aborted) return;
      applyAll(batch.events);
      if (batch.caughtUp && batch.idle) atHead();
    }
  }

  async function loop(): Promise<void> {
    const start = await readCheckpoint();
    if (start !== undefined) requests.advance(start);
    let delay = options.retryDelayMs ?? 100;
    while (!signal.aborted) {
      try {
        await follow();
        delay = options.retryDelayMs ?? 100;
      } catch (error) {
        if (signal.aborted) return;
        logger.warn({ err: error, retryInMs: delay }, 'payment feed interrupted by a store fault; retrying');
        await new Promise((resolve) => setTimeout(resolve, delay));
        delay = Math.min(delay * 2, 5_000);
      }
    }
  }

  const done = loop();
  return {
    requests,
    advanced,
    caughtUp,
    get isCaughtUp() {
      return isCaughtUp;
    },
    async stop() {
      controller.abort();
      await done;
      await saveCheckpoint(true);
    },
  };
}
