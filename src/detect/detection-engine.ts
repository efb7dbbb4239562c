import type { RequestSnapshot } from '../core/change-request.js';
import type { IdentityChange } from '../core/identity-change.js';
import { activationFor, runExpression } from '../core/policy/evaluate-policy.js';
import { FALLBACK_TIER, type Tier } from '../core/tiers.js';
import type { AlertChange } from '../core/alert.js';
import { alertChangeOf } from './alert.js';
import type { CompiledDetectionRule, CompiledRulePack, KeyRef } from './compile-rule-pack.js';
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

/** The de-duplication key of a change: its first vendor event id, else its own id. */
export function changeUid(change: IdentityChange): string {
  const eventId = change.source.eventIds[0];
  return eventId !== undefined ? `${change.source.idp}:${eventId}` : `id:${change.id}`;
}

/** Turns changes into observations for the rules of one pack. */
export class DetectionEngine {
  constructor(
    readonly pack: CompiledRulePack,
    readonly identities: IdentityResolver,
  ) {}

  /** The canonical identity of the change's target (what `by: target` rules key on). */
  targetKey(change: IdentityChange): string {
    return this.identities.keyOf(change.target, change.source.idp);
  }

  /** The canonical identity of the change's actor. */
  actorKey(change: IdentityChange): string {
    return this.identities.keyOf(change.actor, change.source.idp);
  }

  #key(ref: KeyRef, change: IdentityChange, activation: Activation): string | { error: string } {
    if (ref.kind === 'target') return this.targetKey(change);
    if (ref.kind === 'actor') return this.actorKey(change);
    try {
      const value: unknown = ref.expr.evaluate(activation);
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
    const candidates = this.pack.candidates(change.kind);
    if (candidates.length === 0) return [];
    let activation: Activation | undefined;
    const out: Touch[] = [];
    let at: number | undefined;
    let ref: AlertChange | undefined;
    let i = 0;
    while (i < candidates.length) {
      const { rule, ruleIndex } = candidates[i]!;
      let mask = 0;
      for (; i < candidates.length && candidates[i]!.ruleIndex === ruleIndex; i++) {
        const step = rule.steps[candidates[i]!.step]!;
        if (step.channels && !step.channels.has(change.channel)) continue;
        activation ??= this.#activation(change, facts);
        const result = runExpression(step.when, activation);
        if (!result.ok) onError?.({ rule: rule.id, what: `step "${step.name}"`, error: result.error });
        else if (result.value) mask |= 1 << candidates[i]!.step;
      }
      if (mask === 0) continue;
      const key = this.#key(rule.by, change, activation!);
      if (typeof key !== 'string') {
        onError?.({ rule: rule.id, what: 'by', error: key.error });
        continue;
      }
      let distinct: string | undefined;
      if (rule.distinct) {
        const d = this.#key(rule.distinct, change, activation!);
        if (typeof d !== 'string') {
          onError?.({ rule: rule.id, what: 'distinct', error: d.error });
          continue;
        }
        distinct = d;
      }
      at ??= Date.parse(change.occurredAt);
      ref ??= alertChangeOf(change);
      out.push({ rule, ruleIndex, key, obs: { uid: changeUid(change), at, mask, ...(distinct !== undefined ? { distinct } : {}), change: ref } });
    }
    return out;
  }

  #activation(change: IdentityChange, facts: ChangeFacts): Activation {
    const activation = activationFor({ change, ...(facts.request ? { request: facts.request } : {}), now: new Date(change.occurredAt) });
    activation.target.tier = facts.tier ?? FALLBACK_TIER;
    return activation;
  }
}
