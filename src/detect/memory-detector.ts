import { systemClock, type Clock } from '../core/clock.js';
import { randomUUID } from 'node:crypto';
import { detectionSource } from '../core/detection-source.js';
import type { IdentityChange } from '../core/identity-change.js';
import type { Alert, AlertChange } from '../core/alert.js';
import { alertChangeOf, coveringRequest, groupsWith, mergeMatch, newAlert, summarize } from './alert.js';
import type { CompiledDetectionRule } from './compile-rule-pack.js';
import { addObservation, cap, dueAt, expiresAt, fireDue, loneDueAt, loneExpiresAt, prune, type Found, type KeyState, type Observation } from './correlate.js';
import { HeldChanges } from './held-changes.js';
import { SeenChanges } from './seen-changes.js';
import { KeyTable } from './key-table.js';
import { growF64, growI32 } from './columns.js';
import type { ChangeFacts, DetectionEngine, EvaluationError } from './detection-engine.js';
import { isoMillis } from './iso-millis.js';
import { SourceWatermarks } from './source-watermarks.js';
import { DETECTION_DEFAULTS } from '../config/config-schema.js';
import { parseDuration } from '../core/policy/duration.js';

/**
 * Detection with its state in memory, in event time: what `warden detect
 * replay`, `warden detect test` and the benchmark run. Each source has its
 * own watermark (src/detect/source-watermarks.ts): a change is late when it
 * is older than its own source's newest event minus the allowed lateness,
 * and windows close once every active source has passed them (plus the
 * lateness). Idleness is measured in event time (the newest event of any
 * source), never on a wall clock, so a replay gives the same alerts on every
 * run. Memory is bounded: state that can no
 * longer match is pruned as event time moves on, and beyond `maxKeys` keys
 * (or `maxEventsPerKey` changes on one key) the least recently updated state
 * is evicted and counted.
 */

export interface MemoryDetectorOptions {
  tenant: string;
  /** Default allowed lateness (rules may set their own). */
  latenessMs: number;
  /** Matches on the same key within this span of event time are one alert. */
  groupForMs: number;
  /** A source that delivered nothing while event time moved on this much stops holding windows open (default 3 hours). */
  idleAfterMs?: number;
  /** Sources expected to deliver (`okta/hook`, `m365/poll`, …): they hold windows open from the first change until they deliver or go idle. */
  sources?: readonly string[];
  /** Most (rule, key) states kept at once (default 100,000). */
  maxKeys?: number;
  /** Most changes kept for one (rule, key) (default 1,000). */
  maxEventsPerKey?: number;
  /** When no event has been seen yet, what "now" is (default the system clock). */
  clock?: Clock;
  /** Alert ids (default random UUIDs). */
  newId?: () => string;
  /**
   * Told of each alert once nothing can change it any more (no later match
   * can group with it), and of the rest at `finish()`. With it, alerts are
   * handed over rather than kept: memory stays bounded however long the
   * input. Without it, `alerts` keeps them all.
   */
  onFinal?: (alert: Alert) => void;
  /**
   * With `onFinal`: `push`, `progress` and `advanceTo` return no alerts, and
   * an alert is built once, when final, from what its matches keep (held
   * changes, outside the heap) instead of being rebuilt as objects on every
   * match and held for up to two days of event time. What `onFinal` is told
   * is the same. For callers that only stream (`warden detect replay`).
   */
  buildWhenFinal?: boolean;
}

export interface DetectorStats {
  /** Changes pushed. */
  changes: number;
  /** Changes that mattered to at least one rule. */
  observed: number;
  /** Changes dropped by at least one rule for arriving later than its allowed lateness. */
  late: number;
  /** Changes seen before (same vendor event or change id): counted once. */
  duplicates: number;
  /** Changes dropped from state to keep memory bounded (their key or rule state was evicted). */
  evicted: number;
  /** Step or key expressions that could not be evaluated. */
  errors: number;
  /** Rule matches (several may group into one alert). */
  matches: number;
}

/**
 * State held as columns (typed arrays) rather than objects: a held change
 * outlives the young generation (a rule may wait a day of event time for its
 * next step), and every object it kept was copied, promoted and collected in
 * the old generation (docs/performance.md §6). Per (rule, key) state a row of
 * state fields; per held change of a state a row of event fields; per key a
 * row of key fields. A row's fields sit next to each other (a stride of
 * integers, a stride of times), not one typed array per field: a visit then
 * touches two cache lines of a state, not nine. What an
 * alert keeps of a change is bytes in `HeldChanges`, shared by the states
 * that hold it. A state's changes become `Observation` objects only while a
 * change or a deadline touches it (they die young), so the matching
 * semantics are those of src/detect/correlate.ts, unchanged.
 */

/** An observation while its state is being worked on: `row` is its held change (`HeldChanges`). */
interface Held extends Observation {
  row: number;
}

