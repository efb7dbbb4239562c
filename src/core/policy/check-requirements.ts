import type { RequestSnapshot } from '../change-request.js';
import type { IdentityChange } from '../identity-change.js';
import { proofingSatisfies } from '../proofing.js';
import type { CompiledRequirement } from './compile-policy.js';
import { formatDuration } from './duration.js';

/** Whether a change request meets a rule's `require` block, and what is missing if not. */
export interface RequirementCheck {
  met: boolean;
  unmet: string[];
}

function sameIdentity(a: string, b: IdentityChange['actor']): boolean {
  return a === b.id || (b.login !== undefined && a.toLowerCase() === b.login.toLowerCase());
}

/** Approvals that count: distinct approvers who are not the requester, the target or the executor, from an allowed source. */
export function qualifyingApprovers(requirement: CompiledRequirement, request: RequestSnapshot, change: IdentityChange): string[] {
  const excluded = new Set([request.requesterId, request.executorId, request.targetId, change.target.id, change.actor.id]);
  const from = requirement.approvals?.from ?? [];
  const approvers = new Set<string>();
  for (const approval of request.approvals) {
    if (excluded.has(approval.approverId)) continue;
    const allowed =
      from.length === 0 ||
      from.some((source) => {
        const [type, ...rest] = source.split(':');
        const name = rest.join(':');
        if (type === 'group') return approval.groups.includes(name);
        if (type === 'role') return approval.roles.includes(name);
        return approval.approverId === name;
      });
    if (allowed) approvers.add(approval.approverId);
  }
  return [...approvers];
}

/**
 * Checks a change request against a rule's requirements. The workflow finds
 * the candidate request; this is the policy core's own, last check of it,
 * including separation of duties: an approval by the requester, the target or
 * the executor never counts, nor does the same approver twice.
 */
export function checkRequirements(requirement: CompiledRequirement, request: RequestSnapshot | undefined, change: IdentityChange): RequirementCheck {
  if (!request) return { met: false, unmet: ['no approved change request covers this change'] };
  const unmet: string[] = [];
  const at = Date.parse(change.occurredAt);

  if (request.tenant !== change.tenant) unmet.push(`request ${request.id} belongs to tenant ${request.tenant}`);
  if (request.kind !== change.kind) unmet.push(`request ${request.id} is for ${request.kind}, not ${change.kind}`);
  if (request.targetId !== change.target.id) unmet.push(`request ${request.id} is for another target`);
  if (!sameIdentity(request.executorId, change.actor)) unmet.push(`request ${request.id} names another executor`);
  if (request.requesterId === request.executorId) unmet.push(`request ${request.id} was requested and executed by the same person`);
  if (request.state !== 'approved') unmet.push(`request ${request.id} is ${request.state}, not approved`);
  if (request.consumedAt !== undefined) unmet.push(`request ${request.id} was already used at ${request.consumedAt}`);
  if (request.expiresAt !== undefined && at > Date.parse(request.expiresAt)) unmet.push(`request ${request.id} expired at ${request.expiresAt}`);

  if (requirement.proofing && !proofingSatisfies(request.proofing?.level, requirement.proofing))
    unmet.push(`proofing ${request.proofing?.level ?? 'none'} is below the required ${requirement.proofing}`);

  if (requirement.ticket) {
    const { system, states } = requirement.ticket;
    if (!request.ticket) unmet.push(`a ticket${system ? ` in ${system}` : ''} is required`);
    else {
      if (system && request.ticket.system !== system) unmet.push(`ticket ${request.ticket.id} is in ${request.ticket.system}, not ${system}`);
      if (states && !states.includes(request.ticket.state)) unmet.push(`ticket ${request.ticket.id} is "${request.ticket.state}", not one of ${states.map((s) => `"${s}"`).join(', ')}`);
    }
  }

  if (requirement.approvals) {
    const have = qualifyingApprovers(requirement, request, change).length;
    const { count, from } = requirement.approvals;
    if (have < count) unmet.push(`${have} of ${count} required approval${count > 1 ? 's' : ''}${from.length ? ` from ${from.join(', ')}` : ''}`);
  }

  if (requirement.ttlSeconds !== undefined) {
    if (request.approvedAt === undefined) unmet.push(`request ${request.id} has no approval time`);
    else if (at - Date.parse(request.approvedAt) > requirement.ttlSeconds * 1000)
      unmet.push(`approval older than ${formatDuration(requirement.ttlSeconds)} (approved ${request.approvedAt})`);
  }

  return { met: unmet.length === 0, unmet };
}
