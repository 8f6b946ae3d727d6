/**
 * The exactly-once step, independent of where events come from (the live store for the runner,
 * any iterable for a scratch rebuild): for each lane, apply the batch's events above its
 * checkpoint, then compare-and-set the checkpoint and write the documents in one transaction.
 */
import Database from 'better-sqlite3';
import type { Projection } from '../../projections/projection.ts';
import type { LedgerEvent } from '../events/codec.ts';
import { Checkpoints, type ProjectionFailure } from './checkpoints.ts';
import { createIndexes, dropIndexes, type ReadModelDatabase } from './database.ts';
import { BatchDocuments, DocumentCache, DocumentTable } from './documents.ts';
import type { FedEvent } from './feed.ts';
import { planLanes, type Lane, type LaneMode } from './lanes.ts';

/** The subset of pino the runner logs through. */
export interface ProjectionLogger {
  info(obj: object, msg: string): void;
  warn(obj: object, msg: string): void;
  error(obj: object, msg: string): void;
}

export const silentLogger: ProjectionLogger = { info() {}, warn() {}, error() {} };

/** Serve: keep the active generations live, build new ones on a version change. Rebuild: build new ones only. */
export type EngineMode = 'serve' | 'rebuild';

export interface EngineOptions {
  readonly mode?: EngineMode;
  readonly logger?: ProjectionLogger;
  /** Documents each lane keeps between batches (default 20 000): bounds memory, saves re-reading hot documents. */
  readonly cacheCapacity?: number;
}

/** Thrown inside a lane's savepoint when its checkpoint is not where this process last left it. */
class CheckpointMoved extends Error {}

export class ProjectionEngine {
  readonly checkpoints: Checkpoints;
  readonly documents: DocumentTable;
  /** Every event type some lane handles: only those are decoded. */
  readonly handledTypes: ReadonlySet<string>;
  private lanesNow: Lane[] = [];
  private blockedNow = new Map<string, string>();
  /** Failures outlive re-planning: a failed lane stays stopped until the process restarts. */
  private readonly failures = new Map<string, ProjectionFailure>();
  private readonly caches = new Map<string, DocumentCache>();
  private readonly cacheCapacity: number;
  private readonly db: Database.Database;
  private readonly mode: EngineMode;
  private readonly logger: ProjectionLogger;

  constructor(
    readModels: ReadModelDatabase,
    readonly projections: readonly Projection[],
    options: EngineOptions = {},
  ) {
    this.db = readModels.db;
    this.checkpoints = new Checkpoints(this.db);
    this.documents = new DocumentTable(this.db);
    this.handledTypes = new Set(projections.flatMap((p) => p.handles));
    this.mode = options.mode ?? 'serve';
    this.logger = options.logger ?? silentLogger;
    this.cacheCapacity = options.cacheCapacity ?? 20_000;
  }

  /** Builds generations only (the CLI, scratch rebuilds): done once none is left to build. */
  get rebuildOnly(): boolean {
    return this.mode !== 'serve';
  }

  get lanes(): readonly Lane[] {
    return this.lanesNow;
  }

  get blocked(): ReadonlyMap<string, string> {
    return this.blockedNow;
  }

  /** Reads the checkpoints and decides which lanes run: once, before the first batch. A rebuild starts here. */
  plan(): void {
    this.planLanes(this.mode);
  }

  /**
   * Re-reads checkpoints after a lost compare-and-set or a swap. A rebuild only finishes the
   * generations it started (starting more here would start another after every swap).
   */
  private replan(): void {
    this.planLanes(this.mode === 'rebuild' ? 'finish-rebuild' : 'serve');
  }

  private planLanes(mode: LaneMode): void {
    this.db
      .transaction(() => {
        const lanes: Lane[] = [];
        const blocked = new Map<string, string>();
        for (const projection of this.projections) {
          const plan = planLanes(this.checkpoints, projection, mode);
          if (plan.blocked) blocked.set(projection.name, plan.blocked);
          lanes.push(...plan.lanes);
        }
        for (const lane of lanes) {
          lane.failure = this.failures.get(laneId(lane));
          // Served generations from before a change of index layout get theirs here (a no-op otherwise).
          if (lane.role === 'active') createIndexes(this.db, lane.projection, lane.generation);
        }
        // Positions were re-read: what a cache knew may be stale (another runner, a swap).
        this.caches.clear();
        this.lanesNow = lanes;
        this.blockedNow = blocked;
      })
      .immediate();
  }

  /** Lanes that still take events. */
  running(): Lane[] {
    return this.lanesNow.filter((lane) => lane.failure === undefined);
  }

  /** Where the feed must start so that no running lane misses an event: the lowest checkpoint. */
  feedStart(): { readonly after: bigint | undefined } | undefined {
    const lanes = this.running();
    if (lanes.length === 0) return undefined;
    let after: bigint | undefined = lanes[0]!.position;
    for (const lane of lanes) {
      if (lane.position === undefined || after === undefined) after = undefined;
      else if (lane.position < after) after = lane.position;
    }
    return { after };
  }

