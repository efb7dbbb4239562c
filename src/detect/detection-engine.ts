import type { RequestSnapshot } from '../core/change-request.js';
import { CHANGE_KINDS, CHANNELS, type IdentityChange } from '../core/identity-change.js';
import { type activationFor, runExpression } from '../core/policy/evaluate-policy.js';
import { FALLBACK_TIER, type Tier } from '../core/tiers.js';
import type { AlertChange } from '../core/alert.js';
import { alertChangeOf, coveringRequest } from './alert.js';
import { isoMillis } from './iso-millis.js';
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
  /** `channels` as bits of `CHANNEL_BITS` (every bit when the step names none): one AND per step instead of a set lookup. */
  channelMask: number;
  /** The index decides the step (see `CompiledStep.decided`): no evaluation. */
  decided: boolean;
  /** The condition reads the target's tier (it then sees a copy of the target that carries it). */
  tier: boolean;
}

/** A bit per channel; a channel outside the schema gets one no step names (only unrestricted steps match it). */
const CHANNEL_BITS: ReadonlyMap<string, number> = new Map(CHANNELS.map((c, i) => [c, 1 << i]));
const OTHER_CHANNEL = 1 << 30;

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
        let channelMask = -1;
        if (step.channels !== undefined) {
          channelMask = 0;
          for (const c of step.channels) channelMask |= CHANNEL_BITS.get(c) ?? 0;
        }
        (plan.steps as StepPlan[]).push({ bit: 1 << ref.step, step, channelMask, decided: step.decided, tier: step.reads.has('target.tier') });
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
    let at = known.at;
    let ref: AlertChange | undefined;
    let uid = known.uid;
    return this.forEachMatch(change, facts, onError, (rule, ruleIndex, key, mask, distinct) => {
      at ??= isoMillis(change.occurredAt);
      ref ??= alertChangeOf(change, coveringRequest(facts.request));
      uid ??= changeUid(change);
      visit(rule, ruleIndex, key, distinct === undefined ? { uid, at, mask, change: ref } : { uid, at, mask, distinct, change: ref });
    });
  }

  /**
   * The rules a change matters to, without building observations: `visit`
   * gets each rule with the key, the steps matched (bit i: step i) and the
   * distinct value (threshold rules with `distinct`). Returns how many.
   */
  forEachMatch(
    change: IdentityChange,
    facts: ChangeFacts,
    onError: ((e: EvaluationError) => void) | undefined,
    visit: (rule: CompiledDetectionRule, ruleIndex: number, key: string, mask: number, distinct: string | undefined) => void,
  ): number {
    const plans = this.#plans.get(change.kind);
    if (plans === undefined || plans.length === 0) return 0;
    this.#change = change;
    this.#facts = facts;
    this.#plain = undefined;
    this.#tiered = undefined;
    this.#memoChange = undefined;
    let touched = 0;
    const channel = CHANNEL_BITS.get(change.channel) ?? OTHER_CHANNEL;
    for (let p = 0; p < plans.length; p++) {
      const { rule, ruleIndex, steps } = plans[p]!;
      let mask = 0;
      for (let s = 0; s < steps.length; s++) {
        const plan = steps[s]!;
        if ((plan.channelMask & channel) === 0) continue;
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
      visit(rule, ruleIndex, key, mask, distinct);
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
