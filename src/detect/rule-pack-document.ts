import { z } from 'zod';
import { DURATION_PATTERN } from '../core/policy/duration.js';
import { Severity } from '../core/alert.js';

/**
 * A detection rule file (design §6), as security teams write it. The shipped
 * pack lives in src/detect/rules/; a tenant's file (`tenants[].detection.rules`)
 * has the same shape and extends or overrides it rule by rule.
 */

const Expression = z.string().min(1, 'expression is empty').max(4096);
const Duration = z.string().regex(DURATION_PATTERN, 'a duration such as 90s, 10m, 1h, 24h');

/** `target`, `actor`, or a CEL expression whose value is the key. */
export const KeySpec = z
  .string()
  .min(1)
  .max(1024)
  .describe(
    "`target`: the affected person's canonical identity (the same across Okta, Entra and M365); `actor`: the actor's; or a CEL expression giving the key, e.g. `actor.ip`",
  );

export const RuleId = z.string().regex(/^[a-z0-9][a-z0-9._-]{0,99}$/, 'rule ids are lower-case letters, digits, ".", "_" or "-"');

export const AttackTechnique = z
  .object({
    id: z.string().regex(/^T\d{4}(\.\d{3})?$/, 'an ATT&CK technique id such as T1098 or T1098.005'),
    name: z.string().min(1).max(200),
  })
  .strict()
  .describe('A MITRE ATT&CK technique the rule detects');

export const StepDoc = z
  .object({
    name: z.string().min(1).max(100).describe('What this step is, for summaries and errors'),
    when: Expression.describe('CEL over change, target, actor, context, request, now (as in policy)'),
    count: z.number().int().min(1).max(1000).default(1).describe('How many distinct changes must match this step (e.g. 5 denied pushes)'),
  })
  .strict();
export type StepDoc = z.infer<typeof StepDoc>;

const common = {
  id: RuleId,
  title: z.string().min(1).max(200),
  severity: Severity,
  enabled: z.boolean().default(true).describe('false turns a shipped rule off for a tenant'),
  intent: z.string().min(1).max(4000).describe('What the rule is for: the attack it catches'),
  falsePositives: z.string().min(1).max(4000).describe('When it fires on legitimate work, and how to tell'),
  attack: z.array(AttackTechnique).min(1).max(10),
  references: z.array(z.string().max(500)).max(20).default([]),
  by: KeySpec.default('target').describe('What changes are correlated by (default `target`)'),
  allowedLateness: Duration.optional().describe("How late a change may reach Warden and still count (default: the tenant's `detection.allowedLateness`)"),
};

export const SequenceRuleDoc = z
  .object({
    ...common,
    type: z.literal('sequence'),
    window: Duration.describe('All steps must fall within this span of event time'),
    anyOrder: z.boolean().default(false).describe('true: the steps may happen in any order'),
    steps: z.array(StepDoc).min(2).max(8),
  })
  .strict();

export const ThresholdRuleDoc = z
  .object({
    ...common,
    type: z.literal('threshold'),
    when: Expression.describe('CEL: which changes count'),
    count: z.number().int().min(1).max(10_000).default(1).describe('Alert at this many matching changes by key within `window` (1: every matching change)'),
    window: Duration.optional().describe('Span of event time the count is taken over (needed when count > 1)'),
    distinct: KeySpec.optional().describe('Count distinct values of this instead of changes: `target`, `actor`, or a CEL expression'),
  })
  .strict()
  .superRefine((rule, ctx) => {
    if (rule.count > 1 && rule.window === undefined) ctx.addIssue({ code: 'custom', path: ['window'], message: 'a threshold above 1 needs a `window`' });
  });

export const AbsenceRuleDoc = z
  .object({
    ...common,
    type: z.literal('absence'),
    window: Duration.describe('How long the second step has to follow the first'),
    steps: z.tuple([StepDoc, StepDoc]).describe('[A, B]: alert when A is not followed by B within `window`'),
  })
  .strict();

export const DetectionRuleDoc = z.discriminatedUnion('type', [SequenceRuleDoc, ThresholdRuleDoc, AbsenceRuleDoc]);
export type DetectionRuleDoc = z.infer<typeof DetectionRuleDoc>;

/** A rule file as first read: rules are checked one by one after overrides are merged. */
export const RuleFileDoc = z
  .object({
    apiVersion: z.literal('warden/v1'),
    kind: z.literal('DetectionRules'),
    rules: z
      .array(z.looseObject({ id: RuleId }))
      .max(500)
      .describe(
        'Rules; in a tenant file, an entry whose id is a shipped rule is merged over it key by key (e.g. `{ id: x, window: 2h }` or `{ id: x, enabled: false }`)',
      ),
  })
  .strict();
export type RuleFileDoc = z.infer<typeof RuleFileDoc>;