/** Stands in for `Observation.change` while a state is thawed: alerts read the held change by `row`. */
const UNREAD_CHANGE = Object.freeze({}) as AlertChange;
const NONE = -1;
/** Integers of a state row (`#si`): rule, key row, next state of the key, first held change, changes held, live. */
const SI = 8;
const S_RULE = 0;
const S_KEY = 1;
const S_NEXT = 2;
const S_HEAD = 3;
const S_COUNT = 4;
const S_LIVE = 5;
/** Times of a state row (`#sf`): creation order (eviction goes rule by rule, oldest first; it also tells a reused row from the state queued before), when nothing in the state can match any more, when it is queued to fall due (absence rules; NaN when not). */
const SF = 4;
const S_SEQ = 0;
const S_EXPIRES = 1;
const S_DUE = 2;
/** Integers of an event row (`#ei`): the steps it matches, the held change (row of `#held`), the next event of its state. */
const EI = 4;
const E_MASK = 0;
const E_CHANGE = 1;
const E_NEXT = 2;
/**
 * Integers (`#ki`) and times (`#kf`) of a key row: its first state row (states of a key are linked through
 * `S_NEXT`), whether it is live; the earliest `expires` among its states housekeeping may drop (not an
 * absence rule's state waiting to fall due; Infinity when none), and when it is queued in `#sweep`
 * (Infinity: not queued; never later than the first).
 */
const KI = 2;
const K_FIRST = 0;
const K_LIVE = 1;
const KF = 2;
const K_SWEEP = 0;
const K_QUEUED = 1;

/** A binary min-heap of (time, id, stamp) in typed arrays. */
class TimeHeap {
  #at: Float64Array = new Float64Array(256);
  #id: Int32Array = new Int32Array(256);
  #stamp: Float64Array = new Float64Array(256);
  #size = 0;
  /** The stamp of the last entry popped. */
  stamp = 0;

  get size(): number {
    return this.#size;
  }

  peek(): number {
    return this.#size > 0 ? this.#at[0]! : Infinity;
  }

  push(at: number, id: number, stamp: number): void {
    if (this.#size === this.#at.length) {
      this.#at = growF64(this.#at, this.#size * 2);
      this.#id = growI32(this.#id, this.#size * 2);
      this.#stamp = growF64(this.#stamp, this.#size * 2);
    }
    const times = this.#at;
    const ids = this.#id;
    const stamps = this.#stamp;
    // Sift up, moving parents down into the hole rather than swapping (the same order as swapping).
    let i = this.#size++;
    while (i > 0) {
      const parent = (i - 1) >> 1;
      if (times[parent]! <= at) break;
      times[i] = times[parent]!;
      ids[i] = ids[parent]!;
      stamps[i] = stamps[parent]!;
      i = parent;
    }
    times[i] = at;
    ids[i] = id;
    stamps[i] = stamp;
  }

  /** Removes the earliest entry; returns its id (its stamp in `stamp`). */
  pop(): number {
    const times = this.#at;
    const ids = this.#id;
    const stamps = this.#stamp;
    const top = ids[0]!;
    this.stamp = stamps[0]!;
    const last = --this.#size;
    if (last > 0) {
      // The last entry sifts down from the root: children move up into the hole (the same order as swapping).
      const at = times[last]!;
      const id = ids[last]!;
      const stamp = stamps[last]!;
      let i = 0;
      for (;;) {
        const l = 2 * i + 1;
        const r = l + 1;
        let m = i;
        let least = at;
        if (l < last && times[l]! < least) {
          m = l;
          least = times[l]!;
        }
        if (r < last && times[r]! < least) m = r;
        if (m === i) break;
        times[i] = times[m]!;
        ids[i] = ids[m]!;
        stamps[i] = stamps[m]!;
        i = m;
      }
      times[i] = at;
      ids[i] = id;
      stamps[i] = stamp;
    }
    return top;
  }
}

/** Free rows for reuse, and the next new row. */
class Rows {
  #free: number[] = [];
  #next = 0;

  /** A row: a free one, or the next new one (the caller grows its columns when that is beyond them). */
  take(): number {
    return this.#free.length > 0 ? this.#free.pop()! : this.#next++;
  }

  give(row: number): void {
    this.#free.push(row);
  }

  /** Rows ever used (live or free): iterate 0..end. */
  get end(): number {
    return this.#next;
  }
}

const NO_ALERTS: readonly Alert[] = Object.freeze([]);
/** The default of `idleAfterMs` (the config's `detection.sourceIdleAfter`). */
const DEFAULT_IDLE_AFTER_MS = parseDuration(DETECTION_DEFAULTS.sourceIdleAfter) * 1000;
const NO_FACTS: ChangeFacts = Object.freeze({});

/** One match of a pending alert: its rule, its held changes (retained), and when it was found. */
interface PendingMatch {
  rule: CompiledDetectionRule;
  rows: number[];
  now: number;
}

/** An open alert not built yet (`buildWhenFinal`). */
interface PendingAlert {
  id: string;
  key: string;
  /** Event time of its earliest and latest change (what `firstAt` and `lastAt` will be). */
  firstMs: number;
  lastMs: number;
  /** Its changes, each once (by change id). */
  rows: number[];
  matches: PendingMatch[];
}

/** Runs a rule pack over changes held in memory. */
export class MemoryDetector {
  /** Alerts raised so far, in the order they were raised (grouped alerts updated in place); empty with `onFinal`. */
  readonly alerts: Alert[] = [];
  readonly stats: DetectorStats = { changes: 0, observed: 0, late: 0, duplicates: 0, evicted: 0, errors: 0, matches: 0 };
  /** The first few evaluation errors, for reports. */
  readonly errorSamples: EvaluationError[] = [];

