import type { AlertChange } from '../core/alert.js';
import type { CompiledDetectionRule } from './compile-rule-pack.js';

/**
 * The matching semantics of the three rule kinds, as pure functions over the
 * state one rule keeps for one key. The in-memory detector (replay, rule
 * tests, benchmark) and the store-backed one (the server) both run these, so
 * they agree by construction.
 *
 * Time is event time (`occurredAt`). The caller owns the *horizon*: the
 * point in event time before which no further change is expected to arrive
 * (the newest change seen, or the clock, minus the allowed lateness). A
 * change older than the horizon is late and never reaches these functions;
 * state that can no longer take part in a match (older than horizon − window)
 * is pruned; an absence rule's first step is *due* once its window has
 * passed the horizon.
 */

/** One change as a rule keeps it. */
export interface Observation {
  /** De-duplication key: `<idp>:<first vendor event id>`, or `id:<change id>`. */
  uid: string;
  /** Event time, ms since the epoch. */
  at: number;
  /** Bit i set: the change matches step i (absence: bit 0 = a pending A, bit 1 = a B). */
  mask: number;
  /** Threshold rules with `distinct`: the value counted. */
  distinct?: string;
  change: AlertChange;
}

/** What a rule keeps for one key: matching changes in event-time order (ties in arrival order). */
export interface KeyState {
  events: Observation[];
}

/** The changes of one match, in event-time order. */
export type Found = Observation[];

const A = 1;
const B = 2;

/** No match (shared: callers never modify what these functions return). */
const NONE_FOUND: Found[] = [];

/** Inserts keeping event-time order; equal times keep arrival order. */
export function insertByTime(events: Observation[], obs: Observation): void {
  // Mostly appends (changes arrive roughly in time order): shift in place rather than splice.
  let i = events.length;
  events.push(obs);
  while (i > 0 && events[i - 1]!.at > obs.at) {
    events[i] = events[i - 1]!;
    i--;
  }
  events[i] = obs;
}

/** `insertByTime` into a state; the first change gets an array of its own size (most states hold one). */
function insert(state: KeyState, obs: Observation): void {
  if (state.events.length === 0) state.events = [obs];
  else insertByTime(state.events, obs);
}

function remove(state: KeyState, used: readonly Observation[]): void {
  if (used.length === 0) return;
  const gone = new Set(used);
  state.events = state.events.filter((e) => !gone.has(e));
}

/** Whether the state already holds this change (a duplicate delivery). */
export function holds(state: KeyState, obs: Observation): boolean {
  return state.events.some((e) => e.uid === obs.uid || e.change.id === obs.change.id);
}

/**
 * Fires an absence rule's pending first steps whose window has passed the
 * horizon with no second step: one match holding all of them. Other kinds
 * have nothing due.
 */
export function fireDue(rule: CompiledDetectionRule, state: KeyState, horizon: number): Found[] {
  if (rule.type !== 'absence' || !state.events.some((e) => e.mask & A && e.at + rule.windowMs <= horizon)) return [];
  const due = state.events.filter((e) => e.mask & A && e.at + rule.windowMs <= horizon);
  remove(state, due);
  return [due];
}

/**
 * Until when (in event time) a held change can still take part in a match:
 * it is pruned once the horizon passes that point. Changes arriving from now
 * on are not older than the horizon, which bounds what they can pair with:
 * - an absence rule's B only matters to A's still to come, which cannot be
 *   later than it: until its own time (a pending A is never pruned: it falls due);
 * - a change of an ordered sequence that matches no first step only matters
 *   behind a first step: one held (as long as that one), or one still to
 *   come (until its own time);
 * - anything else: until its time plus the window.
 */
function usefulUntil(rule: CompiledDetectionRule, state: KeyState, e: Observation): number {
  if (rule.type === 'sequence' && !rule.anyOrder && !(e.mask & 1)) {
    let until = e.at;
    for (const s of state.events) {
      if (s.at > e.at) break;
      if (s.mask & 1 && e.at - s.at <= rule.windowMs) until = Math.max(until, s.at + rule.windowMs);
    }
    return until;
  }
  return usefulAlone(rule, e.mask, e.at);
}

