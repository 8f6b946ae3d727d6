/**
 * The audit must remember every event id to catch a duplicate. As JavaScript strings in a Set,
 * a million UUIDs take ~100 MB of heap that the garbage collector walks again and again; packed
 * as 128-bit keys in one typed array (open addressing, linear probing) they take 16 bytes a slot
 * outside the scanned heap. Ids that are not UUIDs (a hand-edited log) fall back to a Set.
 */
const WORDS = 4;
const DASH = 45;

export class IdSet {
  private table = new Uint32Array(1024 * WORDS);
  /** Slot i is used when used[i] is 1; a zero key is a valid UUID, so occupancy is kept apart. */
  private used = new Uint8Array(1024);
  private count = 0;
  private readonly others = new Set<string>();
  /** The id being added, as four 32-bit words (reused: no allocation per id). */
  private readonly key = new Uint32Array(WORDS);

  get size(): number {
    return this.count + this.others.size;
  }

  /** Adds the id; false when it was already there. */
  add(id: string): boolean {
    if (!this.pack(id)) {
      if (this.others.has(id)) return false;
      this.others.add(id);
      return true;
    }
    const [a, b, c, d] = this.key as unknown as [number, number, number, number];
    if (!this.insert(a, b, c, d)) return false;
    if (++this.count * 2 > this.used.length) this.grow();
    return true;
  }

  has(id: string): boolean {
    if (!this.pack(id)) return this.others.has(id);
    const mask = this.used.length - 1;
    const [a, b, c, d] = this.key as unknown as [number, number, number, number];
    let slot = slotOf(a, b, c, d) & mask;
    while (this.used[slot] === 1) {
      const at = slot * WORDS;
      const t = this.table;
      if (t[at] === a && t[at + 1] === b && t[at + 2] === c && t[at + 3] === d) return true;
      slot = (slot + 1) & mask;
    }
    return false;
  }

  /**
   * Parses a UUID into `key`; false for anything else. Only the canonical lower-case spelling is
   * packed: 'A…' and 'a…' are different ids to a store. One pass over the characters: this runs
   * once per event on the audit's busiest thread.
   */
  private pack(id: string): boolean {
    if (id.length !== 36) return false;
    let word = 0;
    let digits = 0;
    let w = 0;
    for (let i = 0; i < 36; i++) {
      const c = id.charCodeAt(i);
      if (i === 8 || i === 13 || i === 18 || i === 23) {
        if (c !== DASH) return false;
        continue;
      }
      const nibble = c >= 48 && c <= 57 ? c - 48 : c >= 97 && c <= 102 ? c - 87 : -1;
      if (nibble < 0) return false;
      word = (word << 4) | nibble;
      if (++digits === 8) {
        this.key[w++] = word >>> 0;
        word = 0;
        digits = 0;
      }
    }
    return true;
  }

  private insert(a: number, b: number, c: number, d: number): boolean {
    const mask = this.used.length - 1;
    let slot = slotOf(a, b, c, d) & mask;
    while (this.used[slot] === 1) {
      const at = slot * WORDS;
      if (this.table[at] === a && this.table[at + 1] === b && this.table[at + 2] === c && this.table[at + 3] === d)
        return false;
      slot = (slot + 1) & mask;
    }
    const at = slot * WORDS;
    this.used[slot] = 1;
    this.table[at] = a;
    this.table[at + 1] = b;
    this.table[at + 2] = c;
    this.table[at + 3] = d;
    return true;
  }

  private grow(): void {
    const { table, used } = this;
    this.table = new Uint32Array(table.length * 2);
    this.used = new Uint8Array(used.length * 2);
    for (let slot = 0; slot < used.length; slot++) {
      if (used[slot] !== 1) continue;
      const at = slot * WORDS;
      this.insert(table[at]!, table[at + 1]!, table[at + 2]!, table[at + 3]!);
    }
  }
}

/** Random UUIDs (v4, v5) are already uniform; the mix keeps sequential ones (v1, v7) spread too. */
function slotOf(a: number, b: number, c: number, d: number): number {
  const mixed = a ^ Math.imul(b, 0x9e3779b1) ^ Math.imul(c, 0x85ebca6b) ^ Math.imul(d, 0xc2b2ae35);
  return Math.imul(mixed, 0x27d4eb2f) >>> 0;
}
