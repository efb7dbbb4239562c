/**
 * The correlation keys the memory detector holds state for (a person's
 * canonical identity, mostly), each a row: a hash table over typed arrays,
 * the keys as UTF-16 code units outside the JavaScript heap. A `Map` kept
 * each key's string (from the parsed record) for as long as a rule waited on
 * it, a day for some: promoted to the old generation and collected there,
 * and its table rebuilt as keys came and went (docs/performance.md §6).
 * Keys are compared exactly, never by hash alone.
 */

import { growI32, compactUnits } from './columns.js';

const NONE = -1;
const INITIAL_ROWS = 1024;

export class KeyTable {
  #units: Uint16Array = new Uint16Array(INITIAL_ROWS * 32);
  #end = 0;
  /** Units of keys held. */
  #live = 0;
  #offset: Int32Array = new Int32Array(INITIAL_ROWS);
  /** Units of each key; -1 when the row is free. */
  #length: Int32Array = new Int32Array(INITIAL_ROWS).fill(-1);
  #hash: Int32Array = new Int32Array(INITIAL_ROWS);
  #next: Int32Array = new Int32Array(INITIAL_ROWS);
  #buckets: Int32Array = new Int32Array(INITIAL_ROWS * 2).fill(NONE);
  #rows = 0;
  #free: number[] = [];
  /** The hash of the key last looked up with `find` (used by `insert`). */
  #lastHash = 0;

  /** Keys held. */
  get size(): number {
    return this.#rows - this.#free.length;
  }

  /** Rows ever used (held or free): rows are below this. */
  get end(): number {
    return this.#rows;
  }

  /** The row of `key`, or -1. */
  find(key: string): number {
    const n = key.length;
    let h = 0x811c9dc5;
    for (let i = 0; i < n; i++) h = Math.imul(h ^ key.charCodeAt(i), 0x01000193);
    this.#lastHash = h;
    const u = this.#units;
    for (let row = this.#buckets[h & (this.#buckets.length - 1)]!; row !== NONE; row = this.#next[row]!) {
      if (this.#hash[row] !== h || this.#length[row] !== n) continue;
      const from = this.#offset[row]!;
      let i = 0;
      while (i < n && u[from + i] === key.charCodeAt(i)) i++;
      if (i === n) return row;
    }
    return NONE;
  }

  /** Adds `key`, which `find` has just not found; returns its row. */
  insert(key: string): number {
    const n = key.length;
    if (this.#end + n > this.#units.length) this.#make(n);
    let row: number;
    if (this.#free.length > 0) row = this.#free.pop()!;
    else {
      if (this.#rows === this.#offset.length) this.#growRows();
      row = this.#rows++;
    }
    const u = this.#units;
    const at = this.#end;
    for (let i = 0; i < n; i++) u[at + i] = key.charCodeAt(i);
    this.#end = at + n;
    this.#live += n;
    this.#offset[row] = at;
    this.#length[row] = n;
    const h = this.#lastHash;
    this.#hash[row] = h;
    const bucket = h & (this.#buckets.length - 1);
    this.#next[row] = this.#buckets[bucket]!;
    this.#buckets[bucket] = row;
    return row;
  }

  /** Forgets a key; its row may be reused. */
  remove(row: number): void {
    const bucket = this.#hash[row]! & (this.#buckets.length - 1);
    if (this.#buckets[bucket] === row) this.#buckets[bucket] = this.#next[row]!;
    else {
      let prev = this.#buckets[bucket]!;
      while (this.#next[prev] !== row) prev = this.#next[prev]!;
      this.#next[prev] = this.#next[row]!;
    }
    this.#live -= this.#length[row]!;
    this.#length[row] = NONE;
    this.#free.push(row);
  }

  /** The key of a row. */
  name(row: number): string {
    const from = this.#offset[row]!;
    const to = from + this.#length[row]!;
    let s = '';
    for (let i = from; i < to; i += 4096) s += String.fromCharCode.apply(null, this.#units.subarray(i, Math.min(to, i + 4096)) as unknown as number[]);
    return s;
  }

  /** Room for `n` more units: the keys held move to the front, in place (into a larger array when they fill more than half). */
  #make(n: number): void {
    const made = compactUnits(this.#units, this.#offset, this.#length, this.#rows, this.#live, n);
    this.#units = made.units;
    this.#end = made.end;
  }

  /** Twice the rows and buckets; chains laid out again. */
  #growRows(): void {
    const size = this.#offset.length * 2;
    this.#offset = growI32(this.#offset, size);
    this.#length = growI32(this.#length, size, NONE);
    this.#hash = growI32(this.#hash, size);
    this.#next = new Int32Array(size);
    this.#buckets = new Int32Array(size * 2).fill(NONE);
    const mask = this.#buckets.length - 1;
    for (let row = 0; row < this.#rows; row++) {
      if (this.#length[row]! < 0) continue;
      const bucket = this.#hash[row]! & mask;
      this.#next[row] = this.#buckets[bucket]!;
      this.#buckets[bucket] = row;
    }
  }
}
