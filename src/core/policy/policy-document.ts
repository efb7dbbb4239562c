import { z } from 'zod';
import { ACTIONS, ApprovalRequirement, Outcome, PolicyMode, TicketRequirement } from '../decision.js';
import { TenantId } from '../identity-change.js';
import { ProofingLevel } from '../proofing.js';
import { Tier } from '../tiers.js';
import { DURATION_PATTERN } from './duration.js';

/**
 * The per-tenant policy file (design §4), as written by identity teams.
 * `compilePolicy` validates a file against this schema, then compiles every
 * CEL expression once.
 */

const Expression = z.string().min(1, 'expression is empty').max(4096).describe('A CEL expression over change, target, actor, context, request, now');

/** What zod says of an entry that is neither an action nor `notify:<channel>` (compilePolicy rewords it for an unknown action). */
export const NOTIFY_ENTRY_MESSAGE = 'notify entries look like notify:<channel>';

/** `hold_group`, `revoke_sessions`, … or `notify:<channel>`. */
export const ActionEntry = z.union([z.enum(ACTIONS), z.string().regex(/^notify:[a-z0-9][a-z0-9_-]*$/, NOTIFY_ENTRY_MESSAGE)]);

export const RequireBlock = z
  .object({
    request: z.literal('approved').optional().describe('An approved, unexpired, unused change request must match (implied by any other key)'),
    proofing: ProofingLevel.optional().describe('Minimum proofing level of the requester'),
    ticket: TicketRequirement.optional(),
    approvals: ApprovalRequirement.optional().describe('Approvers needed; never the requester, the target or the executor'),
    ttl: z.string().regex(DURATION_PATTERN, 'ttl is a duration such as 30m, 1h, 1d').optional().describe('How long an approval stays valid'),
    breakGlass: z
      .boolean()
      .optional()
      .describe(
        'Whether a declared break-glass request may stand in for these requirements (allowed, alerted, reviewed afterwards). Default true; false for rules no emergency may bypass',
      ),
  })
  .strict();
export type RequireBlock = z.infer<typeof RequireBlock>;

export const PolicyRuleDoc = z
  .object({
    id: z.string().regex(/^[a-z0-9][a-z0-9._-]{0,99}$/, 'rule ids are lower-case letters, digits, ".", "_" or "-"'),
    description: z.string().max(1000).optional(),
    when: Expression,
    require: RequireBlock.optional(),
    otherwise: Outcome.optional().describe('Outcome when `require` is not met (default hold)'),
    outcome: Outcome.optional().describe('Outcome of a rule without `require`'),
    onDeny: z.array(ActionEntry).default([]),
    onHold: z.array(ActionEntry).default([]),
  })
  .strict()
  .superRefine((rule, ctx) => {
    if (rule.require === undefined && rule.outcome === undefined)
      ctx.addIssue({ code: 'custom', message: 'a rule needs `require` (with `otherwise`) or an `outcome`', path: ['when'] });
    if (rule.require !== undefined && rule.outcome !== undefined)
      ctx.addIssue({ code: 'custom', message: 'a rule has either `require` or `outcome`, not both', path: ['outcome'] });
    if (rule.require === undefined && rule.otherwise !== undefined)
      ctx.addIssue({ code: 'custom', message: '`otherwise` only applies to a rule with `require`', path: ['otherwise'] });
    if (rule.otherwise === 'allow') ctx.addIssue({ code: 'custom', message: '`otherwise: allow` would make `require` meaningless', path: ['otherwise'] });
  });
export type PolicyRuleDoc = z.infer<typeof PolicyRuleDoc>;

export const PolicyTierDoc = z
  .object({
    name: Tier,
    when: Expression,
  })
  .strict();

export const PolicyDoc = z
  .object({
    apiVersion: z.literal('warden/v1'),
    tenant: TenantId,
    mode: PolicyMode.default('monitor').describe('enforce or monitor (default: monitor, so a new policy never acts by surprise)'),
    default: Outcome.default('allow').describe('Outcome when no rule matches'),
    failure: Outcome.default('hold').describe('Outcome of a rule that cannot be evaluated'),
    tiers: z.array(PolicyTierDoc).max(20).default([]).describe('First match wins; a target no tier matches is standard'),
    rules: z.array(PolicyRuleDoc).max(1000),
  })
  .strict();
export type PolicyDoc = z.infer<typeof PolicyDoc>;