/** `usefulUntil` of a change that is alone in its state (no first step held before it). */
function usefulAlone(rule: CompiledDetectionRule, mask: number, at: number): number {
  if (rule.type === 'absence') return mask & A ? Infinity : at;
  if (rule.type === 'sequence' && !rule.anyOrder && !(mask & 1)) return at;
  return at + rule.windowMs;
}

/** Drops what can no longer match (see `usefulUntil`). */
export function prune(rule: CompiledDetectionRule, state: KeyState, horizon: number): void {
  const events = state.events;
  let keep = 0;
  for (const e of events) if (usefulUntil(rule, state, e) >= horizon) keep++;
  if (keep === events.length) return;
  state.events = events.filter((e) => usefulUntil(rule, state, e) >= horizon);
}

/** Keeps at most `max` changes, dropping the oldest; returns how many were dropped. */
export function cap(state: KeyState, max: number): number {
  const over = state.events.length - max;
  if (over <= 0) return 0;
  state.events.splice(0, over);
  return over;
}

/**
 * Adds a change that matches at least one step of the rule and returns the
 * matches it completes (their changes are consumed: each change counts in one
 * match of a rule). The caller has checked lateness, run `fireDue` and
 * `prune`, and made sure the change is not already held.
 */
export function addObservation(rule: CompiledDetectionRule, state: KeyState, obs: Observation): Found[] {
  switch (rule.type) {
    case 'threshold':
      return addThreshold(rule, state, obs);
    case 'sequence':
      return addSequence(rule, state, obs);
    case 'absence':
      addAbsence(rule, state, obs);
      return [];
  }
}

function addAbsence(rule: CompiledDetectionRule, state: KeyState, obs: Observation): void {
  const W = rule.windowMs;
  let mask = obs.mask;
  if (mask & B) {
    // A B satisfies every pending A it follows within the window.
    state.events = state.events.filter((e) => !(e.mask & A && e.at <= obs.at && obs.at <= e.at + W));
  }
  if (mask & A) {
    // A late A is satisfied by a B already seen after it.
    if (state.events.some((e) => e.mask & B && obs.at <= e.at && e.at <= obs.at + W)) mask &= ~A;
  }
  if (mask !== 0) insert(state, mask === obs.mask ? obs : { ...obs, mask });
}

function addThreshold(rule: CompiledDetectionRule, state: KeyState, obs: Observation): Found[] {
  if (rule.count <= 1) return [[obs]];
  insert(state, obs);
  const W = rule.windowMs;
  const events = state.events;
  // Any new match contains the new change (otherwise it would have fired before): try each
  // window [s, s + W] that contains it, earliest first.
  for (let s = 0; s < events.length; s++) {
    const start = events[s]!.at;
    if (start < obs.at - W) continue;
    if (start > obs.at) break;
    const window: Observation[] = [];
    for (let j = s; j < events.length && events[j]!.at <= start + W; j++) window.push(events[j]!);
    const size = rule.distinct ? new Set(window.map((e) => e.distinct)).size : window.length;
    if (size >= rule.count) {
      remove(state, window);
      return [window];
    }
  }
  return [];
}

function addSequence(rule: CompiledDetectionRule, state: KeyState, obs: Observation): Found[] {
  insert(state, obs);
  // Nothing to search until every step has a candidate (most states hold one change).
  let seen = 0;
  for (const e of state.events) seen |= e.mask;
  if (seen !== (1 << rule.steps.length) - 1) return NONE_FOUND;
  const found = rule.anyOrder ? findAnyOrder(rule, state.events) : findOrdered(rule, state.events);
  if (!found) return [];
  remove(state, found);
  return [found];
}

