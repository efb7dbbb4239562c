import type { AlertChange } from '../core/alert.js';
import type { IdentityChange } from '../core/identity-change.js';
import { principalLabel } from './alert.js';
import { endianness } from 'node:os';
import { growI32, compactUnits } from './columns.js';

/**
 * What the memory detector keeps of a change while a rule waits for its
 * next step (up to a day of event time), held in an array of 16-bit units
 * outside the JavaScript heap: one row per change, shared by every rule
 * state (and, when the detector builds alerts when final, every open alert)
 * that holds it, counted by reference.
 *
 * As objects (the `AlertChange`, its strings, the vendor event id array),
 * every held change outlived the young generation, was copied and promoted,
 * and died in the old one: most of the replay's garbage-collection time and
 * of its peak resident set (docs/performance.md §6). Here it is written
 * once, compared in place for duplicates, and read back into an
 * `AlertChange` only when it takes part in a match.
 *
 * A row is the strings of the change one after the other, each a header and
 * its characters, exactly: two Latin-1 characters a unit, or (when one is
 * beyond Latin-1) a UTF-16 code unit a unit. The header is the length, with
 * `WIDE` for the second form; `ABSENT` for `undefined`; `SAME` for an actor
 * label that is the target's (a self-service change); `LONG`, two units of
 * length and one of form for 0x7ffd characters or more. The strings: id,
 * kind, channel, occurredAt, IdP, vendor type, target id, target and actor
 * labels, the covering request, then the number of vendor event ids and the
 * ids. The de-duplication key (`changeUid`: `<IdP>:<first event id>`, or
 * `id:<change id>`) is not written: `same` compares its parts.
 */

const ABSENT = 0xffff;
const LONG = 0xfffe;
const SAME = 0xfffd;
/** The longest string with a one-unit header (longer ones are `LONG`). */
const SHORT_MAX = 0x7ffc;
/** Header bit: the string is stored a code unit per unit (else two Latin-1 characters per unit). */
const WIDE = 0x8000;
/**
 * On a little-endian machine the arena's bytes are the strings' Latin-1 bytes (two characters a
 * unit, the first in the low byte) or their UTF-16LE code units: read back by one native decode.
 */
const LITTLE_ENDIAN = endianness() === 'LE';
/** Code units of the arena at first (it grows by doubling when the rows held fill more than half). */
const INITIAL_UNITS = 1 << 18;
const INITIAL_ROWS = 1024;

/** Held changes, as rows of code units. */
export class HeldChanges {
  #units: Uint16Array = new Uint16Array(INITIAL_UNITS);
  /** The arena's memory as bytes (for decoding). */
  #bytes: Buffer = bytesOf(this.#units);
  /** Units written (the next row starts here). */
  #end = 0;
  /** Units of rows still held. */
  #live = 0;
  #offset: Int32Array = new Int32Array(INITIAL_ROWS);
  /** Units of each row; -1 when the row is free. */
  #length: Int32Array = new Int32Array(INITIAL_ROWS).fill(-1);
  #refs: Int32Array = new Int32Array(INITIAL_ROWS);
  #rows = 0;
  #free: number[] = [];

  /** Rows held now. */
  get size(): number {
    return this.#rows - this.#free.length;
  }

  /** Code units of the arena (for memory figures). */
  get capacity(): number {
    return this.#units.length;
  }

