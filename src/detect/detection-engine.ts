import type { RequestSnapshot } from '../core/change-request.js';
import { CHANGE_KINDS, type IdentityChange } from '../core/identity-change.js';
import { activationFor, runExpression } from '../core/policy/evaluate-policy.js';
import { FALLBACK_TIER, type Tier } from '../core/tiers.js';
import type { AlertChange } from '../core/alert.js';
import { alertChangeOf } from './alert.js';
import type { CompiledDetectionRule, CompiledRulePack, CompiledStep, KeyRef } from './compile-rule-pack.js';
import type { Observation } from './correlate.js';
import type { IdentityResolver } from './identity-keys.js';

/**
 * The front of detection: which rules a change matters to, under which key,
 * as which observation. Step conditions are CEL over the same variables as
 * policy (`change`, `target` with its tier, `actor`, `context`, `request`,
 * `now` = the change's own time), compiled once with the pack and run
 * natively where possible. Only steps whose conditions can match the change's
 * kind are evaluated.
 */

/** What the caller knows about a change beyond the change itself. */
export interface ChangeFacts {
  /** The target's tier from the tenant policy (default standard). */
  tier?: Tier;
  /** The change request the workflow matched, if any (rules can test `has(request.id)`). */
  request?: RequestSnapshot;
}

/** A change that matters to one rule, under one key. */
export interface Touch {
  rule: CompiledDetectionRule;
  ruleIndex: number;
  key: string;
  obs: Observation;
}

/** A step or key expression that could not be evaluated (counted, never thrown). */
export interface EvaluationError {
  rule: string;
  what: string;
  error: string;
}

type Activation = ReturnType<typeof activationFor>;

const NO_REQUEST: Activation['request'] = Object.freeze({}) as Activation['request'];
/** `now` for activations whose expressions never read it. */
const UNREAD_NOW = new Date(0);

/** The digit at position `i` of `s` (0-9), or a value > 9 when it is not a digit. */
const digit = (s: string, i: number): number => (s.charCodeAt(i) - 48) >>> 0;

/**
 * Milliseconds of an ISO 8601 time, exactly as `Date.parse` gives them. The
 * form Warden writes (`2026-03-02T09:00:00.000Z`) is read directly, several
 * times faster; any other form goes to `Date.parse`.
 */
export function isoMillis(s: string): number {
  if (s.length === 24 && s.charCodeAt(23) === 90 /* Z */ && s.charCodeAt(10) === 84 /* T */ && s.charCodeAt(19) === 46 /* . */ && s.charCodeAt(4) === 45 && s.charCodeAt(7) === 45 && s.charCodeAt(13) === 58 && s.charCodeAt(16) === 58) {
    const y0 = digit(s, 0), y1 = digit(s, 1), y2 = digit(s, 2), y3 = digit(s, 3);
    const mo0 = digit(s, 5), mo1 = digit(s, 6), d0 = digit(s, 8), d1 = digit(s, 9);
    const h0 = digit(s, 11), h1 = digit(s, 12), mi0 = digit(s, 14), mi1 = digit(s, 15), s0 = digit(s, 17), s1 = digit(s, 18);
    const f0 = digit(s, 20), f1 = digit(s, 21), f2 = digit(s, 22);
    if (y0 < 10 && y1 < 10 && y2 < 10 && y3 < 10 && mo0 < 10 && mo1 < 10 && d0 < 10 && d1 < 10 && h0 < 10 && h1 < 10 && mi0 < 10 && mi1 < 10 && s0 < 10 && s1 < 10 && f0 < 10 && f1 < 10 && f2 < 10) {
      const year = y0 * 1000 + y1 * 100 + y2 * 10 + y3;
      const month = mo0 * 10 + mo1;
      const day = d0 * 10 + d1;
      const hour = h0 * 10 + h1;
      const minute = mi0 * 10 + mi1;
      const second = s0 * 10 + s1;
      // Date.UTC would roll 2026-02-30 over into March, as Date.parse does too: only in-range fields are read here.
      const monthDays = month === 2 ? (year % 4 === 0 && (year % 100 !== 0 || year % 400 === 0) ? 29 : 28) : month === 4 || month === 6 || month === 9 || month === 11 ? 30 : 31;
      if (month >= 1 && month <= 12 && day >= 1 && day <= monthDays && hour <= 23 && minute <= 59 && second <= 59 && year >= 1000)
        return daysFromCivil(year, month, day) * 86_400_000 + hour * 3_600_000 + minute * 60_000 + second * 1000 + f0 * 100 + f1 * 10 + f2;
    }
  }
  return Date.parse(s);
}

