/**
 * What this process already knows about streams it has decided on, kept between commands so that a
 * command costs the same on a stream of ten events as on one of ten thousand. Least recently used
 * goes first; bounded by entries and by approximate memory, both configurable, and `0` for either
 * keeps nothing. An entry is never trusted for a write on its own: the expected revision of the
 * append fences it, and a stale entry is brought up to date by reading only what it missed.
 */

export interface StateCacheBounds {
  /** Most streams held; 0 disables the cache. */
  readonly maxEntries: number;
  /** Most approximate bytes held; 0 disables the cache. An entry larger than this is not kept. */
  readonly maxBytes: number;
}

/** Fits a 2-core / 24 GB machine beside the read models and SQLite's page cache. */
export const DEFAULT_STATE_CACHE_BOUNDS: StateCacheBounds = { maxEntries: 100_000, maxBytes: 256 * 2 ** 20 };

interface Entry {
  readonly value: unknown;
  readonly bytes: number;
}

/** One kind of value in the shared cache (decided order streams, key bindings…), under its own keys. */
export interface CachePartition<Value> {
  get(key: string): Value | undefined;
  set(key: string, value: Value, bytes: number): void;
  delete(key: string): void;
}

export class StateCache {
  private readonly entries = new Map<string, Entry>();
  private heldBytes = 0;
  private partitions = 0;

  constructor(readonly bounds: StateCacheBounds = DEFAULT_STATE_CACHE_BOUNDS) {}

  get size(): number {
    return this.entries.size;
  }

  /** Approximate bytes held, as the entries were sized when stored. */
  get bytes(): number {
    return this.heldBytes;
  }

  /** A typed view whose keys cannot meet another partition's. */
  partition<Value>(): CachePartition<Value> {
    const prefix = `${this.partitions++}\u0000`;
    return {
      get: (key) => this.get(prefix + key) as Value | undefined,
      set: (key, value, bytes) => this.set(prefix + key, value, bytes),
      delete: (key) => this.delete(prefix + key),
    };
  }

  private get(key: string): unknown {
    const entry = this.entries.get(key);
    if (!entry) return undefined;
    // Re-inserted: a Map iterates in insertion order, so the first key is the least recently used.
    this.entries.delete(key);
    this.entries.set(key, entry);
    return entry.value;
  }

  private set(key: string, value: unknown, bytes: number): void {
    this.delete(key);
    if (bytes > this.bounds.maxBytes || this.bounds.maxEntries === 0) return;
    this.entries.set(key, { value, bytes });
    this.heldBytes += bytes;
    while (this.entries.size > this.bounds.maxEntries || this.heldBytes > this.bounds.maxBytes) {
      this.delete(this.entries.keys().next().value!);
    }
  }

  private delete(key: string): void {
    const entry = this.entries.get(key);
    if (!entry) return;
    this.entries.delete(key);
    this.heldBytes -= entry.bytes;
  }
}

/**
 * Roughly what a decoded JSON-like value holds on the V8 heap (64-bit, pointer compression off),
 * erring high: a string is its characters plus a header, an object or array its slots plus a
 * header, a Map or Set twice that. Shared sub-values are counted at each place they appear.
 */
export function approximateBytes(value: unknown): number {
  switch (typeof value) {
    case 'string':
      return 24 + 2 * value.length;
    case 'number':
    case 'boolean':
    case 'undefined':
      return 8;
    case 'bigint':
      return 24;
    case 'object': {
      if (value === null) return 8;
      if (value instanceof Date) return 48;
      if (Array.isArray(value)) return value.reduce((sum: number, item) => sum + 8 + approximateBytes(item), 32);
      if (value instanceof Map) {
        let sum = 64;
        for (const [k, v] of value) sum += 32 + approximateBytes(k) + approximateBytes(v);
        return sum;
      }
      if (value instanceof Set) {
        let sum = 64;
        for (const item of value) sum += 24 + approximateBytes(item);
        return sum;
      }
      let sum = 56;
      for (const key in value) sum += 16 + approximateBytes((value as Record<string, unknown>)[key]);
      return sum;
    }
    default:
      return 64;
  }
}