  /**
   * Writes what `alertChangeOf(change, coveredBy)` keeps, and the change's
   * de-duplication key. The row starts with no reference: see `dropIfUnheld`.
   */
  add(change: IdentityChange, coveredBy: string | undefined): number {
    const source = change.source;
    const ids = source.eventIds as readonly string[] | undefined;
    const target = principalLabel(change.target);
    const actor = principalLabel(change.actor);
    let need = 3 * 16 + len(change.id) + len(change.kind) + len(change.channel) + len(change.occurredAt) + len(source.idp);
    need += len(source.rawType) + len(change.target.id) + len(target) + len(actor) + len(coveredBy);
    if (ids !== undefined) for (let i = 0; i < ids.length; i++) need += 3 + len(ids[i]);
    if (this.#end + need > this.#units.length) this.#make(need);
    const row = this.#free.length > 0 ? this.#free.pop()! : this.#newRow();
    const start = this.#end;
    let at = start;
    at = this.#put(at, change.id);
    at = this.#put(at, change.kind);
    at = this.#put(at, change.channel);
    at = this.#put(at, change.occurredAt);
    at = this.#put(at, source.idp);
    at = this.#put(at, source.rawType);
    at = this.#put(at, change.target.id);
    at = this.#put(at, target);
    if (actor === target && actor !== undefined) this.#units[at++] = SAME;
    else at = this.#put(at, actor);
    at = this.#put(at, coveredBy);
    if (ids === undefined) this.#units[at++] = ABSENT;
    else {
      at = this.#header(at, ids.length, false);
      for (let i = 0; i < ids.length; i++) at = this.#put(at, ids[i]);
    }
    this.#end = at;
    this.#offset[row] = start;
    this.#length[row] = at - start;
    this.#refs[row] = 0;
    this.#live += at - start;
    return row;
  }

  retain(row: number): void {
    this.#refs[row]!++;
  }

  /** Drops one reference; the row is freed with the last. */
  release(row: number): void {
    if (--this.#refs[row]! <= 0) this.#drop(row);
  }

  /** Frees a row no state took (the change matched only rules that keep nothing). */
  dropIfUnheld(row: number): void {
    if (this.#refs[row] === 0 && this.#length[row]! >= 0) this.#drop(row);
  }

  /** Whether two rows are the same change as `holds` (correlate.ts) tells: the same de-duplication key or the same change id. */
  same(a: number, b: number): boolean {
    const ida = this.#offset[a]!;
    const idb = this.#offset[b]!;
    if (this.#equalAt(ida, idb)) return true;
    // The keys, `<IdP>:<first event id>` or `id:<change id>`, compared by their parts (an IdP has no colon).
    const idpa = this.#idpAt(ida);
    const idpb = this.#idpAt(idb);
    const firsta = this.#firstEventAt(idpa);
    const firstb = this.#firstEventAt(idpb);
    if (firsta !== -1 && firstb !== -1) return this.#equalAt(idpa, idpb) && this.#equalAt(firsta, firstb);
    if (firsta !== -1) return this.#isId(idpa) && this.#equalAt(firsta, idb);
    if (firstb !== -1) return this.#isId(idpb) && this.#equalAt(firstb, ida);
    return false; // both `id:<change id>`, and the ids differ
  }

  /** Whether two rows are changes with the same id (an alert counts a change once by its id). */
  sameId(a: number, b: number): boolean {
    return this.#equalAt(this.#offset[a]!, this.#offset[b]!);
  }

  /** Where a row's IdP is, from where the row starts (past id, kind, channel and occurredAt). */
  #idpAt(p: number): number {
    return this.#skip(this.#skip(this.#skip(this.#skip(p))));
  }

  /** Where the first vendor event id is, from where the IdP is; -1 when there is none. */
  #firstEventAt(idp: number): number {
    let p = idp;
    for (let i = 0; i < 6; i++) p = this.#skip(p); // IdP, vendor type, target id, target, actor, covering request
    const h = this.#units[p]!;
    if (h === ABSENT || h === 0) return -1;
    return h === LONG ? p + 4 : p + 1;
  }

  /** Whether the string at `p` is `id` (the IdP part of `id:<change id>`). */
  #isId(p: number): boolean {
    const u = this.#units;
    return u[p] === 2 && u[p + 1] === (0x69 | (0x64 << 8));
  }

  /** What an alert keeps of the held change (as `alertChangeOf` built it). */
  alertChange(row: number): AlertChange {
    this.#at = this.#offset[row]!;
    const id = this.#get()!;
    const kind = this.#get() as AlertChange['kind'];
    const channel = this.#get() as AlertChange['channel'];
    const occurredAt = this.#get()!;
    const idp = this.#get()!;
    const rawType = this.#get()!;
    const targetId = this.#get()!;
    const target = this.#get()!;
    let actor: string;
    if (this.#units[this.#at] === SAME) {
      this.#at++;
      actor = target;
    } else actor = this.#get()!;
    const coveredBy = this.#get();
    const count = this.#length0();
    let eventIds: string[] | undefined;
    if (count !== -1) {
      eventIds = new Array<string>(count);
      for (let i = 0; i < count; i++) eventIds[i] = this.#get()!;
    }
    const ref = { id, kind, channel, occurredAt, idp, eventIds, rawType, targetId, target, actor } as AlertChange;
    if (coveredBy !== undefined) ref.coveredBy = coveredBy;
    return ref;
  }

  /** Read position of `#get`. */
  #at = 0;

  /** The string at `#at` (moving past it). */
  #get(): string | undefined {
    const u = this.#units;
    const p = this.#at;
    const h = u[p]!;
    if (h === ABSENT) {
      this.#at = p + 1;
      return undefined;
    }
    let n: number;
    let wide: boolean;
    let from: number;
    if (h === LONG) {
      n = u[p + 1]! + u[p + 2]! * 0x10000;
      wide = u[p + 3] === 1;
      from = p + 4;
    } else {
      n = h & ~WIDE;
      wide = (h & WIDE) !== 0;
      from = p + 1;
    }
    this.#at = this.#skip(p);
    return LITTLE_ENDIAN ? decodeBytes(this.#bytes, from, n, wide) : decodeUnits(u, from, n, wide);
  }

  /** The count in the header at `#at` (moving past it), or -1 for `undefined`. */
  #length0(): number {
    const u = this.#units;
    const h = u[this.#at++]!;
    if (h === ABSENT) return -1;
    if (h !== LONG) return h;
    const n = u[this.#at]! + u[this.#at + 1]! * 0x10000;
    this.#at += 3;
    return n;
  }

  /** The position after the string (or count) at `p`. */
  #skip(p: number): number {
    const u = this.#units;
    const h = u[p]!;
    if (h === ABSENT || h === SAME) return p + 1;
    if (h === LONG) {
      const n = u[p + 1]! + u[p + 2]! * 0x10000;
      return p + 4 + (u[p + 3] === 1 ? n : (n + 1) >> 1);
    }
    return p + 1 + (h & WIDE ? h & ~WIDE : ((h & ~WIDE) + 1) >> 1);
  }

  /** Whether the strings at two positions are the same (`undefined` is never the same). */
  #equalAt(pa: number, pb: number): boolean {
    const u = this.#units;
    if (u[pa] === ABSENT || u[pb] === ABSENT) return false;
    const ea = this.#skip(pa);
    if (ea - pa !== this.#skip(pb) - pb) return false;
    for (let i = 0; i < ea - pa; i++) if (u[pa + i] !== u[pb + i]) return false;
    return true;
  }

  /** A header for `n` characters (or a count, `wide` false); returns the position after it. */
  #header(at: number, n: number, wide: boolean): number {
    const u = this.#units;
    if (n <= SHORT_MAX) {
      u[at] = wide ? n | WIDE : n;
      return at + 1;
    }
    u[at] = LONG;
    u[at + 1] = n & 0xffff;
    u[at + 2] = Math.floor(n / 0x10000);
    u[at + 3] = wide ? 1 : 0;
    return at + 4;
  }

