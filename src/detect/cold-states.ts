import type { AlertChange } from '../core/alert.js';
import type { Observation } from './correlate.js';

/**
 * Correlation states nothing has touched for a while, held as bytes instead
 * of objects. Most of what the memory detector holds waits out a long window
 * untouched (a new factor waiting a day for a mailbox rule): as objects, each
 * such change is a dozen small ones (the observation, what an alert keeps of
 * the change, its strings, the rule state and its array) that outlive the
 * young generation, are copied and promoted, and die in the old one, where
 * they cost garbage-collection time and grow the heap. Frozen, a state is a
 * block of bytes in a 64 KiB chunk (outside the JavaScript heap) and a row of
 * typed-array columns; the key's string is the one object left. A state is
 * thawed back into objects, exactly as it was, when a change touches its key
 * again, or before eviction.
 *
 * Chunks are filled in order and released once none of their blocks is held;
 * frozen states expire roughly in the order they were frozen, so chunks empty
 * in order too.
 */

/** One state as the detector holds it, without its object links. */
export interface FrozenState {
  ruleIndex: number;
  /** The state's creation order (eviction goes by it). */
  seq: number;
  /** When nothing in it can match any more (ms of event time). */
  expires: number;
  /** The deadline queued for it (absence rules), if any. */
  due: number | undefined;
  /** Not dropped when it expires: an absence rule's state waiting for its deadline. */
  waiting: boolean;
  events: Observation[];
}

const CHUNK_BYTES = 64 * 1024;
const NONE = -1;
/** String header: absent (`undefined`). */
const ABSENT = 0xffffffff;
/** String header bit: the low bits are an index in the dictionary, not a byte length. */
const IN_DICTIONARY = 0x80000000;
/** Most distinct strings in the dictionary (kinds, channels, IdPs, vendor event types: a few hundred). */
const DICTIONARY_MAX = 4096;
/** Per event: time, mask, flags, event id count, and the headers of at most 11 strings besides the event ids. */
const EVENT_FIXED_BYTES = 8 + 4 + 4 + 4 + 11 * 4;

/** Frozen states by key, in byte chunks and typed-array columns. */
export class ColdStates {
  /** Key → first row of its states (linked through `#next`). */
  readonly #heads = new Map<string, number>();
  #rows = 0;
  #ruleIndex = new Int32Array(1024);
  #count = new Int32Array(1024);
  #chunk = new Int32Array(1024);
  #offset = new Int32Array(1024);
  #next = new Int32Array(1024);
  #seq = new Float64Array(1024);
  #expires = new Float64Array(1024);
  /** NaN: none. */
  #due = new Float64Array(1024);
  /** 1: an absence rule's state waiting for its deadline (kept past `expires`). */
  #waiting = new Uint8Array(1024);
  /** Changes marked as the first step (mask bit 0): an absence rule's pending changes. */
  #first = new Int32Array(1024);
  /** Rows free for reuse (a stack). */
  #free: number[] = [];
  #states = 0;
  #events = 0;

  readonly #chunks: Array<Buffer | undefined> = [];
  readonly #views: Array<DataView | undefined> = [];
  /** Blocks held per chunk. */
  readonly #live: number[] = [];
  #current = -1;
  #used = 0;

  readonly #dictionary = new Map<string, number>();
  readonly #words: string[] = [];

  /** States held. */
  get size(): number {
    return this.#states;
  }

  /** Changes held across all states. */
  get heldChanges(): number {
    return this.#events;
  }