/** Days since 1970-01-01 of a proleptic Gregorian date (year ≥ 0), as Date.UTC counts them (H. Hinnant's days_from_civil). */
function daysFromCivil(year: number, month: number, day: number): number {
  const y = month <= 2 ? year - 1 : year;
  const era = Math.floor(y / 400);
  const yoe = y - era * 400;
  const doy = Math.floor((153 * (month > 2 ? month - 3 : month + 9) + 2) / 5) + day - 1;
  const doe = yoe * 365 + Math.floor(yoe / 4) - Math.floor(yoe / 100) + doy;
  return era * 146_097 + doe - 719_468;
}

/** The de-duplication key of a change: its first vendor event id, else its own id. */
export function changeUid(change: IdentityChange): string {
  const eventId = change.source.eventIds[0];
  return eventId !== undefined ? `${change.source.idp}:${eventId}` : `id:${change.id}`;
}

/** One step of a rule as a change of some kind meets it. */
interface StepPlan {
  /** The step's bit in an observation's mask. */
  bit: number;
  step: CompiledStep;
  channels: ReadonlySet<string> | undefined;
  /** The index decides the step (see `CompiledStep.decided`): no evaluation. */
  decided: boolean;
  /** The condition reads the target's tier (it then sees a copy of the target that carries it). */
  tier: boolean;
}

/** A rule some step of which can match a change of a given kind, with those steps. */
interface RulePlan {
  rule: CompiledDetectionRule;
  ruleIndex: number;
  steps: readonly StepPlan[];
}

/** Turns changes into observations for the rules of one pack. */
export class DetectionEngine {
  /** Per change kind, the rules (in pack order) and steps a change of that kind can match. */
  readonly #plans = new Map<string, readonly RulePlan[]>();
  /** Per change kind, the variables some step that can match it reads. */
  readonly #reads = new Map<string, ReadonlySet<string>>();

  constructor(
    readonly pack: CompiledRulePack,
    readonly identities: IdentityResolver,
  ) {
    for (const kind of CHANGE_KINDS) {
      const reads = new Set<string>();
      const plans: RulePlan[] = [];
      for (const ref of pack.candidates(kind)) {
        const step = ref.rule.steps[ref.step]!;
        for (const v of step.reads) reads.add(v);
        let plan = plans[plans.length - 1];
        if (plan?.ruleIndex !== ref.ruleIndex) plans.push((plan = { rule: ref.rule, ruleIndex: ref.ruleIndex, steps: [] }));
        (plan.steps as StepPlan[]).push({ bit: 1 << ref.step, step, channels: step.channels, decided: step.decided, tier: step.reads.has('target.tier') });
      }
      this.#reads.set(kind, reads);
      this.#plans.set(kind, plans);
    }
  }

  /** The canonical identity of the change's target (what `by: target` rules key on). */
  targetKey(change: IdentityChange): string {
    return this.identities.keyOf(change.target, change.source.idp);
  }

  /** The canonical identity of the change's actor. */
  actorKey(change: IdentityChange): string {
    return this.identities.keyOf(change.actor, change.source.idp);
  }

  /** The change whose keys `#memoTarget` and `#memoActor` are (computed at most once per change). */
  #memoChange: IdentityChange | undefined;
  #memoTarget: string | undefined;
  #memoActor: string | undefined;

