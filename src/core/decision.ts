import { z } from 'zod';
import { ProofingLevel } from './proofing.js';
import { Tier } from './tiers.js';
import { TenantId } from './identity-change.js';

/** allow < hold < deny: the most restrictive outcome wins. */
export const OUTCOMES = ['allow', 'hold', 'deny'] as const;
export const Outcome = z.enum(OUTCOMES).describe('allow: let it stand; hold: contain until approved; deny: undo it');
export type Outcome = z.infer<typeof Outcome>;

/** The more restrictive of two outcomes. */
export function stricterOutcome(a: Outcome, b: Outcome): Outcome {
  return OUTCOMES.indexOf(a) >= OUTCOMES.indexOf(b) ? a : b;
}

export const PolicyMode = z.enum(['enforce', 'monitor']).describe('monitor: decide and record, never act');
export type PolicyMode = z.infer<typeof PolicyMode>;

/**
 * Compensating and containing actions a decision can ask connectors to run
 * (design §1, "Undo"). `notify:<channel>` entries are kept apart in `notify`.
 */
export const ACTIONS = [
  'hold_group',
  'revoke_sessions',
  'remove_new_factor',
  'reset_factors',
  'expire_password',
  'suspend',
  'raise_risk',
  // Revokes the non-human credential the change added (an Okta API token; an Entra application or service principal secret or key).
  'revoke_new_credential',
] as const;
export const Action = z.enum(ACTIONS);
export type Action = z.infer<typeof Action>;

export const TicketRequirement = z
  .object({
    system: z.enum(['servicenow', 'jira']).optional().describe('Ticketing system the ticket must live in'),
    states: z.array(z.string().min(1)).min(1).optional().describe('Ticket states that count, e.g. ["In Progress"]'),
  })
  .strict();
export type TicketRequirement = z.infer<typeof TicketRequirement>;

export const ApprovalRequirement = z
  .object({
    count: z.number().int().min(1).max(10).describe('Distinct approvers needed'),
    from: z
      .array(z.string().regex(/^(group|role|user):.+$/, 'approver sources look like group:<name>, role:<name> or user:<id>'))
      .default([])
      .describe('Who may approve; empty means any approver'),
  })
  .strict();
export type ApprovalRequirement = z.infer<typeof ApprovalRequirement>;

/** What a decision obliges: what would make a held change acceptable, and what to do meanwhile. */
export const Obligations = z
  .object({
    request: z.literal('approved').optional().describe('An approved, unexpired, unused change request must cover the change'),
    proofing: ProofingLevel.optional(),
    ticket: TicketRequirement.optional(),
    approvals: ApprovalRequirement.optional(),
    ttlSeconds: z.number().int().positive().optional().describe('How long an approval stays valid'),
    actions: z.array(Action).default([]).describe('Actions connectors run for this outcome'),
    notify: z.array(z.string()).default([]).describe('Notification channels to tell'),
  })
  .strict();
export type Obligations = z.infer<typeof Obligations>;

/** One rule's part in a decision. */
export const RuleResult = z
  .object({
    id: z.string(),
    outcome: Outcome,
    reason: z.string(),
    obligations: Obligations,
    error: z.string().optional().describe('Set when the rule could not be evaluated; the outcome is then the policy `failure`'),
    requestId: z.string().optional().describe('The change request whose approval satisfied this rule'),
    breakGlass: z.boolean().optional().describe('The request that satisfied this rule was a declared break-glass (allowed, alerted, reviewed afterwards)'),
    exceptionId: z.string().optional().describe('The rule was not applied to this target because of this policy exception'),
  })
  .strict();
export type RuleResult = z.infer<typeof RuleResult>;

/** The answer for one change. */
export const Decision = z
  .object({
    id: z.uuid(),
    tenant: TenantId,
    changeId: z.uuid(),
    outcome: Outcome,
    mode: PolicyMode,
    tier: Tier,
    rules: z.array(RuleResult).describe('Every rule that matched, with why'),
    obligations: Obligations.describe('Union of the obligations of the rules that decided the outcome'),
    defaulted: z.boolean().describe('No rule matched; the policy default applied'),
    policyVersion: z.string().describe('Content hash of the policy file that decided'),
    decidedAt: z.iso.datetime({ offset: true }),
  })
  .strict();
export type Decision = z.infer<typeof Decision>;
