import type { Evidence } from '../core/change-request.js';
import type { ChangeContext } from '../core/identity-change.js';
import { PROOFING_LEVELS, proofingRank, proofingSatisfies, type ProofingLevel } from '../core/proofing.js';
import type { WorkflowSettings } from './request-settings.js';

/** The proofing level a request needs, and the context that raised it above the policy's. */
export interface ProofingNeed {
  level?: ProofingLevel;
  policyLevel?: ProofingLevel;
  raisedBy: string[];
}

const within = (iso: string | undefined, windowMs: number, now: Date) => iso !== undefined && now.getTime() - Date.parse(iso) < windowMs;

/**
 * Raises the policy's proofing level when the context of the request is
 * risky (the signals of the seed story): the requester's mailbox had its
 * rules or forwarding changed recently (the attacker reads the mail), the
 * phone number changed recently (a callback would reach the attacker), or
 * the request comes from an untrusted device. A raised level is one step
 * above the policy's and at least `raise.atLeast` (default manager_attest).
 *
 * @example
 *   proofingNeed('callback', { phoneChangedAt: '…two days ago…' }, settings, now)
 *   // { level: 'manager_attest', policyLevel: 'callback', raisedBy: ['phone number changed …'] }
 */
export function proofingNeed(
  policyLevel: ProofingLevel | undefined,
  context: ChangeContext,
  settings: Pick<WorkflowSettings, 'raise'>,
  now: Date,
): ProofingNeed {
  const raisedBy: string[] = [];
  const { raise } = settings;
  if (within(context.mailboxRulesChangedAt, raise.mailboxRulesWithinMs, now))
    raisedBy.push(`mailbox rules or forwarding changed at ${context.mailboxRulesChangedAt}`);
  if (within(context.phoneChangedAt, raise.phoneChangedWithinMs, now)) raisedBy.push(`phone number changed at ${context.phoneChangedAt}`);
  if (raise.untrustedDevice && context.deviceTrusted === false) raisedBy.push('the request comes from an untrusted device');
  if (raisedBy.length === 0) return { ...(policyLevel ? { level: policyLevel, policyLevel } : {}), raisedBy };
  const base = proofingRank(policyLevel ?? 'none');
  const stepUp = PROOFING_LEVELS[Math.min(base + 1, PROOFING_LEVELS.length - 1)]!;
  const level = proofingRank(stepUp) >= proofingRank(raise.atLeast) ? stepUp : raise.atLeast;
  return { level, ...(policyLevel ? { policyLevel } : {}), raisedBy };
}

/** The strongest accepted proofing evidence still valid at `now` (the most recent among equals). */
export function bestEvidence(evidence: readonly Evidence[], now: Date): Evidence | undefined {
  let best: Evidence | undefined;
  for (const e of evidence) {
    if (e.kind !== 'proofing' || !e.accepted || !e.level) continue;
    if (e.expiresAt !== undefined && Date.parse(e.expiresAt) <= now.getTime()) continue;
    if (!best || proofingRank(e.level) > proofingRank(best.level!) || (e.level === best.level && e.verifiedAt > best.verifiedAt)) best = e;
  }
  return best;
}

/** Whether the evidence meets the need (no need: always). */
export function meetsNeed(evidence: Evidence | undefined, need: ProofingLevel | undefined): boolean {
  return need === undefined || proofingSatisfies(evidence?.level, need);
}