  readonly #engine: DetectionEngine;
  readonly #rules: readonly CompiledDetectionRule[];
  readonly #options: Required<Omit<MemoryDetectorOptions, 'onFinal' | 'sources' | 'buildWhenFinal'>> & Pick<MemoryDetectorOptions, 'onFinal' | 'sources'>;
  readonly #marks: SourceWatermarks;
  /** The source key of the last change pushed (consecutive changes mostly share a source). */
  #lastIdp = '';
  #lastVia = '';
  #lastSource = '';
  /** Per rule: a threshold of one change, which alerts on every match and keeps nothing. */
  readonly #immediate: readonly boolean[];
  readonly #absence: readonly boolean[];

  /** Key → key row. */
  readonly #keys = new KeyTable();
  /** Rows of keys the key fields have room for: `KI` integers and `KF` times each (`K_FIRST` and the others). */
  #kRows = 1024;
  #ki: Int32Array = new Int32Array(1024 * KI);
  #kf: Float64Array = new Float64Array(1024 * KF);

  readonly #stateRows = new Rows();
  /** Rows of states the state fields have room for: `SI` integers and `SF` times each (`S_RULE` and the others). */
  #sRows = 1024;
  #si: Int32Array = new Int32Array(1024 * SI);
  #sf: Float64Array = new Float64Array(1024 * SF);

  readonly #eventRows = new Rows();
  #eAt: Float64Array = new Float64Array(4096);
  /** Per event row, its time (`#eAt`) and `EI` integers (`E_MASK` and the others). */
  #ei: Int32Array = new Int32Array(4096 * EI);
  /** Threshold rules with `distinct`: the value counted. */
  readonly #eDistinct: Array<string | undefined> = [];

  readonly #held = new HeldChanges();
  /** The key whose row `#lastKeyRow` is, within one push (one lookup for the rules of one key). */
  #lastKey: string | undefined;
  #lastKeyRow = NONE;
  #seq = 0;
  #size = 0;
  #sinceScan = 0;
  readonly #due = new TimeHeap();
  /** Keys to look at in housekeeping, by their `K_SWEEP`. */
  readonly #sweep = new TimeHeap();
  /** De-duplication keys with their event time, in arrival order: what was seen, for as long as a duplicate would still count. */
  readonly #seen = new SeenChanges();
  readonly #open = new Map<string, { alert: Alert; index: number }>();
  /** With `buildWhenFinal`: open alerts as the matches they will be built from, in order of creation. */
  readonly #pending = new Map<string, PendingAlert>();
  readonly #buildWhenFinal: boolean;
  readonly #maxLateness: number;
  /** An open alert can still grow while a match could reach back to it: its span plus the longest window and lateness. */
  readonly #reachMs: number;
  readonly #onError: (e: EvaluationError) => void;
  /** The newest event time of any source: progress, for idleness, and alerts' times. */
  #newest = -Infinity;
  /** The low watermark: event time every active source has passed (never decreases). Windows close against it. */
  #low = -Infinity;
  /** What the change being pushed touched (alerts) and whether it was late for a rule. */
  #touched: Alert[] | undefined;
  #late = false;
  /** The change being pushed: its time, de-duplication key, and (made when first needed) what alerts keep of it, in an object and held. */
  #change: IdentityChange | undefined;
  #facts: ChangeFacts = NO_FACTS;
  #at = 0;
  #ref: AlertChange | undefined;
  #row = NONE;
  /** What the change being pushed is measured against for lateness (its source's watermark, or the low one). */
  #reference = -Infinity;

