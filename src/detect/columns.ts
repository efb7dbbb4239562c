/**
 * Helpers for state held in typed-array columns (src/detect/memory-detector.ts,
 * held-changes.ts, key-table.ts): growing a column, and the rows of an arena
 * in the order of their offsets (for compaction in place).
 */

export function growI32(a: Int32Array, size: number, fill?: number): Int32Array {
  const b = new Int32Array(size);
  if (fill !== undefined) b.fill(fill, a.length);
  b.set(a);
  return b;
}

export function growF64(a: Float64Array, size: number): Float64Array {
  const b = new Float64Array(size);
  b.set(a);
  return b;
}

export function growU8(a: Uint8Array, size: number): Uint8Array {
  const b = new Uint8Array(size);
  b.set(a);
  return b;
}

/** The rows in use (length ≥ 0), in the order of their offsets: one numeric sort of offset and row packed in a double. */
export function inOffsetOrder(offset: Int32Array, length: Int32Array, rows: number): ArrayLike<number> {
  let n = 0;
  for (let row = 0; row < rows; row++) if (length[row]! >= 0) n++;
  if (rows >= 1 << 22) {
    const list: number[] = [];
    for (let row = 0; row < rows; row++) if (length[row]! >= 0) list.push(row);
    return list.sort((a, b) => offset[a]! - offset[b]!);
  }
  const packed = new Float64Array(n);
  let i = 0;
  for (let row = 0; row < rows; row++) if (length[row]! >= 0) packed[i++] = offset[row]! * (1 << 22) + row;
  packed.sort();
  const out = new Int32Array(n);
  for (let j = 0; j < n; j++) out[j] = packed[j]! % (1 << 22);
  return out;
}

/**
 * Room for `need` more units in an arena of 16-bit units whose rows are
 * `offset`/`length` (length < 0: a free row): the rows in use move to the
 * front in the order they were written, in place, or into an arena twice as
 * large (as often as needed) when they would fill more than half of it.
 * Rewrites `offset`; returns the arena to use and where its free space starts.
 */
export function compactUnits(
  units: Uint16Array,
  offset: Int32Array,
  length: Int32Array,
  rows: number,
  live: number,
  need: number,
): { units: Uint16Array; end: number } {
  let size = units.length;
  while (live + need > size / 2) size *= 2;
  const order = inOffsetOrder(offset, length, rows);
  const into = size === units.length ? units : new Uint16Array(size);
  let end = 0;
  for (let i = 0; i < order.length; i++) {
    const row = order[i]!;
    const from = offset[row]!;
    const n = length[row]!;
    if (into === units) into.copyWithin(end, from, from + n);
    else into.set(units.subarray(from, from + n), end);
    offset[row] = end;
    end += n;
  }
  return { units: into, end };
}
