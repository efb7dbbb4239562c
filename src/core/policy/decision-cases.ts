import { z } from 'zod';
import { RequestSnapshot } from '../change-request.js';
import { Action, Outcome } from '../decision.js';
import { ChangeInput, completeChange, type IdentityChange } from '../identity-change.js';
import { Tier } from '../tiers.js';
import type { CompiledPolicy } from './compile-policy.js';
import { evaluatePolicy, type Verdict } from './evaluate-policy.js';

/**
 * Decision cases as data (`warden policy test`): a proposed change, an
 * optional change request, and the decision wanted. Identity teams read and
 * extend them like the policy itself.
 */

const IsoTime = z.iso.datetime({ offset: true });

export const CaseExpectation = z
  .object({
    outcome: Outcome,
    tier: Tier.optional().describe('Expected tier of the target'),
    rules: z.array(z.string()).optional().describe('Exactly the ids of the rules that decide (matched or failed), in any order'),
    actions: z.array(Action).optional().describe('Exactly these actions, in any order'),
    notify: z.array(z.string()).optional(),
    defaulted: z.boolean().optional(),
    reason: z.string().optional().describe('Text that some rule reason must contain'),
  })
  .strict();

/** A request in a case: what the case leaves out is taken from the change. */
export const CaseRequest = RequestSnapshot.partial({ tenant: true, kind: true, targetId: true, executorId: true, requesterId: true, id: true });

export const DecisionCase = z
  .object({
    description: z.string().min(1),
    change: ChangeInput,
    request: CaseRequest.optional(),
    now: IsoTime.optional().describe('Evaluation time; default the change time'),
    want: CaseExpectation,
  })
  .strict();
export type DecisionCase = z.infer<typeof DecisionCase>;

/** A case file: a list of cases with the policy they test, or one case. */
export const CaseFile = z.union([
  z.object({ policy: z.string().optional(), cases: z.array(DecisionCase).min(1) }).strict(),
  DecisionCase.extend({ policy: z.string().optional() }).strict(),
]);
export type CaseFile = z.infer<typeof CaseFile>;

export interface CaseResult {
  description: string;
  passed: boolean;
  failures: string[];
  verdict: Verdict;
}

const DEFAULT_TIME = '2026-01-05T10:00:00Z';

const sameSet = (a: readonly string[], b: readonly string[]) => a.length === b.length && [...a].sort().join('\n') === [...b].sort().join('\n');
const show = (xs: readonly string[]) => `[${xs.join(', ')}]`;

/** Builds the change and request of a case for a policy's tenant. */
export function caseInputs(policy: CompiledPolicy, c: DecisionCase): { change: IdentityChange; request?: RequestSnapshot; now: Date } {
  const occurredAt = c.change.occurredAt ?? c.now ?? DEFAULT_TIME;
  const change = completeChange({ ...c.change, occurredAt, observedAt: c.change.observedAt ?? occurredAt }, policy.tenant, new Date(occurredAt));
  const request = c.request
    ? RequestSnapshot.parse({
        id: 'case-request',
        tenant: policy.tenant,
        kind: change.kind,
        targetId: change.target.id,
        executorId: change.actor.id,
        requesterId: change.target.id,
        ...c.request,
      })
    : undefined;
  return { change, ...(request ? { request } : {}), now: new Date(c.now ?? occurredAt) };
}

/** Evaluates one case and compares the verdict with what it wants. */
export function runDecisionCase(policy: CompiledPolicy, c: DecisionCase): CaseResult {
  const verdict = evaluatePolicy(policy, caseInputs(policy, c));
  const want = c.want;
  const failures: string[] = [];
  if (verdict.outcome !== want.outcome) failures.push(`outcome: want ${want.outcome}, got ${verdict.outcome}`);
  if (want.tier && verdict.tier !== want.tier) failures.push(`tier: want ${want.tier}, got ${verdict.tier}`);
  const ruleIds = verdict.rules.map((r) => r.id);
  if (want.rules && !sameSet(want.rules, ruleIds)) failures.push(`rules: want ${show(want.rules)}, got ${show(ruleIds)}`);
  if (want.actions && !sameSet(want.actions, verdict.obligations.actions))
    failures.push(`actions: want ${show(want.actions)}, got ${show(verdict.obligations.actions)}`);
  if (want.notify && !sameSet(want.notify, verdict.obligations.notify))
    failures.push(`notify: want ${show(want.notify)}, got ${show(verdict.obligations.notify)}`);
  if (want.defaulted !== undefined && verdict.defaulted !== want.defaulted) failures.push(`defaulted: want ${want.defaulted}, got ${verdict.defaulted}`);
  if (want.reason && !verdict.rules.some((r) => r.reason.includes(want.reason!)))
    failures.push(`reason: no rule reason contains "${want.reason}" (reasons: ${verdict.rules.map((r) => JSON.stringify(r.reason)).join('; ') || 'none'})`);
  return { description: c.description, passed: failures.length === 0, failures, verdict };
}