  constructor(engine: DetectionEngine, options: MemoryDetectorOptions) {
    this.#engine = engine;
    this.#rules = engine.pack.rules;
    this.#options = { maxKeys: 100_000, maxEventsPerKey: 1_000, newId: randomUUID, clock: systemClock, idleAfterMs: DEFAULT_IDLE_AFTER_MS, ...options };
    this.#marks = new SourceWatermarks(this.#options.idleAfterMs);
    this.#buildWhenFinal = options.buildWhenFinal === true && options.onFinal !== undefined;
    this.#immediate = engine.pack.rules.map((r) => r.type === 'threshold' && r.count <= 1);
    this.#absence = engine.pack.rules.map((r) => r.type === 'absence');
    this.#maxLateness = Math.max(options.latenessMs, ...engine.pack.rules.map((r) => r.latenessMs ?? 0));
    this.#reachMs = options.groupForMs + this.#maxLateness + Math.max(0, ...engine.pack.rules.map((r) => r.windowMs));
    this.#onError = (e) => {
      this.stats.errors++;
      if (this.errorSamples.length < 10) this.errorSamples.push(e);
    };
  }

  /** (rule, key) states held now. */
  get stateCount(): number {
    return this.#size;
  }

  /** Changes held in state now (across all keys). */
  get heldChanges(): number {
    let n = 0;
    for (let row = 0; row < this.#stateRows.end; row++) if (this.#si[row * SI + S_LIVE]) n += this.#si[row * SI + S_COUNT]!;
    return n;
  }

  /** Absence rules' first steps still waiting for their window to pass. */
  get pendingAbsences(): number {
    let n = 0;
    for (let row = 0; row < this.#stateRows.end; row++)
      if (this.#si[row * SI + S_LIVE] && this.#absence[this.#si[row * SI + S_RULE]!])
        for (let e = this.#si[row * SI + S_HEAD]!; e !== NONE; e = this.#ei[e * EI + E_NEXT]!) if (this.#ei[e * EI + E_MASK]! & 1) n++;
    return n;
  }

  /** The newest event time seen (ms), or -Infinity. */
  get newest(): number {
    return this.#newest;
  }

  /** The low watermark (ms): the event time every active source has passed, or -Infinity. */
  get low(): number {
    return this.#low;
  }

  /** Each source's watermark and when it last delivered (in event time). */
  get sources(): ReturnType<SourceWatermarks['snapshot']> {
    return this.#marks.snapshot();
  }

  /** The watermark key of a change's source, without building a string per change (Management Activity records: `m365/<via>`). */
  #sourceOf(idp: string, via: string, rawType?: string): string {
    if (rawType?.startsWith('o365:')) return detectionSource(idp, via, rawType);
    if (idp !== this.#lastIdp || via !== this.#lastVia) {
      this.#lastIdp = idp;
      this.#lastVia = via;
      this.#lastSource = `${idp}/${via}`;
    }
    return this.#lastSource;
  }

  /**
   * A record of a source at event time `at` that is not a change (a sign-in,
   * an event no rule reads, a change of a kind detection ignores): it moves
   * its source's watermark and may close windows. Returns the alerts raised
   * or extended by absence rules falling due.
   */
  progress(idp: string, via: string, at: number): readonly Alert[] {
    this.#touched = undefined;
    this.#advance(this.#sourceOf(idp, via), at);
    const touched = this.#touched as Alert[] | undefined;
    return touched ? dedupe(touched) : NO_ALERTS;
  }

  /** Moves the source's watermark and event time; fires what falls due. Sets `#reference` for the record. */
  #advance(source: string, at: number): void {
    if (this.#newest === -Infinity && this.#options.sources) for (const s of this.#options.sources) this.#marks.declare(s, at);
    if (at > this.#newest) this.#newest = at;
    const reference = this.#marks.reference(source, this.#newest);
    this.#reference = reference > this.#low ? reference : this.#low;
    this.#marks.advance(source, at, this.#newest);
    const low = this.#marks.low(this.#newest);
    if (low > this.#low) {
      this.#low = low;
      if (this.#due.peek() <= low) this.#fireDue((this.#touched ??= []));
    }
  }

  #lateness(rule: CompiledDetectionRule): number {
    return rule.latenessMs ?? this.#options.latenessMs;
  }

  /**
   * Correlates one change (in arrival order); returns the alerts it raised or
   * extended. Event time moves forward to the change's time if it is newer,
   * which may make absence rules fall due.
   */
  push(change: IdentityChange, facts: ChangeFacts = NO_FACTS): readonly Alert[] {
    this.stats.changes++;
    // changeUid(change), looked up without building the string.
    const first = change.source.eventIds[0];
    if (first !== undefined ? this.#seen.has(change.source.idp, first) : this.#seen.has('id', change.id)) {
      this.stats.duplicates++;
      return NO_ALERTS;
    }
    const at = isoMillis(change.occurredAt);
    this.#touched = undefined;
    this.#late = false;
    this.#advance(this.#sourceOf(change.source.idp, change.source.via, change.source.rawType), at);
    this.#change = change;
    this.#facts = facts;
    this.#at = at;
    this.#ref = undefined;
    this.#row = NONE;
    this.#lastKey = undefined;
    this.#lastKeyRow = NONE;
    if (this.#engine.forEachMatch(change, facts, this.#onError, this.#visit) > 0) {
      this.stats.observed++;
      this.#seen.add(at);
    }
    if (this.#row !== NONE) this.#held.dropIfUnheld(this.#row);
    this.#change = undefined;
    this.#ref = undefined;
    this.#row = NONE;
    if (this.#late) this.stats.late++;
    if (++this.#sinceScan >= 256 && this.#sinceScan >= this.#size >> 3) this.#housekeeping();
    else if (this.#size > this.#options.maxKeys) this.#evict();
    const touched = this.#touched as Alert[] | undefined;
    return touched ? dedupe(touched) : NO_ALERTS;
  }

  /** What alerts keep of the change being pushed. */
  #alertChange(): AlertChange {
    return (this.#ref ??= alertChangeOf(this.#change!, coveringRequest(this.#facts.request)));
  }

  /** The change being pushed, held (written once, when a state first keeps it). */
  #currentRow(): number {
    if (this.#row === NONE) this.#row = this.#held.add(this.#change!, coveringRequest(this.#facts.request));
    return this.#row;
  }

  /** One rule a pushed change matters to (a method made once, not a closure per change). */
  readonly #visit = (rule: CompiledDetectionRule, ruleIndex: number, key: string, mask: number, distinct: string | undefined): void => {
    const lateness = this.#lateness(rule);
    const at = this.#at;
    if (at < this.#reference - lateness) {
      this.#late = true;
      return;
    }
    const horizon = this.#low - lateness;
    if (this.#immediate[ruleIndex]) {
      // Nothing to keep: the change is the match (a state for it would be created and dropped at once).
      if (this.#buildWhenFinal) this.#pend(rule, key, [this.#currentRow()], [at]);
      else (this.#touched ??= []).push(this.#raise(rule, key, [this.#alertChange()]));
      return;
    }
    let keyRow = key === this.#lastKey ? this.#lastKeyRow : this.#keys.find(key);
    if (keyRow === NONE) keyRow = this.#newKey(key);
    this.#lastKey = key;
    this.#lastKeyRow = keyRow;
    let row = this.#ki[keyRow * KI + K_FIRST]!;
    while (row !== NONE && this.#si[row * SI + S_RULE] !== ruleIndex) row = this.#si[row * SI + S_NEXT]!;
    if (row === NONE) {
      row = this.#newState(keyRow, ruleIndex);
      if (this.#holdFirst(rule, row, mask, distinct, lateness)) return;
    }
    const state = this.#thaw(row);
    let found: Found[] | undefined;
    if (this.#absence[ruleIndex]) found = fireDue(rule, state, horizon);
    prune(rule, state, horizon);
    const current = this.#currentRow();
    let holds = false;
    for (const e of state.events as Held[])
      if (this.#held.same(e.row, current)) {
        holds = true;
        break;
      }
    if (!holds) {
      const obs: Held = { uid: '', at, mask, distinct, change: UNREAD_CHANGE, row: current };
      const matched = addObservation(rule, state, obs);
      if (matched.length > 0) found = found && found.length > 0 ? [...found, ...matched] : matched;
      if (state.events.length > this.#options.maxEventsPerKey) this.stats.evicted += cap(state, this.#options.maxEventsPerKey);
    }
    if (found)
      for (const f of found)
        if (this.#buildWhenFinal) this.#pendFound(rule, key, f);
        else (this.#touched ??= []).push(this.#raise(rule, key, this.#changesOf(f)));
    this.#update(row, state, lateness);
  };

  /**
   * A new state's first change, written straight into the columns: what
   * `addObservation` and `#update` would do with one change in an empty
   * state (`loneExpiresAt`, `loneDueAt`), without building the observation
   * (nine visits in ten, docs/performance.md §6). False when one change could complete a
   * match there (a sequence it matches every step of) or the cap would drop
   * it: the caller then takes the general path.
   */
  #holdFirst(rule: CompiledDetectionRule, row: number, mask: number, distinct: string | undefined, lateness: number): boolean {
    const sequence = rule.type === 'sequence';
    if ((sequence && mask === (1 << rule.steps.length) - 1) || this.#options.maxEventsPerKey < 1) return false;
    const at = this.#at;
    this.#si[row * SI + S_HEAD] = this.#newEvent(at, mask, this.#currentRow(), distinct, NONE);
    this.#si[row * SI + S_COUNT] = 1;
    const due = loneDueAt(rule, mask, at, lateness);
    if (due !== undefined) {
      this.#sf[row * SF + S_DUE] = due;
      this.#due.push(due, row, this.#sf[row * SF + S_SEQ]!);
    }
    this.#sf[row * SF + S_EXPIRES] = loneExpiresAt(rule, mask, at, lateness);
    this.#resweep(this.#si[row * SI + S_KEY]!);
    return true;
  }

  /** An event row for a held change (retained), linked before `next`. */
  #newEvent(at: number, mask: number, change: number, distinct: string | undefined, next: number): number {
    const e = this.#eventRows.take();
    if (e >= this.#eAt.length) {
      // Grown here, not in a callback: a closure per row taken was garbage on every visit.
      const size = this.#eAt.length * 2;
      this.#eAt = growF64(this.#eAt, size);
      this.#ei = growI32(this.#ei, size * EI);
    }
    this.#eAt[e] = at;
    this.#ei[e * EI + E_MASK] = mask;
    this.#ei[e * EI + E_CHANGE] = change;
    this.#ei[e * EI + E_NEXT] = next;
    this.#eDistinct[e] = distinct;
    this.#held.retain(change);
    return e;
  }

  /** What alerts keep of the changes of a match. */
  #changesOf(found: Found): AlertChange[] {
    const out = new Array<AlertChange>(found.length);
    for (let i = 0; i < found.length; i++) {
      const row = (found[i] as Held).row;
      out[i] = row === this.#row && this.#change !== undefined ? this.#alertChange() : this.#held.alertChange(row);
    }
    return out;
  }

  #newKey(key: string): number {
    const row = this.#keys.insert(key);
    if (row >= this.#kRows) {
      this.#kRows *= 2;
      this.#ki = growI32(this.#ki, this.#kRows * KI);
      this.#kf = growF64(this.#kf, this.#kRows * KF);
    }
    this.#ki[row * KI + K_FIRST] = NONE;
    this.#kf[row * KF + K_SWEEP] = Infinity;
    this.#kf[row * KF + K_QUEUED] = Infinity;
    this.#ki[row * KI + K_LIVE] = 1;
    return row;
  }

  #newState(keyRow: number, ruleIndex: number): number {
    const row = this.#stateRows.take();
    if (row >= this.#sRows) {
      this.#sRows *= 2;
      this.#si = growI32(this.#si, this.#sRows * SI);
      this.#sf = growF64(this.#sf, this.#sRows * SF);
    }
    this.#si[row * SI + S_RULE] = ruleIndex;
    this.#si[row * SI + S_KEY] = keyRow;
    this.#si[row * SI + S_NEXT] = this.#ki[keyRow * KI + K_FIRST]!;
    this.#ki[keyRow * KI + K_FIRST] = row;
    this.#sf[row * SF + S_SEQ] = this.#seq++;
    this.#sf[row * SF + S_EXPIRES] = 0;
    this.#sf[row * SF + S_DUE] = Number.NaN;
    this.#si[row * SI + S_HEAD] = NONE;
    this.#si[row * SI + S_COUNT] = 0;
    this.#si[row * SI + S_LIVE] = 1;
    this.#size++;
    return row;
  }

  /** A state's held changes as observations (objects for as long as the state is worked on). */
  #thaw(row: number): KeyState {
    const count = this.#si[row * SI + S_COUNT]!;
    if (count === 0) return { events: [] };
    const events = new Array<Observation>(count);
    let i = 0;
    for (let e = this.#si[row * SI + S_HEAD]!; e !== NONE; e = this.#ei[e * EI + E_NEXT]!) {
      const held: Held = {
        uid: '',
        at: this.#eAt[e]!,
        mask: this.#ei[e * EI + E_MASK]!,
        distinct: this.#eDistinct[e],
        change: UNREAD_CHANGE,
        row: this.#ei[e * EI + E_CHANGE]!,
      };
      events[i++] = held;
    }
    return { events };
  }

  /** Writes a state's observations back (the held changes they keep are retained before those of the old rows are released). */
  #store(row: number, events: readonly Observation[]): void {
    let head = NONE;
    for (let i = events.length - 1; i >= 0; i--) {
      const o = events[i] as Held;
      head = this.#newEvent(o.at, o.mask, o.row, o.distinct, head);
    }
    this.#freeEvents(row);
    this.#si[row * SI + S_HEAD] = head;
    this.#si[row * SI + S_COUNT] = events.length;
  }

  #freeEvents(row: number): void {
    for (let e = this.#si[row * SI + S_HEAD]!; e !== NONE; ) {
      const next = this.#ei[e * EI + E_NEXT]!;
      this.#held.release(this.#ei[e * EI + E_CHANGE]!);
      this.#eDistinct[e] = undefined;
      this.#eventRows.give(e);
      e = next;
    }
    this.#si[row * SI + S_HEAD] = NONE;
    this.#si[row * SI + S_COUNT] = 0;
  }

  /**
   * Moves event time forward to `ms` without a change (the end of a replay,
   * or a test saying "13 hours later"): absence rules whose window has passed
   * fire. Returns the alerts raised or extended.
   */
  advanceTo(ms: number): readonly Alert[] {
    const touched: Alert[] = [];
    if (ms > this.#low) {
      if (ms > this.#newest) this.#newest = ms;
      this.#marks.passAll(ms);
      this.#low = ms;
      this.#fireDue(touched);
      this.#housekeeping();
    }
    return dedupe(touched);
  }

  /** After a change to a state: its expiry and deadline, or its removal when empty. */
  #update(row: number, state: KeyState, lateness: number): void {
    const rule = this.#rules[this.#si[row * SI + S_RULE]!]!;
    const expires = expiresAt(rule, state, lateness);
    if (expires === undefined) {
      this.#remove(row);
      return;
    }
    this.#store(row, state.events);
    this.#sf[row * SF + S_EXPIRES] = expires;
    const due = dueAt(rule, state, lateness);
    if (due !== undefined && due !== this.#sf[row * SF + S_DUE]) {
      this.#sf[row * SF + S_DUE] = due;
      this.#due.push(due, row, this.#sf[row * SF + S_SEQ]!);
    }
    this.#resweep(this.#si[row * SI + S_KEY]!);
  }

  /** Recomputes `K_SWEEP` after one of the key's states changed, and queues the key for housekeeping if it is due sooner. */
  #resweep(keyRow: number): void {
    let at = Infinity;
    for (let row = this.#ki[keyRow * KI + K_FIRST]!; row !== NONE; row = this.#si[row * SI + S_NEXT]!)
      if (this.#sf[row * SF + S_EXPIRES]! < at && !(this.#absence[this.#si[row * SI + S_RULE]!] && !Number.isNaN(this.#sf[row * SF + S_DUE]!)))
        at = this.#sf[row * SF + S_EXPIRES]!;
    this.#kf[keyRow * KF + K_SWEEP] = at;
    if (at < this.#kf[keyRow * KF + K_QUEUED]!) {
      this.#kf[keyRow * KF + K_QUEUED] = at;
      this.#sweep.push(at, keyRow, 0);
    }
  }

  #remove(row: number): void {
    if (!this.#si[row * SI + S_LIVE]) return;
    this.#si[row * SI + S_LIVE] = 0;
    this.#freeEvents(row);
    const keyRow = this.#si[row * SI + S_KEY]!;
    if (this.#ki[keyRow * KI + K_FIRST] === row) this.#ki[keyRow * KI + K_FIRST] = this.#si[row * SI + S_NEXT]!;
    else {
      let prev = this.#ki[keyRow * KI + K_FIRST]!;
      while (this.#si[prev * SI + S_NEXT] !== row) prev = this.#si[prev * SI + S_NEXT]!;
      this.#si[prev * SI + S_NEXT] = this.#si[row * SI + S_NEXT]!;
    }
    this.#stateRows.give(row);
    this.#size--;
    if (this.#ki[keyRow * KI + K_FIRST] === NONE) this.#dropKey(keyRow);
    else this.#resweep(keyRow);
  }

  /** A key with no state left. */
  #dropKey(keyRow: number): void {
    this.#keys.remove(keyRow);
    this.#ki[keyRow * KI + K_LIVE] = 0;
    this.#kf[keyRow * KF + K_QUEUED] = Infinity;
    if (this.#lastKeyRow === keyRow) {
      this.#lastKey = undefined;
      this.#lastKeyRow = NONE;
    }
  }

  #fireDue(touched: Alert[]): void {
    while (this.#due.size > 0 && this.#due.peek() <= this.#low) {
      const row = this.#due.pop();
      if (!this.#si[row * SI + S_LIVE] || this.#sf[row * SF + S_SEQ] !== this.#due.stamp) continue;
      this.#sf[row * SF + S_DUE] = Number.NaN;
      const rule = this.#rules[this.#si[row * SI + S_RULE]!]!;
      const key = this.#keys.name(this.#si[row * SI + S_KEY]!);
      const lateness = this.#lateness(rule);
      const horizon = this.#low - lateness;
      const state = this.#thaw(row);
      for (const f of fireDue(rule, state, horizon))
        if (this.#buildWhenFinal) this.#pendFound(rule, key, f);
        else touched.push(this.#raise(rule, key, this.#changesOf(f)));
      prune(rule, state, horizon);
      this.#update(row, state, lateness);
    }
  }

  /**
   * Drops state that can no longer match, old de-duplication entries and
   * stale open alerts. Runs after a number of changes proportional to the
   * state held, so its cost per change stays constant; it looks only at keys
   * with a state that may have expired (queued by when).
   */
  #housekeeping(): void {
    this.#sinceScan = 0;
    this.#lastKey = undefined;
    this.#lastKeyRow = NONE;
    const low = this.#low;
    while (this.#sweep.size > 0 && this.#sweep.peek() <= low) {
      const at = this.#sweep.peek();
      const keyRow = this.#sweep.pop();
      // A key dropped, or queued again for an earlier time since: not this entry.
      if (!this.#ki[keyRow * KI + K_LIVE] || this.#kf[keyRow * KF + K_QUEUED] !== at) continue;
      this.#kf[keyRow * KF + K_QUEUED] = Infinity;
      if (this.#kf[keyRow * KF + K_SWEEP]! <= low) {
        for (let row = this.#ki[keyRow * KI + K_FIRST]!; row !== NONE; ) {
          const next = this.#si[row * SI + S_NEXT]!;
          if (this.#sf[row * SF + S_EXPIRES]! <= low && !(this.#absence[this.#si[row * SI + S_RULE]!] && !Number.isNaN(this.#sf[row * SF + S_DUE]!)))
            this.#remove(row);
          row = next;
        }
      }
      if (this.#ki[keyRow * KI + K_LIVE]) this.#resweep(keyRow);
    }
    if (this.#size > this.#options.maxKeys) this.#evict();
    const keepSeenFrom = low - this.#maxLateness;
    const seen = this.#seen;
    while (seen.size > 0 && (seen.oldestAt() < keepSeenFrom || seen.size > 4 * this.#options.maxKeys)) seen.dropOldest();
    // Open alerts in order of creation: the ones no match can reach any more are at the front.
    for (const key of this.#open.keys()) {
      const { alert } = this.#open.get(key)!;
      if (isoMillis(alert.lastAt) + this.#reachMs >= low) break;
      this.#open.delete(key);
      this.#final(alert);
    }
    for (const key of this.#pending.keys()) {
      const pending = this.#pending.get(key)!;
      if (pending.lastMs + this.#reachMs >= low) break;
      this.#pending.delete(key);
      this.#build(pending);
    }
  }

  /** Over `maxKeys`: evicts the states nearest to expiring (a tenth of the limit at a time), counting the changes lost. */
  #evict(): void {
    const rows: number[] = [];
    for (let row = 0; row < this.#stateRows.end; row++) if (this.#si[row * SI + S_LIVE]) rows.push(row);
    const expiries = new Float64Array(rows.length);
    for (let i = 0; i < rows.length; i++) expiries[i] = this.#sf[rows[i]! * SF + S_EXPIRES]!;
    expiries.sort();
    const target = Math.floor(this.#options.maxKeys * 0.9);
    const cutoff = expiries[this.#size - target - 1] ?? -Infinity;
    rows.sort((a, b) => this.#si[a * SI + S_RULE]! - this.#si[b * SI + S_RULE]! || this.#sf[a * SF + S_SEQ]! - this.#sf[b * SF + S_SEQ]!);
    for (const row of rows) {
      if (this.#size <= target) return;
      if (this.#sf[row * SF + S_EXPIRES]! <= cutoff) {
        this.stats.evicted += this.#si[row * SI + S_COUNT]!;
        this.#remove(row);
      }
    }
  }

  /** Hands a final alert over (streaming) and forgets it. */
  #final(alert: Alert): void {
    if (!this.#options.onFinal) return;
    this.#options.onFinal(alert);
  }

  /** End of input: every alert still open is final (streaming). */
  finish(): void {
    for (const { alert } of this.#open.values()) this.#final(alert);
    this.#open.clear();
    for (const pending of this.#pending.values()) this.#build(pending);
    this.#pending.clear();
  }

  /** `#raise` with `buildWhenFinal`, for the changes of a match found in a state. */
  #pendFound(rule: CompiledDetectionRule, key: string, found: Found): void {
    const rows = new Array<number>(found.length);
    const ats = new Array<number>(found.length);
    for (let i = 0; i < found.length; i++) {
      rows[i] = (found[i] as Held).row;
      ats[i] = found[i]!.at;
    }
    this.#pend(rule, key, rows, ats);
  }

  /**
   * `#raise` with `buildWhenFinal`: the match is kept as its held changes
   * (retained until the alert is built) and grouped as `groupsWith` and
   * `mergeMatch` would (same key, within `groupForMs` of the alert's first
   * and last change; a change already in the alert, by id, counts once).
   */
  #pend(rule: CompiledDetectionRule, key: string, rows: number[], ats: number[]): void {
    this.stats.matches++;
    const now = Number.isFinite(this.#newest) ? this.#newest : this.#options.clock().getTime();
    for (const row of rows) this.#held.retain(row);
    let first = Infinity;
    let last = -Infinity;
    for (const at of ats) {
      if (at < first) first = at;
      if (at > last) last = at;
    }
    const open = this.#pending.get(key);
    if (open && rows.length > 0 && first <= open.lastMs + this.#options.groupForMs && last >= open.firstMs - this.#options.groupForMs) {
      open.matches.push({ rule, rows, now });
      for (let i = 0; i < rows.length; i++) {
        let known = false;
        for (const row of open.rows)
          if (this.#held.sameId(row, rows[i]!)) {
            known = true;
            break;
          }
        if (known) continue;
        open.rows.push(rows[i]!);
        if (ats[i]! < open.firstMs) open.firstMs = ats[i]!;
        if (ats[i]! > open.lastMs) open.lastMs = ats[i]!;
      }
      return;
    }
    if (open) {
      // Beyond its grouping span: that alert is done.
      this.#pending.delete(key);
      this.#build(open);
    }
    this.#pending.set(key, { id: this.#options.newId(), key, firstMs: first, lastMs: last, rows: [...rows], matches: [{ rule, rows, now }] });
  }

  /** Builds a pending alert as `#raise` would have, match by match, hands it over, and lets its held changes go. */
  #build(pending: PendingAlert): void {
    const matchOf = (m: PendingMatch) => ({
      rule: { id: m.rule.id, title: m.rule.title, severity: m.rule.severity, attack: m.rule.attack.map((a) => a.id) },
      key: pending.key,
      changes: m.rows.map((row) => this.#held.alertChange(row)),
    });
    const [head, ...rest] = pending.matches;
    // Summarized once, when all its matches are in (what newAlert and each mergeMatch would have left).
    let alert = newAlert(
      { id: pending.id, tenant: this.#options.tenant, match: matchOf(head!), now: new Date(head!.now), rulesVersion: this.#engine.pack.version },
      false,
    );
    for (const m of rest) alert = mergeMatch(alert, matchOf(m), new Date(m.now), false);
    alert.summary = summarize(alert);
    for (const m of pending.matches) for (const row of m.rows) this.#held.release(row);
    this.#final(alert);
  }

  #raise(rule: CompiledDetectionRule, key: string, changes: AlertChange[]): Alert {
    this.stats.matches++;
    const match = {
      rule: { id: rule.id, title: rule.title, severity: rule.severity, attack: rule.attack.map((a) => a.id) },
      key,
      changes,
    };
    const now = new Date(Number.isFinite(this.#newest) ? this.#newest : this.#options.clock().getTime());
    const open = this.#open.get(key);
    if (open && groupsWith(open.alert, match, this.#options.groupForMs)) {
      const merged = mergeMatch(open.alert, match, now);
      if (!this.#options.onFinal) this.alerts[open.index] = merged;
      this.#open.set(key, { alert: merged, index: open.index });
      return merged;
    }
    if (open) {
      // Beyond its grouping span: that alert is done.
      this.#open.delete(key);
      this.#final(open.alert);
    }
    const alert = newAlert({ id: this.#options.newId(), tenant: this.#options.tenant, match, now, rulesVersion: this.#engine.pack.version });
    this.#open.set(key, { alert, index: this.alerts.length });
    if (!this.#options.onFinal) this.alerts.push(alert);
    return alert;
  }
}

/** The last version of each alert, in order of first appearance. */
function dedupe(alerts: Alert[]): Alert[] {
  if (alerts.length < 2) return alerts;
  const last = new Map<string, Alert>();
  for (const a of alerts) last.set(a.id, a);
  return [...last.values()];
}
