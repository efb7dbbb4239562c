/**
 * The de-duplication keys (`changeUid`: `<idp>:<first vendor event id>`, or
 * `id:<change id>`) the memory detector has seen, with their event time, in
 * arrival order: a hash set over typed arrays, its keys as UTF-16 code units,
 * forgotten oldest first. A `Map` of strings kept one string per change
 * (built by concatenation, then flattened to be hashed) for hours of event
 * time: promoted to the old generation and collected there
 * (docs/performance.md §6). Keys are compared exactly, never by hash alone.
 */

const INITIAL_ENTRIES = 1024;
const NONE = -1;

export class SeenChanges {
  #units: Uint16Array = new Uint16Array(INITIAL_ENTRIES * 32);
  /** Units written: the key being looked up is written here, and kept by `add`. */
  #end = 0;
  #mask = INITIAL_ENTRIES - 1;
  #at: Float64Array = new Float64Array(INITIAL_ENTRIES);
  #start: Int32Array = new Int32Array(INITIAL_ENTRIES);
  #length: Int32Array = new Int32Array(INITIAL_ENTRIES);
  #hash: Int32Array = new Int32Array(INITIAL_ENTRIES);
  #next: Int32Array = new Int32Array(INITIAL_ENTRIES);
  #buckets: Int32Array = new Int32Array(INITIAL_ENTRIES).fill(NONE);
  /** Entries are numbered in arrival order; the slot of entry n is `n & #mask`. */
  #head = 0;
  #tail = 0;
  /** The key last looked up: its units are at `#end`. */
  #keyLength = 0;
  #keyHash = 0;

  get size(): number {
    return this.#tail - this.#head;
  }

  /** Whether `<a>:<b>` has been seen (it becomes the key `add` adds). */
  has(a: string, b: string): boolean {
    const n = a.length + 1 + b.length;
    if (this.#end + n > this.#units.length) this.#make(n);
    const u = this.#units;
    let at = this.#end;
    let h = 0x811c9dc5;
    for (let i = 0; i < a.length; i++) {
      const c = a.charCodeAt(i);
      u[at++] = c;
      h = Math.imul(h ^ c, 0x01000193);
    }
    u[at++] = 58; // ':'
    h = Math.imul(h ^ 58, 0x01000193);
    for (let i = 0; i < b.length; i++) {
      const c = b.charCodeAt(i);
      u[at++] = c;
      h = Math.imul(h ^ c, 0x01000193);
    }
    this.#keyLength = n;
    this.#keyHash = h;
    for (let slot = this.#buckets[h & this.#mask]!; slot !== NONE; slot = this.#next[slot]!) {
      if (this.#hash[slot] !== h || this.#length[slot] !== n) continue;
      const from = this.#start[slot]!;
      let same = true;
      for (let i = 0; i < n; i++)
        if (u[from + i] !== u[this.#end + i]) {
          same = false;
          break;
        }
      if (same) return true;
    }
    return false;
  }

  /** Adds the key last looked up with `has` (which must have said no), seen at event time `at`. */
  add(at: number): void {
    if (this.size === this.#mask + 1) this.#grow();
    const slot = this.#tail++ & this.#mask;
    this.#at[slot] = at;
    this.#start[slot] = this.#end;
    this.#length[slot] = this.#keyLength;
    this.#hash[slot] = this.#keyHash;
    const bucket = this.#keyHash & this.#mask;
    this.#next[slot] = this.#buckets[bucket]!;
    this.#buckets[bucket] = slot;
    this.#end += this.#keyLength;
  }

  /** Event time of the oldest key (Infinity when none). */
  oldestAt(): number {
    return this.size > 0 ? this.#at[this.#head & this.#mask]! : Infinity;
  }

  /** Forgets the oldest key. */
  dropOldest(): void {
    const slot = this.#head++ & this.#mask;
    const bucket = this.#hash[slot]! & this.#mask;
    if (this.#buckets[bucket] === slot) this.#buckets[bucket] = this.#next[slot]!;
    else {
      let prev = this.#buckets[bucket]!;
      while (this.#next[prev] !== slot) prev = this.#next[prev]!;
      this.#next[prev] = this.#next[slot]!;
    }
    if (this.size === 0) this.#end = 0;
  }

  /** Room for `n` more units: the keys held (contiguous, oldest first) move to the front, into a larger array when they fill more than half. */
  #make(n: number): void {
    const from = this.size > 0 ? this.#start[this.#head & this.#mask]! : this.#end;
    const live = this.#end - from;
    let size = this.#units.length;
    while (live + n > size / 2) size *= 2;
    const units = size === this.#units.length ? this.#units : new Uint16Array(size);
    if (units === this.#units) units.copyWithin(0, from, this.#end);
    else units.set(this.#units.subarray(from, this.#end), 0);
    for (let e = this.#head; e < this.#tail; e++) this.#start[e & this.#mask]! -= from;
    this.#units = units;
    this.#end = live;
  }

  /** Twice the entries: slots and buckets laid out again. */
  #grow(): void {
    const size = (this.#mask + 1) * 2;
    const old = { at: this.#at, start: this.#start, length: this.#length, hash: this.#hash, mask: this.#mask };
    this.#at = new Float64Array(size);
    this.#start = new Int32Array(size);
    this.#length = new Int32Array(size);
    this.#hash = new Int32Array(size);
    this.#next = new Int32Array(size);
    this.#buckets = new Int32Array(size).fill(NONE);
    this.#mask = size - 1;
    const count = this.size;
    for (let i = 0; i < count; i++) {
      const o = (this.#head + i) & old.mask;
      this.#at[i] = old.at[o]!;
      this.#start[i] = old.start[o]!;
      this.#length[i] = old.length[o]!;
      const h = old.hash[o]!;
      this.#hash[i] = h;
      this.#next[i] = this.#buckets[h & this.#mask]!;
      this.#buckets[h & this.#mask] = i;
    }
    this.#head = 0;
    this.#tail = count;
  }
}