  /**
   * Applies one batch to every running lane: prepare (handlers), then commit. Returns 'moved'
   * when some lane's checkpoint had been moved by another runner: that lane's part was rolled
   * back, lanes were re-planned, and the caller must feed again from feedStart().
   */
  apply(batch: readonly FedEvent[]): Committed {
    return this.commit(this.prepare(batch));
  }

  /** The handlers' side of a batch, outside the write lock (document reads only). */
  prepare(batch: readonly FedEvent[]): PreparedBatch {
    const passes =
      batch.length === 0
        ? []
        : this.db.transaction(() => this.running().map((lane) => this.runLane(lane, batch))).deferred();
    return { batch, passes };
  }

  /** One write transaction that compare-and-sets each lane's checkpoint and writes its documents. */
  commit(prepared: PreparedBatch): Committed {
    if (prepared.passes.length === 0) return 'applied';
    this.db.exec('BEGIN IMMEDIATE');
    return this.writeLocked(prepared);
  }

  /**
   * The same write, except that a write lock held elsewhere (another process's store or runner)
   * answers 'busy' at once instead of a synchronous wait on this thread; the batch can be committed later.
   */
  tryCommit(prepared: PreparedBatch): Committed | 'busy' {
    if (prepared.passes.length === 0) return 'applied';
    if (!this.lockWithoutWaiting()) return 'busy';
    return this.writeLocked(prepared);
  }

  /**
   * BEGIN IMMEDIATE, failing at once if another connection holds the write lock. SQLite waits for
   * a lock as long as the connection's busy timeout and has no bound per statement, so the timeout
   * is 0 for this one statement.
   */
  private lockWithoutWaiting(): boolean {
    const usual = this.db.pragma('busy_timeout', { simple: true }) as number;
    this.db.pragma('busy_timeout = 0');
    try {
      this.db.exec('BEGIN IMMEDIATE');
      return true;
    } catch (error) {
      if (isBusy(error)) return false;
      throw error;
    } finally {
      this.db.pragma(`busy_timeout = ${usual}`);
    }
  }

  /** The batch's writes under the lock BEGIN IMMEDIATE took: a savepoint per lane, COMMIT (ROLLBACK on error). */
  private writeLocked({ batch, passes }: PreparedBatch): Committed {
    const results: Array<{ lane: Lane; to: bigint | undefined; failure: ProjectionFailure | undefined }> = [];
    let moved = false;
    try {
      for (const pass of passes) {
        try {
          results.push({ lane: pass.lane, ...this.commitLane(pass, batch) });
        } catch (error) {
          if (!(error instanceof CheckpointMoved)) throw error;
          this.cacheOf(pass.lane).clear();
          moved = true;
        }
      }
      this.db.exec('COMMIT');
    } catch (error) {
      if (this.db.inTransaction) this.db.exec('ROLLBACK');
      // Rolled back: what the caches learned in this batch was never committed.
      for (const pass of passes) this.cacheOf(pass.lane).clear();
      throw error;
    }
    // Only after the commit: a rolled-back transaction must leave the in-memory positions alone.
    for (const { lane, to, failure } of results) {
      if (to !== undefined) lane.position = to;
      if (failure) this.recordFailure(lane, failure);
    }
    if (moved) this.replan();
    return moved ? 'moved' : 'applied';
  }

  /**
   * Swaps in every building lane that has applied everything the feed has seen, once the feed
   * has reached the head of the log. Returns the names of the projections swapped.
   */
  promote(feedPosition: bigint | undefined): string[] {
    const swapped: string[] = [];
    for (const lane of this.running()) {
      if (lane.role !== 'building' || !reached(lane.position, feedPosition)) continue;
      // Indexes and swap in one transaction: readers never see a served generation without its indexes.
      const promoted = this.db
        .transaction(() => {
          createIndexes(this.db, lane.projection, lane.generation);
          return this.checkpoints.promote(lane.projection.name, lane.generation);
        })
        .immediate();
      if (promoted) {
        swapped.push(lane.projection.name);
        this.logger.info(
          {
            projection: lane.projection.name,
            version: lane.projection.version,
            generation: lane.generation,
            position: lane.position?.toString(),
          },
          'projection rebuilt; now serving the new generation',
        );
      }
    }
    if (swapped.length > 0) this.replan();
    return swapped;
  }

  /** Deletes up to `limit` documents of retired generations, a short transaction at a time; true when any remain. */
  purgeRetired(limit: number): boolean {
    for (const row of this.checkpoints.all()) {
      if (row.status !== 'retired') continue;
      const removed = this.db
        .transaction(() => {
          // Indexes first: then deleting the documents does not have to maintain them.
          dropIndexes(this.db, row.projection, row.generation);
          const count = this.documents.purge(row.projection, row.generation, limit);
          if (count < limit) this.checkpoints.remove(row.projection, row.generation);
          return count;
        })
        .immediate();
      if (removed >= limit) return true;
    }
    return false;
  }

