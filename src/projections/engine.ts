/**
 * The exactly-once step, independent of where events come from (the live store for the runner,
 * any iterable for a scratch rebuild) and of where the read models are kept (read-model-store.ts):
 * for each lane, apply the batch's events above its checkpoint, then compare-and-set the
 * checkpoint and write the documents in one transaction.
 */
import Database from 'better-sqlite3';
import type { Projection } from '../../projections/projection.ts';
import type { LedgerEvent } from '../events/codec.ts';
import type { ProjectionFailure } from './checkpoints.ts';
import { BatchDocuments, DocumentCache, deepFreeze, type SerialisedChanges, type Slot, slotOf } from './documents.ts';
import type { FedEvent } from './feed.ts';
import { decideGenerations, type Lane, type LaneMode, lanesOf } from './lanes.ts';
import type { DocumentId, LaneWrite, ReadModelStore } from './read-model-store.ts';

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

const NEVER = new AbortController().signal;

export class ProjectionEngine {
  /** Every event type some lane handles: only those are decoded. */
  readonly handledTypes: ReadonlySet<string>;
  private lanesNow: Lane[] = [];
  private blockedNow = new Map<string, string>();
  /** Failures outlive re-planning: a failed lane stays stopped until the process restarts. */
  private readonly failures = new Map<string, ProjectionFailure>();
  private readonly caches = new Map<string, DocumentCache>();
  private readonly cacheCapacity: number;
  private readonly mode: EngineMode;
  private readonly logger: ProjectionLogger;

