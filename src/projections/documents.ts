/**
 * Documents of one generation, and the caches that apply handler changes to them: each touched
 * document is written once per batch, and read from the database only when this process has
 * not seen it since its last successful commit.
 */
import type Database from 'better-sqlite3';
import type { DocumentChange, DocumentReader } from '../../projections/projection.ts';
import { type DocumentId, documentKey } from './read-model-store.ts';

export interface StoredDocument {
  readonly collection: string;
  readonly key: string;
  readonly doc: unknown;
}

/** Documents per multi-row upsert: one statement call per this many saves a good part of the per-call cost. */
const PUT_ROWS = 64;

const upsert = (rows: number): string =>
  `INSERT INTO rm_documents (projection, generation, collection, key, doc) VALUES ${Array.from({ length: rows }, () => '(?, ?, ?, ?, ?)').join(', ')}
   ON CONFLICT (projection, generation, collection, key) DO UPDATE SET doc = excluded.doc`;

export class DocumentTable {
  private readonly statements;

  constructor(db: Database.Database) {
    this.statements = {
      get: db
        .prepare('SELECT doc FROM rm_documents WHERE projection = ? AND generation = ? AND collection = ? AND key = ?')
        .pluck(),
      range: db
        .prepare(
          'SELECT doc FROM rm_documents WHERE projection = ? AND generation = ? AND collection = ? AND key >= ? AND key < ? ORDER BY key',
        )
        .pluck(),
      put: db.prepare(upsert(1)),
      putMany: db.prepare(upsert(PUT_ROWS)),
      delete: db.prepare(
        'DELETE FROM rm_documents WHERE projection = ? AND generation = ? AND collection = ? AND key = ?',
      ),
      list: db.prepare(
        'SELECT collection, key, doc FROM rm_documents WHERE projection = ? AND generation = ? ORDER BY collection, key',
      ),
      purge: db.prepare(
        `DELETE FROM rm_documents WHERE (projection, generation, collection, key) IN (
           SELECT projection, generation, collection, key FROM rm_documents WHERE projection = ? AND generation = ? LIMIT ?)`,
      ),
    };
  }

  get(projection: string, generation: number, collection: string, key: string): unknown {
    const text = this.text(projection, generation, collection, key);
    return text === undefined ? undefined : JSON.parse(text);
  }

  /** A document's JSON as stored. */
  text(projection: string, generation: number, collection: string, key: string): string | undefined {
    return this.statements.get.get(projection, generation, collection, key) as string | undefined;
  }

  /** JSON of the documents with keys from `low` (inclusive) to `high` (exclusive), in key order. */
  range(projection: string, generation: number, collection: string, low: string, high: string): string[] {
    return this.statements.range.all(projection, generation, collection, low, high) as string[];
  }

  /** Upserts many documents of one generation; keys must be distinct (an upsert cannot touch a row twice). */
  putAll(
    projection: string,
    generation: number,
    docs: ReadonlyArray<{ readonly collection: string; readonly key: string; readonly json: string }>,
  ): void {
    let at = 0;
    for (; at + PUT_ROWS <= docs.length; at += PUT_ROWS) {
      const params: unknown[] = [];
      for (let i = at; i < at + PUT_ROWS; i++)
        params.push(projection, generation, docs[i]!.collection, docs[i]!.key, docs[i]!.json);
      this.statements.putMany.run(params);
    }
    for (; at < docs.length; at++)
      this.statements.put.run(projection, generation, docs[at]!.collection, docs[at]!.key, docs[at]!.json);
  }

  delete(projection: string, generation: number, collection: string, key: string): void {
    this.statements.delete.run(projection, generation, collection, key);
  }

  /** Every document of a generation in (collection, key) order: streamed, so two can be merge-compared. */
  *list(projection: string, generation: number): Generator<StoredDocument> {
    for (const row of this.statements.list.iterate(projection, generation) as Iterable<{
      collection: string;
      key: string;
      doc: string;
    }>) {
      yield { collection: row.collection, key: row.key, doc: JSON.parse(row.doc) };
    }
  }

  /** Deletes up to `limit` documents of a generation; returns how many went. */
  purge(projection: string, generation: number, limit: number): number {
    return this.statements.purge.run(projection, generation, limit).changes;
  }
}

const ABSENT = Symbol('absent');
export type Slot = object | typeof ABSENT;

/**
 * A lane's committed documents, kept across batches. It is only trusted while this process's
 * compare-and-set keeps succeeding: the checkpoint only grows and every commit moves it, so a
 * successful CAS from P proves nobody else wrote the lane since this process left it at P. On any
 * failed or rolled-back batch the engine clears it. Bounded, so memory does not grow with the log:
 * two generations of at most capacity/2 entries; a hit in the old one moves to the young one, and
 * when the young one fills up the old one is dropped whole (cheaper than per-entry LRU order).
 */
export class DocumentCache {
  private young = new Map<string, Slot>();
  private old = new Map<string, Slot>();

  constructor(private readonly capacity: number) {}

  get(id: string): Slot | undefined {
    const slot = this.young.get(id);
    if (slot !== undefined) return slot;
    const aged = this.old.get(id);
    if (aged !== undefined) this.set(id, aged);
    return aged;
  }