  /** The handlers' side of a batch for one lane: pure work plus document reads. */
  private runLane(lane: Lane, batch: readonly FedEvent[]): LanePass {
    const pass = this.runHandlers(lane, batch, Infinity);
    if (!pass.failure) return pass;
    // Replay up to the failing event on a clean slate (cache included), so a handler that changed
    // a document in place before throwing cannot leak that half-change into what is committed.
    this.cacheOf(lane).clear();
    return { ...this.runHandlers(lane, batch, pass.applied), failure: pass.failure };
  }

  /** The write side, inside the batch's transaction: a savepoint per lane, so a lost compare-and-set rolls back this lane only. */
  private commitLane(
    pass: LanePass,
    batch: readonly FedEvent[],
  ): { to: bigint | undefined; failure: ProjectionFailure | undefined } {
    const { lane, docs, to, failure } = pass;
    if (to === lane.position && !failure) return { to: undefined, failure };
    try {
      this.db.transaction(() => {
        if (
          to !== lane.position &&
          !this.checkpoints.advance(lane.projection.name, lane.generation, lane.position, to!)
        ) {
          throw new CheckpointMoved();
        }
        docs.flush();
        if (failure) this.checkpoints.fail(lane.projection.name, lane.generation, failure);
      })();
    } catch (error) {
      if (error instanceof CheckpointMoved || error instanceof Database.SqliteError) throw error;
      this.cacheOf(lane).clear();
      // A document the handlers built but JSON cannot hold (a bigint, a cycle): the projection's bug, not the batch's.
      const first = batch.find((fed) => lane.position === undefined || fed.position > lane.position)!;
      const unstorable = {
        streamId: first.streamId,
        revision: first.revision,
        position: first.position,
        message: `documents cannot be stored: ${messageOf(error)}`,
      };
      this.db.transaction(() => this.checkpoints.fail(lane.projection.name, lane.generation, unstorable))();
      return { to: undefined, failure: unstorable };
    }
    return { to: to === lane.position ? undefined : to, failure };
  }

  /** Runs the lane's handlers over the batch's new events, stopping at the first that throws or after `limit` events. */
  private runHandlers(lane: Lane, batch: readonly FedEvent[], limit: number): LanePass {
    const docs = new BatchDocuments(this.documents, lane.projection.name, lane.generation, this.cacheOf(lane));
    let to = lane.position;
    let applied = 0;
    let failure: ProjectionFailure | undefined;
    for (const fed of batch) {
      if (applied >= limit) break;
      if (to !== undefined && fed.position <= to) continue;
      if (fed.type === undefined || lane.handles.has(fed.type)) {
        try {
          docs.applyEvent(lane.projection.apply(eventOf(fed), docs));
        } catch (error) {
          if (error instanceof Database.SqliteError) throw error;
          failure = {
            streamId: fed.streamId,
            revision: fed.revision,
            position: fed.position,
            message: messageOf(error),
          };
          break;
        }
      }
      to = fed.position;
      applied += 1;
    }
    return { lane, docs, to, applied, failure };
  }

  private cacheOf(lane: Lane): DocumentCache {
    const id = laneId(lane);
    let cache = this.caches.get(id);
    if (!cache) {
      cache = new DocumentCache(this.cacheCapacity);
      this.caches.set(id, cache);
    }
    return cache;
  }

  private recordFailure(lane: Lane, failure: ProjectionFailure): void {
    lane.failure = failure;
    this.failures.set(laneId(lane), failure);
    // `alert` is the stable field to match on: the message may be reworded, the field will not.
    this.logger.error(
      {
        alert: 'projection-failed',
        projection: lane.projection.name,
        version: lane.projection.version,
        generation: lane.generation,
        streamId: failure.streamId,
        revision: failure.revision.toString(),
        position: failure.position.toString(),
        err: failure.message,
      },
      'projection handler failed; the projection is stopped at this event, its reads answer 503, the others continue',
    );
  }
}

/** 'moved': some lane's checkpoint had been moved by another runner; its part was rolled back and lanes re-planned. */
export type Committed = 'applied' | 'moved';

/** A batch whose handlers have run, waiting for its write transaction. */
export interface PreparedBatch {
  readonly batch: readonly FedEvent[];
  readonly passes: readonly LanePass[];
}

interface LanePass {
  readonly lane: Lane;
  readonly docs: BatchDocuments;
  readonly to: bigint | undefined;
  readonly applied: number;
  readonly failure: ProjectionFailure | undefined;
}

/** The event a lane's handlers take; a record that could not be decoded is the lane's failure, by its error. */
function eventOf(fed: FedEvent): LedgerEvent {
  if (fed.kind === 'decoded') return fed.event;
  throw fed.kind === 'undecodable' ? fed.error : new Error(`${fed.type} was not decoded`);
}

const laneId = (lane: Lane): string => `${lane.projection.name}#${lane.generation}`;

function reached(lane: bigint | undefined, feed: bigint | undefined): boolean {
  if (feed === undefined) return true;
  return lane !== undefined && lane >= feed;
}

const isBusy = (error: unknown): boolean =>
  error instanceof Database.SqliteError && error.code.startsWith('SQLITE_BUSY');

function messageOf(error: unknown): string {
  return error instanceof Error ? `${error.name}: ${error.message}` : String(error);
}
