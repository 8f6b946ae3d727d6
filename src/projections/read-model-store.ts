/**
 * The read models' storage port: checkpoints and documents of every projection generation, kept
 * in an embedded SQLite file (sqlite-read-models.ts) or in the log's own PostgreSQL database
 * (pg-read-models.ts). The engine, the queries, the status and the waits are written once against
 * it. Every method is one transaction of its own, so no caller can leave one open across an await.
 */
import type { DocumentIndex, Projection } from '../../projections/projection.ts';
import type { ProcessorCheckpoint } from '../payments/processor-checkpoint.ts';
import type { GenerationRow, ProjectionFailure } from './checkpoints.ts';
import type { StoredDocument } from './documents.ts';
import type { GenerationPlan } from './lanes.ts';

export interface DocumentId {
  readonly collection: string;
  readonly key: string;
}

/** One lane's part of a batch: move its checkpoint from `from` to `to`, write its documents, record its failure. */
export interface LaneWrite {
  readonly projection: string;
  readonly generation: number;
  readonly from: bigint | undefined;
  /** Undefined when the checkpoint stays (a failure on the batch's first event). */
  readonly to: bigint | undefined;
  /** Serialised before the transaction, so a document JSON cannot hold fails the lane, never the batch. */
  readonly puts: ReadonlyArray<DocumentId & { readonly json: string }>;
  readonly deletes: readonly DocumentId[];
  readonly failure: ProjectionFailure | undefined;
}

/** A projection's generations as a plan decided them, with the one it created, if any. */
export interface PlannedGenerations {
  readonly plan: GenerationPlan;
  readonly created: number | undefined;
}

/** What a read asks of the served generation; only the documents' JSON text comes back. */
export type ServedQuery =
  | { readonly kind: 'document'; readonly collection: string; readonly key: string }
  /** Keys from `low` (inclusive) to `high` (exclusive), in key order. */
  | { readonly kind: 'range'; readonly collection: string; readonly low: string; readonly high: string }
  /**
   * A page along one of the projection's indexes, in (its last field, key) order, after the
   * cursor's (value, key) when one is given: documents whose fields equal `equals` (the index's
   * leading fields, and any others).
   */
  | {
      readonly kind: 'indexed';
      readonly collection: string;
      readonly index: DocumentIndex;
      readonly equals: ReadonlyArray<readonly [field: string, value: string]>;
      readonly after: readonly [string, string] | undefined;
      readonly limit: number;
    };

/** The served generation (or what stops it) and the query's answer on it, read in one snapshot. */
export interface ServedRead {
  readonly active: GenerationRow | undefined;
  readonly failure: ProjectionFailure | undefined;
  /** Empty when no generation is served, or the query did not run on it. */
  readonly documents: readonly string[];
}

/** Held while this process is the one projector of a shared database; lost when its connection is. */
export interface RunnerLease {
  held(): boolean;
  release(): Promise<void>;
}

export interface ReadModelStore {
  readonly kind: 'sqlite' | 'postgres';
  /**
   * Runs `decide` over each projection's generations in one write transaction (so two processes
   * planning at once agree on one new generation), applies the plan, and gives served
   * generations the indexes their projection declares.
   */
  planGenerations(
    projections: readonly Projection[],
    decide: (projection: Projection, rows: readonly GenerationRow[]) => GenerationPlan,
  ): Promise<PlannedGenerations[]>;
  generations(): Promise<GenerationRow[]>;
  /** The served generation's checkpoint of each projection named (undefined: none served, or nothing applied). */
  servedPositions(projections: readonly string[]): Promise<Map<string, bigint | undefined>>;
  /** Runs the query only on a served generation that `usable` accepts and no failure stops (documents empty otherwise). */
  readServed(projection: string, query: ServedQuery, usable: (active: GenerationRow) => boolean): Promise<ServedRead>;
  /** Why this storage cannot hold a document (undefined: it can): the lane then fails at the batch, as for a document JSON cannot hold. */
  readonly unstorable?: (document: DocumentId & { readonly json: string }) => string | undefined;
  /** A synchronous read of one document, where the storage can (the embedded file). */
  readonly documentNow?: (projection: string, generation: number, id: DocumentId) => unknown;
  /** Runs synchronous reads in one read transaction (one snapshot, one lock taken), where documentNow exists. */
  readonly readingNow?: <T>(work: () => T) => T;
  /** Committed documents by id; an id absent from the answer has no document. */
  readDocuments(projection: string, generation: number, ids: readonly DocumentId[]): Promise<Map<string, unknown>>;
  /**
   * One transaction for the whole batch: each lane's compare-and-set, and only where it held, its
   * documents and failure. Answers, per lane, whether its checkpoint held; throws when nothing was committed.
   */
  commitBatch(writes: readonly LaneWrite[], signal: AbortSignal): Promise<boolean[]>;
  /** Records a failure without moving the checkpoint. */
  recordFailure(projection: string, generation: number, failure: ProjectionFailure): Promise<void>;
  /** Indexes, then the swap, in one transaction; false when the generation is no longer the one being built. */
  promote(projection: Projection, generation: number): Promise<boolean>;
  /** Deletes up to `limit` documents of retired generations; true when any remain. */
  purgeRetired(limit: number): Promise<boolean>;
  /** Every document of a generation, in (collection, key) order by code unit. */
  listDocuments(projection: string, generation: number): AsyncIterable<StoredDocument>;
  processorCheckpoint(name?: string): ProcessorCheckpoint;
  /**
   * Where several servers share the read models over the network, one projector at a time does the
   * work: this waits until this process is it (or the signal aborts: undefined). Absent where
   * runners sharing a file simply race, fenced by the checkpoints.
   */
  readonly acquireRunnerLease?: (signal: AbortSignal) => Promise<RunnerLease | undefined>;
  /** Wakes `onChange` when another process moved a checkpoint, where the storage can tell. */
  readonly watchCheckpoints?: (onChange: () => void) => { close(): Promise<void> };
  close(): Promise<void>;
}

/** Where the read models are: a SQLite file (or ':memory:'), or a PostgreSQL database. */
export type ReadModelLocation = string | { readonly postgres: string };

// Collection names are constants in the projection modules, never NUL-bearing, so NUL separates
// safely, and the id sorts like (collection, key).
export const documentKey = (collection: string, key: string): string => `${collection}\u0000${key}`;
