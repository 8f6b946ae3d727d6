/**
 * The one port every event store adapter implements. Numbering follows EventStoreDB:
 * a stream's first event has revision 0, and "the stream does not exist" is its own
 * expectation, so an ETag means the same thing whatever the store behind it.
 */
import type { StoreLocation } from './store-url.ts';

export type JsonValue = string | number | boolean | null | JsonValue[] | { [key: string]: JsonValue };
export type JsonObject = { [key: string]: JsonValue };

/** Appends always carry an explicit expectation; "any" is deliberately absent (it defeats the fence). */
export type ExpectedRevision = 'no_stream' | bigint;

export interface EventToAppend {
  /** Deterministic UUID: a retried append of the same decision is recognised by its ids. */
  readonly id: string;
  readonly type: string;
  readonly data: JsonObject;
  readonly metadata: JsonObject;
}

export interface RecordedEvent {
  readonly id: string;
  readonly streamId: string;
  readonly revision: bigint;
  /** Strictly increasing across the whole log. */
  readonly position: bigint;
  readonly type: string;
  readonly data: JsonObject;
  readonly metadata: JsonObject;
  /** When the store committed it (store clock). */
  readonly createdAt: Date;
}

export interface AppendResult {
  /** Revision of the last event in the append (the stream's revision after it). */
  readonly nextExpectedRevision: bigint;
  /** Global position of the last appended event. */
  readonly position: bigint;
  /**
   * True when every event id was already stored at those revisions: an idempotent
   * re-append that wrote nothing. Undefined where the store cannot tell: EventStoreDB answers
   * an idempotent re-append exactly like a fresh one, and an id names a decision, not who made
   * it or when, so the stored events may carry another request's metadata and hashes.
   */
  readonly duplicate: boolean | undefined;
}

/** One stream's part of a multi-stream append. */
export interface StreamWrite {
  readonly streamId: string;
  readonly events: readonly EventToAppend[];
  readonly expected: ExpectedRevision;
}

export interface ReadAllOptions {
  /** Only events whose position is strictly greater than this (a checkpoint). */
  readonly after?: bigint;
  /** Stop at events whose position is at most this. */
  readonly upTo?: bigint;
  readonly maxCount?: number;
}

export interface ReadStreamOptions {
  /** Only events whose revision is at least this (the rest of a stream whose start is known). */
  readonly fromRevision?: bigint;
}

export interface SubscribeOptions {
  readonly after?: bigint;
  readonly signal: AbortSignal;
}

/** What a live subscription yields: events, and a marker once it has caught up with the log. */
export type SubscriptionItem =
  | { readonly kind: 'event'; readonly event: RecordedEvent }
  | { readonly kind: 'caught-up'; readonly position: bigint | undefined };

export interface EventStore {
  /** Which adapter this is, for logs and readiness ("sqlite", "memory", "esdb", "postgres"). */
  readonly kind: string;
  append(streamId: string, events: readonly EventToAppend[], expected: ExpectedRevision): Promise<AppendResult>;
  /**
   * A capability, present only where the store can commit several streams in one transaction
   * (memory, SQLite, PostgreSQL): every write is checked against its own expectation (idempotent re-appends
   * included, per stream), and either all of them are committed, in the order given, or none is.
   * A failed expectation throws WrongExpectedVersionError naming that stream. Results follow the
   * order of `writes`; no stream may appear twice.
   */
  appendAtomically?(writes: readonly StreamWrite[]): Promise<AppendResult[]>;
  /**
   * A capability, present where the store can copy its whole log into a new store of its kind
   * (SQLite: an online backup, consistent while others write): writes the copy at `path` and
   * answers where to open it. For scratch copies that nothing done to them can reach the live log.
   */
  snapshotTo?(path: string, onProgress?: (done: number, total: number) => void): Promise<StoreLocation>;
  /**
   * All events of one stream in revision order; an empty array when the stream does not exist.
   * With `fromRevision`, only those at that revision or later (a cached stream's missed tail).
   */
  readStream(streamId: string, options?: ReadStreamOptions): Promise<RecordedEvent[]>;
  /** The ledger's events across streams in global order. */
  readAll(options?: ReadAllOptions): AsyncIterable<RecordedEvent>;
  /** Catches up from `after`, yields `caught-up`, then follows new events until the signal aborts. */
  subscribe(options: SubscribeOptions): AsyncIterable<SubscriptionItem>;
  /** Position of the newest event in the log, undefined when the log is empty. */
  headPosition(): Promise<bigint | undefined>;
  /** Throws StoreUnavailableError when the store cannot be reached or cannot take durable writes. */
  ping(): Promise<void>;
  /** Waits for in-flight appends, then releases connections and subscriptions. */
  close(): Promise<void>;
}