  constructor(
    readonly store: ReadModelStore,
    readonly projections: readonly Projection[],
    options: EngineOptions = {},
  ) {
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
  plan(): Promise<void> {
    return this.planLanes(this.mode);
  }

  /**
   * Re-reads checkpoints after a lost compare-and-set or a swap (or a runner lease taken over). A
   * rebuild only finishes the generations it started (starting more here would start another after every swap).
   */
  replan(): Promise<void> {
    return this.planLanes(this.mode === 'rebuild' ? 'finish-rebuild' : 'serve');
  }

  private async planLanes(mode: LaneMode): Promise<void> {
    const planned = await this.store.planGenerations(this.projections, (projection, rows) =>
      decideGenerations(rows, projection, mode),
    );
    const lanes: Lane[] = [];
    const blocked = new Map<string, string>();
    planned.forEach(({ plan, created }, i) => {
      const projection = this.projections[i]!;
      const laneplan = lanesOf(projection, plan, created);
      if (laneplan.blocked) blocked.set(projection.name, laneplan.blocked);
      lanes.push(...laneplan.lanes);
    });
    for (const lane of lanes) lane.failure = this.failures.get(laneId(lane));
    // Positions were re-read: what a cache knew may be stale (another runner, a swap).
    this.caches.clear();
    this.lanesNow = lanes;
    this.blockedNow = blocked;
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
   * when some lane's checkpoint had been moved by another runner: that lane's part was not
   * written, lanes were re-planned, and the caller must feed again from feedStart().
   */
  async apply(batch: readonly FedEvent[], signal: AbortSignal = NEVER): Promise<Committed> {
    return this.commit(await this.prepare(batch), signal);
  }

  /** The handlers' side of a batch, before its write transaction (document reads only). */
  async prepare(batch: readonly FedEvent[]): Promise<PreparedBatch> {
    // Lanes share nothing but the storage: where it reads over the network, their reads overlap.
    const passes = batch.length === 0 ? [] : await Promise.all(this.running().map((lane) => this.runLane(lane, batch)));
    return { batch, passes };
  }

  /** One write transaction that compare-and-sets each lane's checkpoint and writes its documents. */
  async commit(prepared: PreparedBatch, signal: AbortSignal = NEVER): Promise<Committed> {
    const writing = prepared.passes.filter((pass) => pass.write !== undefined);
    if (writing.length === 0) return 'applied';
    let held: boolean[];
    try {
      held = await this.store.commitBatch(
        writing.map((pass) => pass.write!),
        signal,
      );
    } catch (error) {
      // Nothing was committed: what the caches learned in this batch may never be.
      for (const pass of prepared.passes) this.cacheOf(pass.lane).clear();
      throw error;
    }
    let moved = false;
    writing.forEach((pass, i) => {
      const write = pass.write!;
      if (!held[i]) {
        this.cacheOf(pass.lane).clear();
        moved = true;
        return;
      }
      // Only after the commit: a transaction that failed must leave the in-memory state alone.
      if (pass.keep) pass.docs.keep();
      else this.cacheOf(pass.lane).clear();
      if (write.to !== undefined) pass.lane.position = write.to;
      if (write.failure) this.recordFailure(pass.lane, write.failure);
    });
    if (moved) await this.replan();
    return moved ? 'moved' : 'applied';
  }

  /**
   * Swaps in every building lane that has applied everything the feed has seen, once the feed
   * has reached the head of the log. Returns the names of the projections swapped.
   */
  async promote(feedPosition: bigint | undefined): Promise<string[]> {
    const swapped: string[] = [];
    for (const lane of this.running()) {
      if (lane.role !== 'building' || !reached(lane.position, feedPosition)) continue;
      if (await this.store.promote(lane.projection, lane.generation)) {
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
    if (swapped.length > 0) await this.replan();
    return swapped;
  }

  /** Deletes up to `limit` documents of retired generations, a short transaction at a time; true when any remain. */
  purgeRetired(limit: number): Promise<boolean> {
    return this.store.purgeRetired(limit);
  }

  /** The handlers' side of a batch for one lane: pure work plus document reads. */
  private async runLane(lane: Lane, batch: readonly FedEvent[]): Promise<LanePass> {
    const loaded = new Map<string, Slot>();
    let pass = await this.runWithDocuments(lane, batch, Infinity, loaded);
    if (pass.failure) {
      // Replay up to the failing event on a clean slate (cache included), so a handler that changed
      // a document in place before throwing cannot leak that half-change into what is committed.
      this.clearSlate(lane, loaded);
      pass = { ...(await this.runWithDocuments(lane, batch, pass.applied, loaded)), failure: pass.failure };
    }
    let stored = this.stored(pass.docs);
    if (typeof stored === 'string') {
      // A document the handlers built but JSON, or the storage, cannot hold (a bigint, a cycle, a
      // NUL): a finding at the event that made it, not a fault to retry. One pass checking each
      // event's own documents finds it; a second, up to it, gives what the events before it commit.
      this.clearSlate(lane, loaded);
      const search = await this.runWithDocuments(lane, batch, pass.applied, loaded, (docs) =>
        this.stored(docs, docs.lastEvent),
      );
      if (search.refused) {
        const { event, why } = search.refused;
        this.clearSlate(lane, loaded);
        const before = await this.runWithDocuments(lane, batch, search.applied, loaded);
        const { streamId, revision, position } = event;
        pass = { ...before, failure: { streamId, revision, position, message: `documents cannot be stored: ${why}` } };
        stored = this.stored(pass.docs);
      }
    }
    const { docs, to, failure } = pass;
    if (typeof stored === 'string') {
      // Not found again event by event (a handler that is not pure): stop at the batch's first new event.
      const first = batch.find((fed) => lane.position === undefined || fed.position > lane.position)!;
      const { streamId, revision, position } = first;
      const refused = { streamId, revision, position, message: `documents cannot be stored: ${stored}` };
      const write = { ...this.laneAt(lane), to: undefined, puts: [], deletes: [], failure: refused };
      return { lane, docs, keep: false, write };
    }
    if (to === lane.position && !failure) return { lane, docs, keep: true, write: undefined };
    return {
      lane,
      docs,
      keep: true,
      write: { ...this.laneAt(lane), to: to === lane.position ? undefined : to, ...stored, failure },
    };
  }

  private laneAt(lane: Lane): Pick<LaneWrite, 'projection' | 'generation' | 'from'> {
    return { projection: lane.projection.name, generation: lane.generation, from: lane.position };
  }

  private clearSlate(lane: Lane, loaded: Map<string, Slot>): void {
    this.cacheOf(lane).clear();
    loaded.clear();
  }

  /** The documents' changes (all, or those of `ids`) as the storage writes them, or why it cannot. */
  private stored(docs: BatchDocuments, ids?: readonly string[]): SerialisedChanges | string {
    try {
      const changes = docs.serialise(ids);
      const refuse = this.store.unstorable;
      if (!refuse) return changes;
      // A delete sends its key too: a key the storage cannot hold must not reach it either way.
      for (const document of [...changes.puts, ...changes.deletes.map((id) => ({ ...id, json: 'null' }))]) {
        const why = refuse(document);
        if (why !== undefined) return `${document.collection} ${JSON.stringify(document.key)}: ${why}`;
      }
      return changes;
    } catch (error) {
      return messageOf(error);
    }
  }

  /** Runs the handlers until a pass finds every document it reads at hand, reading what the last pass missed. */
  private async runWithDocuments(
    lane: Lane,
    batch: readonly FedEvent[],
    limit: number,
    loaded: Map<string, Slot>,
    check?: EventCheck,
  ): Promise<HandlerPass> {
    const committed = this.cacheOf(lane);
    const readNow = this.store.documentNow;
    const slots = {
      committed,
      loaded,
      ...(readNow && {
        readNow: (id: DocumentId) => readNow(lane.projection.name, lane.generation, id),
      }),
    };
    for (;;) {
      const docs = new BatchDocuments(slots);
      const run = () => this.runHandlers(lane, batch, limit, docs, check);
      const pass = this.store.readingNow ? this.store.readingNow(run) : run();
      if (pass.docs.missing.size === 0) return pass;
      const wanted = [...pass.docs.missing.values()];
      const found = await this.store.readDocuments(lane.projection.name, lane.generation, wanted);
      for (const [id] of pass.docs.missing) {
        const slot = slotOf(deepFreeze(found.get(id)));
        loaded.set(id, slot);
        committed.set(id, slot);
      }
    }
  }

  /**
   * Runs the lane's handlers over the batch's new events, stopping at the first that throws or
   * after `limit` events. Once a document was missed the pass is only a search for what to read:
   * a handler that throws then may have been given too little, so the pass goes on.
   */
  private runHandlers(
    lane: Lane,
    batch: readonly FedEvent[],
    limit: number,
    docs: BatchDocuments,
    check?: EventCheck,
  ): HandlerPass {
    let to = lane.position;
    let applied = 0;
    let refused: HandlerPass['refused'];
    let failure: ProjectionFailure | undefined;
    for (const fed of batch) {
      if (applied >= limit) break;
      if (to !== undefined && fed.position <= to) continue;
      if (fed.type === undefined || lane.handles.has(fed.type)) {
        try {
          docs.applyEvent(lane.projection.apply(eventOf(fed), docs));
          const why = check && docs.missing.size === 0 ? check(docs) : undefined;
          if (typeof why === 'string') {
            refused = { event: fed, why };
            break;
          }
        } catch (error) {
          if (error instanceof Database.SqliteError) throw error;
          if (docs.missing.size === 0) {
            failure = {
              streamId: fed.streamId,
              revision: fed.revision,
              position: fed.position,
              message: messageOf(error),
            };
            break;
          }
        }
      }
      to = fed.position;
      applied += 1;
    }
    return { docs, to, applied, failure, ...(refused && { refused }) };
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

/** Looks at the documents the event just applied changed: why they cannot be stored, or anything else when they can. */
type EventCheck = (docs: BatchDocuments) => unknown;

interface HandlerPass {
  readonly docs: BatchDocuments;
  readonly to: bigint | undefined;
  readonly applied: number;
  /** Where a check stopped the pass: the event whose own documents cannot be stored (not applied). */
  readonly refused?: { readonly event: FedEvent; readonly why: string };
  readonly failure: ProjectionFailure | undefined;
}

interface LanePass {
  readonly lane: Lane;
  readonly docs: BatchDocuments;
  /** Whether the committed changes become the lane's cached state (not when they could not be stored). */
  readonly keep: boolean;
  readonly write: LaneWrite | undefined;
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

function messageOf(error: unknown): string {
  return error instanceof Error ? `${error.name}: ${error.message}` : String(error);
}