  /** Writes one string at `at`: two Latin-1 characters a unit, or a unit a character when one is beyond Latin-1. Returns the position after it. */
  #put(at: number, s: string | undefined): number {
    if (s === undefined) {
      this.#units[at] = ABSENT;
      return at + 1;
    }
    const n = s.length;
    const u = this.#units;
    const from = this.#header(at, n, false);
    let wide = false;
    for (let i = 0, p = from; i < n; i += 2, p++) {
      const a = s.charCodeAt(i);
      const b = i + 1 < n ? s.charCodeAt(i + 1) : 0;
      if ((a | b) > 0xff) {
        wide = true;
        break;
      }
      u[p] = a | (b << 8);
    }
    if (!wide) return from + ((n + 1) >> 1);
    const start = this.#header(at, n, true);
    for (let i = 0; i < n; i++) u[start + i] = s.charCodeAt(i);
    return start + n;
  }

  #drop(row: number): void {
    this.#live -= this.#length[row]!;
    this.#length[row] = -1;
    this.#refs[row] = 0;
    this.#free.push(row);
  }

  #newRow(): number {
    if (this.#rows === this.#offset.length) {
      const size = this.#rows * 2;
      this.#offset = growI32(this.#offset, size);
      this.#refs = growI32(this.#refs, size);
      this.#length = growI32(this.#length, size, -1);
    }
    return this.#rows++;
  }

  /**
   * Room for `need` more units: the rows still held are moved to the front,
   * in place, in the order they were written (a larger arena when they fill
   * more than half of it).
   */
  #make(need: number): void {
    const made = compactUnits(this.#units, this.#offset, this.#length, this.#rows, this.#live, need);
    this.#units = made.units;
    if (made.units.buffer !== this.#bytes.buffer) this.#bytes = bytesOf(made.units);
    this.#end = made.end;
  }
}

/** Upper bound of a string's units, header included. */
function len(s: string | undefined): number {
  return s === undefined ? 1 : s.length + 4;
}

/** The bytes of an arena (the same memory). */
export function bytesOf(units: Uint16Array): Buffer {
  return Buffer.from(units.buffer, units.byteOffset, units.byteLength);
}

/** `n` characters written by `#put` at unit `from`, read through the arena's bytes (little-endian machines only). */
export function decodeBytes(bytes: Buffer, from: number, n: number, wide: boolean): string {
  return bytes.toString(wide ? 'utf16le' : 'latin1', from * 2, from * 2 + (wide ? 2 * n : n));
}

/** `n` characters written by `#put` at unit `from`, read unit by unit (any machine). */
export function decodeUnits(u: Uint16Array, from: number, n: number, wide: boolean): string {
  const codes = new Array<number>(n);
  if (wide) for (let i = 0; i < n; i++) codes[i] = u[from + i]!;
  else for (let i = 0; i < n; i++) codes[i] = i & 1 ? u[from + (i >> 1)]! >> 8 : u[from + (i >> 1)]! & 0xff;
  let s = '';
  for (let i = 0; i < n; i += 4096) s += String.fromCharCode.apply(null, codes.slice(i, i + 4096));
  return s;
}