  /** Bytes of chunks held (for tests and reports). */
  get bytes(): number {
    let n = 0;
    for (const c of this.#chunks) if (c) n += c.length;
    return n;
  }

  has(key: string): boolean {
    return this.#heads.has(key);
  }

  /** Holds every state of one key (the key must hold none here yet). */
  freeze(key: string, states: readonly FrozenState[]): void {
    let head = NONE;
    for (let i = states.length - 1; i >= 0; i--) {
      const row = this.#write(states[i]!);
      this.#next[row] = head;
      head = row;
    }
    if (head !== NONE) this.#heads.set(key, head);
  }

  /** Takes a key's states back as objects, in the order they were frozen; undefined when none is held. */
  thaw(key: string): FrozenState[] | undefined {
    const head = this.#heads.get(key);
    if (head === undefined) return undefined;
    this.#heads.delete(key);
    const out: FrozenState[] = [];
    for (let row = head; row !== NONE; ) {
      out.push(this.#read(row));
      const next = this.#next[row]!;
      this.#release(row);
      row = next;
    }
    return out;
  }

  /** Takes every state back (eviction works on objects), key by key. */
  thawAll(): Array<[string, FrozenState[]]> {
    const out: Array<[string, FrozenState[]]> = [];
    for (const key of [...this.#heads.keys()]) out.push([key, this.thaw(key)!]);
    return out;
  }

  /** Changes marked as a first step (mask bit 0) in the states of the rules `counts` says yes to. */
  firstSteps(counts: (ruleIndex: number) => boolean): number {
    let n = 0;
    for (const head of this.#heads.values())
      for (let row = head; row !== NONE; row = this.#next[row]!) if (counts(this.#ruleIndex[row]!)) n += this.#first[row]!;
    return n;
  }

  /** Drops the states that expire at or before `low`, but those waiting for a deadline; returns how many. */
  sweep(low: number): number {
    let dropped = 0;
    for (const [key, head] of this.#heads) {
      let first = head;
      let prev = NONE;
      for (let row = head; row !== NONE; ) {
        const next = this.#next[row]!;
        if (this.#expires[row]! <= low && this.#waiting[row] === 0) {
          if (prev === NONE) first = next;
          else this.#next[prev] = next;
          this.#release(row);
          dropped++;
        } else prev = row;
        row = next;
      }
      if (first === NONE) this.#heads.delete(key);
      else if (first !== head) this.#heads.set(key, first);
    }
    return dropped;
  }

  #write(state: FrozenState): number {
    const row = this.#row();
    let bound = 0;
    for (const e of state.events) bound += EVENT_FIXED_BYTES + 4 * e.change.eventIds.length + 3 * stringsLength(e);
    const view = this.#reserve(bound);
    const bytes = this.#chunks[this.#current]!;
    let p = this.#used;
    for (const e of state.events) {
      const c = e.change;
      view.setFloat64(p, e.at, true);
      view.setInt32(p + 8, e.mask, true);
      // Flags: the actor's label is the target's; `coveredBy` and `distinct` present.
      view.setUint32(p + 12, (c.actor === c.target ? 1 : 0) | ('coveredBy' in c ? 2 : 0) | ('distinct' in e ? 4 : 0), true);
      view.setUint32(p + 16, c.eventIds.length, true);
      p += 20;
      p = this.#string(bytes, view, p, e.uid);
      if ('distinct' in e) p = this.#string(bytes, view, p, e.distinct);
      p = this.#string(bytes, view, p, c.id);
      p = this.#word(bytes, view, p, c.kind);
      p = this.#word(bytes, view, p, c.channel);
      p = this.#string(bytes, view, p, c.occurredAt);
      p = this.#word(bytes, view, p, c.idp);
      for (const id of c.eventIds) p = this.#string(bytes, view, p, id);
      p = this.#word(bytes, view, p, c.rawType);
      p = this.#string(bytes, view, p, c.targetId);
      p = this.#string(bytes, view, p, c.target);
      if (c.actor !== c.target) p = this.#string(bytes, view, p, c.actor);
      if ('coveredBy' in c) p = this.#string(bytes, view, p, c.coveredBy);
    }
    this.#ruleIndex[row] = state.ruleIndex;
    this.#count[row] = state.events.length;
    this.#chunk[row] = this.#current;
    this.#offset[row] = this.#used;
    this.#seq[row] = state.seq;
    this.#expires[row] = state.expires;
    this.#due[row] = state.due ?? Number.NaN;
    this.#waiting[row] = state.waiting ? 1 : 0;
    let first = 0;
    for (const e of state.events) if (e.mask & 1) first++;
    this.#first[row] = first;
    this.#used = p;
    this.#live[this.#current]!++;
    this.#states++;
    this.#events += state.events.length;
    return row;
  }

  #read(row: number): FrozenState {
    const chunk = this.#chunk[row]!;
    const bytes = this.#chunks[chunk]!;
    const view = this.#views[chunk]!;
    const cursor = { p: this.#offset[row]! };
    const events: Observation[] = [];
    for (let n = this.#count[row]!; n > 0; n--) {
      const at = view.getFloat64(cursor.p, true);
      const mask = view.getInt32(cursor.p + 8, true);
      const flags = view.getUint32(cursor.p + 12, true);
      const eventIdCount = view.getUint32(cursor.p + 16, true);
      cursor.p += 20;
      const uid = this.#readString(bytes, view, cursor)!;
      const distinct = flags & 4 ? this.#readString(bytes, view, cursor) : undefined;
      const id = this.#readString(bytes, view, cursor)!;
      const kind = this.#readString(bytes, view, cursor) as AlertChange['kind'];
      const channel = this.#readString(bytes, view, cursor) as AlertChange['channel'];
      const occurredAt = this.#readString(bytes, view, cursor)!;
      const idp = this.#readString(bytes, view, cursor)!;
      const eventIds: string[] = [];
      for (let i = 0; i < eventIdCount; i++) eventIds.push(this.#readString(bytes, view, cursor)!);
      const rawType = this.#readString(bytes, view, cursor) as string;
      const targetId = this.#readString(bytes, view, cursor)!;
      const target = this.#readString(bytes, view, cursor)!;
      const actor = flags & 1 ? target : this.#readString(bytes, view, cursor)!;
      // The same properties in the same order as alertChangeOf builds them (alerts print them in that order).
      const change: AlertChange = { id, kind, channel, occurredAt, idp, eventIds, rawType, targetId, target, actor };
      if (flags & 2) change.coveredBy = this.#readString(bytes, view, cursor) as string;
      events.push(flags & 4 ? { uid, at, mask, distinct: distinct as string, change } : { uid, at, mask, change });
    }
    const due = this.#due[row]!;
    return {
      ruleIndex: this.#ruleIndex[row]!,
      seq: this.#seq[row]!,
      expires: this.#expires[row]!,
      due: Number.isNaN(due) ? undefined : due,
      waiting: this.#waiting[row] === 1,
      events,
    };
  }

  /** A string's bytes: a header (byte length, or ABSENT) and UTF-8 (one byte a character for ASCII, written here). */
  #string(bytes: Buffer, view: DataView, p: number, s: string | undefined): number {
    if (s === undefined) {
      view.setUint32(p, ABSENT, true);
      return p + 4;
    }
    const n = s.length;
    let i = 0;
    for (; i < n; i++) {
      const ch = s.charCodeAt(i);
      if (ch > 0x7f) break;
      bytes[p + 4 + i] = ch;
    }
    const length = i === n ? n : bytes.write(s, p + 4, 'utf8');
    view.setUint32(p, length, true);
    return p + 4 + length;
  }

  /** A string of few distinct values (kind, channel, IdP, vendor event type): its index in the dictionary. */
  #word(bytes: Buffer, view: DataView, p: number, s: string | undefined): number {
    if (s === undefined) return this.#string(bytes, view, p, s);
    let index = this.#dictionary.get(s);
    if (index === undefined) {
      if (this.#words.length >= DICTIONARY_MAX) return this.#string(bytes, view, p, s);
      index = this.#words.length;
      this.#words.push(s);
      this.#dictionary.set(s, index);
    }
    view.setUint32(p, IN_DICTIONARY | index, true);
    return p + 4;
  }

  #readString(bytes: Buffer, view: DataView, cursor: { p: number }): string | undefined {
    const header = view.getUint32(cursor.p, true);
    cursor.p += 4;
    if (header === ABSENT) return undefined;
    if (header & IN_DICTIONARY) return this.#words[header & ~IN_DICTIONARY]!;
    const s = bytes.toString('utf8', cursor.p, cursor.p + header);
    cursor.p += header;
    return s;
  }

  /** Room for `bound` bytes in the current chunk (a new chunk when it has not). */
  #reserve(bound: number): DataView {
    if (this.#current === NONE || this.#used + bound > this.#chunks[this.#current]!.length) {
      const previous = this.#current;
      const bytes = Buffer.allocUnsafeSlow(Math.max(CHUNK_BYTES, bound));
      this.#current = this.#chunks.length;
      this.#chunks.push(bytes);
      this.#views.push(new DataView(bytes.buffer, bytes.byteOffset, bytes.length));
      this.#live.push(0);
      this.#used = 0;
      if (previous !== NONE && this.#live[previous] === 0) this.#drop(previous);
    }
    return this.#views[this.#current]!;
  }

  #drop(chunk: number): void {
    this.#chunks[chunk] = undefined;
    this.#views[chunk] = undefined;
  }

  #row(): number {
    const reused = this.#free.pop();
    if (reused !== undefined) return reused;
    if (this.#rows === this.#next.length) this.#grow();
    return this.#rows++;
  }

  #release(row: number): void {
    const chunk = this.#chunk[row]!;
    this.#states--;
    this.#events -= this.#count[row]!;
    if (--this.#live[chunk]! === 0 && chunk !== this.#current) this.#drop(chunk);
    this.#free.push(row);
  }

  #grow(): void {
    const n = this.#next.length * 2;
    const grow32 = (a: Int32Array) => {
      const b = new Int32Array(n);
      b.set(a);
      return b;
    };
    const grow64 = (a: Float64Array) => {
      const b = new Float64Array(n);
      b.set(a);
      return b;
    };
    this.#ruleIndex = grow32(this.#ruleIndex);
    this.#count = grow32(this.#count);
    this.#chunk = grow32(this.#chunk);
    this.#offset = grow32(this.#offset);
    this.#next = grow32(this.#next);
    this.#seq = grow64(this.#seq);
    this.#expires = grow64(this.#expires);
    this.#due = grow64(this.#due);
    this.#first = grow32(this.#first);
    const waiting = new Uint8Array(n);
    waiting.set(this.#waiting);
    this.#waiting = waiting;
  }
}

/** The UTF-16 length of the strings one observation keeps (a bound on their UTF-8 bytes once tripled). */
function stringsLength(e: Observation): number {
  const c = e.change;
  // The dictionary's words too: written out when it is full.
  let n =
    e.uid.length + c.id.length + c.kind.length + c.channel.length + c.occurredAt.length + c.idp.length + c.targetId.length + c.target.length + c.actor.length;
  if (c.rawType !== undefined) n += c.rawType.length;
  if (e.distinct !== undefined) n += e.distinct.length;
  if (c.coveredBy !== undefined) n += c.coveredBy.length;
  for (const id of c.eventIds) n += id.length;
  return n;
}