/** The earliest ordered match: for each possible first change, take the earliest changes for each step after it. */
function findOrdered(rule: CompiledDetectionRule, events: readonly Observation[]): Found | undefined {
  const steps = rule.steps;
  const W = rule.windowMs;
  for (let s = 0; s < events.length; s++) {
    const first = events[s]!;
    if (!(first.mask & 1)) continue;
    const used = new Set<Observation>();
    const chosen: Observation[] = [];
    let from = s;
    let ok = true;
    for (let i = 0; i < steps.length && ok; i++) {
      let need = steps[i]!.count;
      const bit = 1 << i;
      let j = from;
      for (; j < events.length && need > 0; j++) {
        const e = events[j]!;
        if (e.at - first.at > W) break;
        if (!(e.mask & bit) || used.has(e)) continue;
        used.add(e);
        chosen.push(e);
        need--;
      }
      if (need > 0) ok = false;
      // The next step starts at the last change taken (equal times count as in order).
      from = j - 1 >= from ? j - 1 : from;
    }
    if (ok) return [...chosen].sort((a, b) => a.at - b.at);
  }
  return undefined;
}

/**
 * The earliest window of `W` in which every step gets its count of distinct
 * changes, in any order (a bipartite matching of step slots to changes, so a
 * change matching two steps is used where it is needed).
 */
function findAnyOrder(rule: CompiledDetectionRule, events: readonly Observation[]): Found | undefined {
  const steps = rule.steps;
  const slots: number[] = [];
  steps.forEach((s, i) => {
    for (let c = 0; c < s.count; c++) slots.push(i);
  });
  for (let s = 0; s < events.length; s++) {
    const start = events[s]!.at;
    const window: Observation[] = [];
    for (let j = s; j < events.length && events[j]!.at - start <= rule.windowMs; j++) window.push(events[j]!);
    if (window.length < slots.length) continue;
    const owner = new Array<number>(window.length).fill(-1);
    const tryAssign = (slot: number, seen: boolean[]): boolean => {
      const bit = 1 << slots[slot]!;
      for (let e = 0; e < window.length; e++) {
        if (!(window[e]!.mask & bit) || seen[e]) continue;
        seen[e] = true;
        if (owner[e] === -1 || tryAssign(owner[e]!, seen)) {
          owner[e] = slot;
          return true;
        }
      }
      return false;
    };
    let complete = true;
    for (let slot = 0; slot < slots.length && complete; slot++) complete = tryAssign(slot, new Array<boolean>(window.length).fill(false));
    if (complete) return window.filter((_, e) => owner[e] !== -1);
  }
  return undefined;
}

/** When nothing in the state can match any more (ms; the caller's clock or newest change time), or undefined when empty. */
export function expiresAt(rule: CompiledDetectionRule, state: KeyState, latenessMs: number): number | undefined {
  if (state.events.length === 0) return undefined;
  let latest = -Infinity;
  for (const e of state.events) latest = Math.max(latest, usefulUntil(rule, state, e));
  // A pending absence keeps its state until it falls due (dueAt) and then some.
  return latest === Infinity ? (dueAt(rule, state, latenessMs) ?? 0) + rule.windowMs : latest + latenessMs;
}

/**
 * `expiresAt` and `dueAt` of a state that holds one change, without building
 * it (the memory detector's new states, nine in ten of its visits).
 */
export function loneExpiresAt(rule: CompiledDetectionRule, mask: number, at: number, latenessMs: number): number {
  const until = usefulAlone(rule, mask, at);
  return until === Infinity ? (loneDueAt(rule, mask, at, latenessMs) ?? 0) + rule.windowMs : until + latenessMs;
}

export function loneDueAt(rule: CompiledDetectionRule, mask: number, at: number, latenessMs: number): number | undefined {
  return rule.type === 'absence' && mask & A ? at + rule.windowMs + latenessMs : undefined;
}

/** Absence rules: when the earliest pending first step falls due (its window + lateness), or undefined. */
export function dueAt(rule: CompiledDetectionRule, state: KeyState, latenessMs: number): number | undefined {
  if (rule.type !== 'absence') return undefined;
  let earliest = Infinity;
  for (const e of state.events) if (e.mask & A) earliest = Math.min(earliest, e.at);
  return earliest === Infinity ? undefined : earliest + rule.windowMs + latenessMs;
}
