/**
 * Documents of one generation, and the caches that apply handler changes to them: each touched
 * document is written once per batch, and read from the database only when this process has
 * not seen it since its last successful commit.
 */
import type Database from 'better-sqlite3';
import type { DocumentChange, DocumentReader } from '../../projections/projection.ts';

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
    const text = this.statements.get.get(projection, generation, collection, key) as string | undefined;
    return text === undefined ? undefined : JSON.parse(text);
  }

  put(projection: string, generation: number, collection: string, key: string, doc: object): void {
    this.statements.put.run(projection, generation, collection, key, JSON.stringify(doc));
  }

  /** Upserts many documents of one generation; keys must be distinct (an upsert cannot touch a row twice). */
  putAll(
    projection: string,
    generation: number,
    docs: ReadonlyArray<{ readonly collection: string; readonly key: string; readonly doc: object }>,
  ): void {
    let at = 0;
    for (; at + PUT_ROWS <= docs.length; at += PUT_ROWS) {
      const params: unknown[] = [];
      for (let i = at; i < at + PUT_ROWS; i++)
        params.push(projection, generation, docs[i]!.collection, docs[i]!.key, JSON.stringify(docs[i]!.doc));
      this.statements.putMany.run(params);
    }
    for (; at < docs.length; at++) this.put(projection, generation, docs[at]!.collection, docs[at]!.key, docs[at]!.doc);
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
type Slot = object | typeof ABSENT;

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

/** One lane's changes within one batch, over its committed documents. */
export class BatchDocuments implements DocumentReader {
  private readonly changed = new Map<string, Changed>();
  /** One event's changes before they are kept: one map for the whole batch, emptied after each event. */
  private readonly staged = new Map<string, Changed>();

  constructor(
    private readonly table: DocumentTable,
    private readonly projection: string,
    private readonly generation: number,
    private readonly committed: DocumentCache,
  ) {}

  get(collection: string, key: string): unknown {
    const slot = this.slot(cacheKey(collection, key), collection, key);
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
      this.changed.set(cacheKey(change.collection, change.key), {
        collection: change.collection,
        key: change.key,
        slot: next ?? ABSENT,
      });
      return;
    }
    const staged = this.staged;
    staged.clear();
    for (const change of changes) {
      const id = cacheKey(change.collection, change.key);
      const before = staged.get(id)?.slot ?? (change.replaces ? ABSENT : this.slot(id, change.collection, change.key));
      staged.set(id, {
        collection: change.collection,
        key: change.key,
        slot: change.update(before === ABSENT ? undefined : before) ?? ABSENT,
      });
    }
    for (const [id, changed] of staged) this.changed.set(id, changed);
    staged.clear();
  }

  /**
   * Writes every document the batch changed, in key order (neighbouring keys share B-tree pages),
   * and makes them the committed state; call inside the batch's write transaction.
   */
  flush(): number {
    const ids = [...this.changed.keys()].sort();
    const puts: Array<{ collection: string; key: string; doc: object }> = [];
    for (const id of ids) {
      const { collection, key, slot } = this.changed.get(id)!;
      if (slot === ABSENT) this.table.delete(this.projection, this.generation, collection, key);
      else puts.push({ collection, key, doc: slot });
      this.committed.set(id, slot);
    }
    this.table.putAll(this.projection, this.generation, puts);
    return ids.length;
  }

  private slot(id: string, collection: string, key: string): Slot {
    const changed = this.changed.get(id);
    if (changed !== undefined) return changed.slot;
    const cached = this.committed.get(id);
    if (cached !== undefined) return cached;
    const loaded = (this.table.get(this.projection, this.generation, collection, key) as object | undefined) ?? ABSENT;
    this.committed.set(id, loaded);
    return loaded;
  }
}

interface Changed {
  readonly collection: string;
  readonly key: string;
  readonly slot: Slot;
}

// Collection names are constants in the projection modules, never NUL-bearing, so NUL separates
// safely, and the id sorts like (collection, key).
const cacheKey = (collection: string, key: string): string => `${collection}\u0000${key}`;