  set(id: string, slot: Slot): void {
    this.young.set(id, slot);
    if (this.young.size >= this.capacity / 2) {
      this.old = this.young;
      this.young = new Map();
    }
  }

  clear(): void {
    this.young.clear();
    this.old.clear();
  }
}

/** A lane's documents as one batch's handlers see them, before its changes. */
export interface DocumentSlots {
  /** The lane's committed documents, kept across batches. */
  readonly committed: DocumentCache;
  /** Documents read for this batch, kept whatever the cache drops until the batch is done. */
  readonly loaded: Map<string, Slot>;
  /** A synchronous read of one stored document, where the storage has one. */
  readonly readNow?: (id: DocumentId) => unknown;
}

/** A batch's changes of one lane, serialised for its write. */
export interface SerialisedChanges {
  readonly puts: Array<DocumentId & { readonly json: string }>;
  readonly deletes: DocumentId[];
}

/**
 * One lane's changes within one batch, over its committed documents. Where documents can only be
 * read asynchronously, a read of one not yet at hand answers undefined and is noted in `missing`:
 * the engine then reads those and runs the batch's handlers again (they are pure), until a pass
 * needs nothing it does not have.
 */
export class BatchDocuments implements DocumentReader {
  private readonly changed = new Map<string, Changed>();
  /** One event's changes before they are kept: one map for the whole batch, emptied after each event. */
  private readonly staged = new Map<string, Changed>();
  readonly missing = new Map<string, DocumentId>();
  /** The documents the last event applied changed. */
  lastEvent: readonly string[] = [];

  constructor(private readonly slots: DocumentSlots) {}

  get(collection: string, key: string): unknown {
    const slot = this.slot(documentKey(collection, key), collection, key);
    return slot === ABSENT ? undefined : slot;
  }

  /**
   * Applies one event's changes all or nothing: if an update throws, nothing of the event is
   * kept, so the batch can still commit everything up to the event that failed.
   */
  applyEvent(changes: readonly DocumentChange[]): void {
    if (changes.length === 1) {
      // The common case: no staging needed, the update either returns or throws before any write.
      const change = changes[0]!;
      const next = change.update(change.replaces ? undefined : this.get(change.collection, change.key));
      const id = documentKey(change.collection, change.key);
      this.changed.set(id, { collection: change.collection, key: change.key, slot: next ?? ABSENT });
      this.lastEvent = [id];
      return;
    }
    const staged = this.staged;
    staged.clear();
    for (const change of changes) {
      const id = documentKey(change.collection, change.key);
      const before = staged.get(id)?.slot ?? (change.replaces ? ABSENT : this.slot(id, change.collection, change.key));
      staged.set(id, {
        collection: change.collection,
        key: change.key,
        slot: change.update(before === ABSENT ? undefined : before) ?? ABSENT,
      });
    }
    for (const [id, changed] of staged) this.changed.set(id, changed);
    this.lastEvent = [...staged.keys()];
    staged.clear();
  }

  get size(): number {
    return this.changed.size;
  }

  /**
   * Every document the batch changed (or those of `ids`), as JSON, in key order (neighbouring keys share B-tree
   * pages). Throws when a document cannot be JSON (a bigint, a cycle): the projection's bug.
   */
  serialise(ids: readonly string[] = [...this.changed.keys()]): SerialisedChanges {
    const puts: Array<DocumentId & { json: string }> = [];
    const deletes: DocumentId[] = [];
    for (const id of [...ids].sort()) {
      const { collection, key, slot } = this.changed.get(id)!;
      if (slot === ABSENT) deletes.push({ collection, key });
      else puts.push({ collection, key, json: JSON.stringify(slot) });
    }
    return { puts, deletes };
  }

  /**
   * After the batch's commit: its changes are the committed state. Where a batch's handlers may
   * run twice (no synchronous reads), they are frozen like the documents read, so a handler that
   * changes one in place fails there instead of changing what a second run starts from.
   */
  keep(): void {
    const freeze = this.slots.readNow === undefined;
    for (const [id, { slot }] of this.changed) this.slots.committed.set(id, freeze ? deepFreeze(slot) : slot);
  }

  private slot(id: string, collection: string, key: string): Slot {
    const changed = this.changed.get(id);
    if (changed !== undefined) return changed.slot;
    const { committed, loaded, readNow } = this.slots;
    const cached = committed.get(id) ?? loaded.get(id);
    if (cached !== undefined) return cached;
    if (!readNow) {
      this.missing.set(id, { collection, key });
      return ABSENT;
    }
    const slot = (readNow({ collection, key }) as object | undefined) ?? ABSENT;
    committed.set(id, slot);
    return slot;
  }
}

/** A document read for a batch (undefined: there is none), as its slot. */
export const slotOf = (doc: unknown): Slot => (doc === undefined ? ABSENT : (doc as object));

interface Changed {
  readonly collection: string;
  readonly key: string;
  readonly slot: Slot;
}

/**
 * Documents read asynchronously are shared by every pass of a batch and kept in the lane's cache:
 * frozen, so that a handler changing one in place fails there instead of changing what the next
 * pass, or the next batch, reads.
 */
export function deepFreeze<T>(value: T): T {
  if (typeof value === 'object' && value !== null && !Object.isFrozen(value)) {
    Object.freeze(value);
    for (const inner of Object.values(value)) deepFreeze(inner);
  }
  return value;
}
