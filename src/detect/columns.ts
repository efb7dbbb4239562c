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
