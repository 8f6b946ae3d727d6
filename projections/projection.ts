/**
 * The contract every projection follows: a name, a version, the event types it handles, and
 * pure handlers that turn one event (plus the documents it reads) into keyed document changes.
 * Documents are plain JSON, so the runner can store, rebuild beside, swap and diff any
 * projection the same way, and a rebuild from the same log gives byte-identical documents.
 * Nothing here knows where the documents are kept.
 */
import type { OrderEvent, OrderEventType } from '../src/domain/events.ts';
import type { LedgerEvent } from '../src/events/codec.ts';

/** A read-model document: JSON only (no bigint, no Date, no undefined inside). */
export type Document = object;

/** Read access to the projection's own documents as they stand before the event. */
export interface DocumentReader {
  get(collection: string, key: string): unknown;
}

/** One keyed change. `update` is pure: it returns a new document, or undefined to delete it. */
export interface DocumentChange {
  readonly collection: string;
  readonly key: string;
  readonly update: (current: unknown) => Document | undefined;
  /** The new document does not depend on the current one, so the runner need not read it. */
  readonly replaces?: boolean;
}

/** A secondary index the read side queries by: top-level fields of one collection, then the key. */
export interface DocumentIndex {
  readonly collection: string;
  readonly fields: readonly string[];
}

export type EventOf<T extends OrderEventType> = LedgerEvent & { readonly event: Extract<OrderEvent, { type: T }> };

export type Handler<T extends OrderEventType> = (event: EventOf<T>, docs: DocumentReader) => readonly DocumentChange[];

export interface Projection {
  readonly name: string;
  /** Bump when the handlers' output changes: the runner rebuilds beside the old version, then swaps. */
  readonly version: number;
  readonly handles: readonly OrderEventType[];
  readonly indexes: readonly DocumentIndex[];
  apply(event: LedgerEvent, docs: DocumentReader): readonly DocumentChange[];
}

export interface ProjectionSpec {
  readonly name: string;
  readonly version: number;
  readonly indexes?: readonly DocumentIndex[];
  readonly on: { readonly [T in OrderEventType]?: Handler<T> };
}

// Names end up in SQL (partial-index predicates) and field names in JSON paths: keep both plain.
const NAME = /^[a-z][a-z0-9-]{0,62}$/;
const FIELD = /^[A-Za-z_][A-Za-z0-9_]{0,62}$/;

export function defineProjection(spec: ProjectionSpec): Projection {
  if (!NAME.test(spec.name)) throw new Error(`projection name ${JSON.stringify(spec.name)} must match ${NAME}`);
  if (!Number.isSafeInteger(spec.version) || spec.version < 1)
    throw new Error(`${spec.name}: version must be a positive integer`);
  for (const index of spec.indexes ?? []) {
    if (!NAME.test(index.collection) || index.fields.length === 0 || !index.fields.every((f) => FIELD.test(f))) {
      throw new Error(`${spec.name}: bad index ${JSON.stringify(index)}`);
    }
  }
  const handlers = spec.on as Partial<
    Record<OrderEventType, (event: LedgerEvent, docs: DocumentReader) => readonly DocumentChange[]>
  >;
  return {
    name: spec.name,
    version: spec.version,
    handles: Object.keys(handlers) as OrderEventType[],
    indexes: spec.indexes ?? [],
    apply(event, docs) {
      const handler = handlers[event.event.type];
      return handler ? handler(event, docs) : [];
    },
  };
}

/** A typed view of one collection, so handlers read and change documents of a known shape. */
export interface Collection<D extends Document> {
  readonly name: string;
  get(docs: DocumentReader, key: string): D | undefined;
  change(key: string, update: (current: D | undefined) => D | undefined): DocumentChange;
  /** Sets the document whatever was there (e.g. on the event that creates it). */
  put(key: string, doc: D): DocumentChange;
}

export function collection<D extends Document>(name: string): Collection<D> {
  return {
    name,
    get: (docs, key) => docs.get(name, key) as D | undefined,
    change: (key, update) => ({ collection: name, key, update: update as (current: unknown) => D | undefined }),
    put: (key, doc) => ({ collection: name, key, update: () => doc, replaces: true }),
  };
}

/** Event times come from metadata.recordedAt (not the wall clock), normalised to UTC, so a rebuild reproduces them. */
export function recordedAtUtc(event: LedgerEvent): string {
  const at = event.metadata.recordedAt;
  // The command handler already writes Date#toISOString(); only other shapes (offsets, more digits) need parsing.
  return CANONICAL_UTC.test(at) ? at : new Date(at).toISOString();
}

const CANONICAL_UTC = /^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z$/;

/**
 * A client id as a key segment: '%' and '|' escaped, so it never holds the '|' that separates
 * segments (metadata allows any characters) and two clients never share a key. Total, unlike
 * encodeURIComponent, which throws on a lone surrogate.
 */
export const ownerKey = (clientId: string): string => clientId.replace(/[%|]/g, (c) => (c === '%' ? '%25' : '%7C'));