  #key(ref: KeyRef, change: IdentityChange, activation: () => Activation): string | { error: string } {
    if (this.#memoChange !== change) {
      this.#memoChange = change;
      this.#memoTarget = undefined;
      this.#memoActor = undefined;
    }
    if (ref.kind === 'target') return (this.#memoTarget ??= this.targetKey(change));
    if (ref.kind === 'actor') {
      // A self-service change: the actor is the target, keyed once.
      const a = change.actor;
      const t = change.target;
      if (a.id === t.id && a.login === t.login && a.email === t.email) return (this.#memoActor ??= this.#memoTarget ??= this.targetKey(change));
      return (this.#memoActor ??= this.actorKey(change));
    }
    try {
      const value: unknown = ref.expr.evaluate(activation());
      if (typeof value === 'string' && value !== '') return `${ref.source}=${value}`;
      if (typeof value === 'number' || typeof value === 'bigint') return `${ref.source}=${String(value)}`;
      return { error: `key expression gave ${value === '' ? 'an empty string' : typeof value}` };
    } catch (err) {
      const e = err as { summary?: string; message?: string };
      return { error: e.summary ?? e.message?.split('\n')[0] ?? String(err) };
    }
  }

  /**
   * The rules a change matters to, each with its key and observation. Rules
   * whose steps the change does not match are left out; an expression that
   * cannot be evaluated counts as not matching and is passed to `onError`.
   */
  touches(change: IdentityChange, facts: ChangeFacts = {}, onError?: (e: EvaluationError) => void): Touch[] {
    const out: Touch[] = [];
    this.forEachTouch(change, facts, onError, (rule, ruleIndex, key, obs) => out.push({ rule, ruleIndex, key, obs }));
    return out;
  }

  /** The variables of the change being looked at, built when a condition first needs them. */
  #change: IdentityChange | undefined;
  #facts: ChangeFacts = {};
  #plain: Activation | undefined;
  #tiered: Activation | undefined;

  /** The variables without the target's tier (for conditions that do not read it). */
  #plainActivation(): Activation {
    return (this.#plain ??= this.#activation(this.#change!, this.#facts, false));
  }

  /** The variables with the target's tier. */
  #tieredActivation(): Activation {
    return (this.#tiered ??= this.#activation(this.#change!, this.#facts, true));
  }

  /** What key expressions see: the tier when some step that can match the kind reads it (as before steps were evaluated lazily). */
  readonly #keyActivation = (): Activation => (this.#reads.get(this.#change!.kind)?.has('target.tier') ? this.#tieredActivation() : this.#plainActivation());

  /** `touches` without building the list: `visit` is called for each rule the change matters to. */
  forEachTouch(
    change: IdentityChange,
    facts: ChangeFacts,
    onError: ((e: EvaluationError) => void) | undefined,
    visit: (rule: CompiledDetectionRule, ruleIndex: number, key: string, obs: Observation) => void,
    known: { at?: number; uid?: string } = {},
  ): number {
    const plans = this.#plans.get(change.kind);
    if (plans === undefined || plans.length === 0) return 0;
    this.#change = change;
    this.#facts = facts;
    this.#plain = undefined;
    this.#tiered = undefined;
    this.#memoChange = undefined;
    let at = known.at;
    let ref: AlertChange | undefined;
    let uid = known.uid;
    let touched = 0;
    const channel = change.channel;
    for (let p = 0; p < plans.length; p++) {
      const { rule, ruleIndex, steps } = plans[p]!;
      let mask = 0;
      for (let s = 0; s < steps.length; s++) {
        const plan = steps[s]!;
        if (plan.channels !== undefined && !plan.channels.has(channel)) continue;
        if (plan.decided) {
          mask |= plan.bit;
          continue;
        }
        const result = runExpression(plan.step.when, plan.tier ? this.#tieredActivation() : this.#plainActivation());
        if (!result.ok) onError?.({ rule: rule.id, what: `step "${plan.step.name}"`, error: result.error });
        else if (result.value) mask |= plan.bit;
      }
      if (mask === 0) continue;
      const key = this.#key(rule.by, change, this.#keyActivation);
      if (typeof key !== 'string') {
        onError?.({ rule: rule.id, what: 'by', error: key.error });
        continue;
      }
      let distinct: string | undefined;
      if (rule.distinct) {
        const d = this.#key(rule.distinct, change, this.#keyActivation);
        if (typeof d !== 'string') {
          onError?.({ rule: rule.id, what: 'distinct', error: d.error });
          continue;
        }
        distinct = d;
      }
      at ??= isoMillis(change.occurredAt);
      ref ??= alertChangeOf(change);
      uid ??= changeUid(change);
      const obs: Observation = distinct === undefined ? { uid, at, mask, change: ref } : { uid, at, mask, distinct, change: ref };
      visit(rule, ruleIndex, key, obs);
      touched++;
    }
    this.#change = undefined;
    this.#plain = undefined;
    this.#tiered = undefined;
    return touched;
  }

  /**
   * The CEL variables, as policy has them (`now` is the change's own time).
   * The target is copied to carry its tier only for the conditions that read
   * it, and `now` built only when a step that can match this kind of change
   * reads it.
   */
  #activation(change: IdentityChange, facts: ChangeFacts, tier: boolean): Activation {
    const reads = this.#reads.get(change.kind);
    return {
      change,
      target: tier ? { ...change.target, tier: facts.tier ?? FALLBACK_TIER } : (change.target as Activation['target']),
      actor: change.actor,
      context: change.context,
      request: facts.request ?? NO_REQUEST,
      now: reads?.has('now') ? new Date(change.occurredAt) : UNREAD_NOW,
    };
  }
}
