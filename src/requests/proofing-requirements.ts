import type { Evidence, ObservedRisk } from '../core/change-request.js';
import type { ChangeContext } from '../core/identity-change.js';
import { PROOFING_LEVELS, proofingRank, proofingSatisfies, type ProofingLevel } from '../core/proofing.js';
import { withObservedRisk } from './observed-risk.js';
import type { WorkflowSettings } from './request-settings.js';

/** The proofing level a request needs, and the context that raised it above the policy's. */
export interface ProofingNeed {
  level?: ProofingLevel;
  policyLevel?: ProofingLevel;
  raisedBy: string[];
  /** The changes Warden observed itself among what raised it. */
  observed: ObservedRisk[];
}

const within = (iso: string | undefined, windowMs: number, now: Date) => iso !== undefined && now.getTime() - Date.parse(iso) < windowMs;
const seen = (o: ObservedRisk) => `observed by Warden: ${o.idp} ${o.rawType}, change ${o.changeId}`;

/**
 * Raises the policy's proofing level when the context of the request is
 * risky (the signals of the seed story): the requester's mailbox had its
 * rules or forwarding changed recently (the attacker reads the mail), the
 * phone number changed recently (a callback would reach the attacker), or
 * the request comes from an untrusted device or the IdP reported a new
 * device for the person. A raised level is one step above the policy's and
 * at least `raise.atLeast` (default manager_attest).
 *
 * `observed` is what Warden recorded itself (src/requests/observed-risk.ts):
 * it counts whatever the caller's context says (for each time, the later of
 * the two), so a caller can add context but not lower it; the changes that
 * raised the level are returned in `observed` and named in `raisedBy`.
 *
 * @example
 *   proofingNeed('callback', { phoneChangedAt: '…two days ago…' }, settings, now)
 *   // { level: 'manager_attest', policyLevel: 'callback', raisedBy: ['phone number changed …'], observed: [] }
 */
export function proofingNeed(
  policyLevel: ProofingLevel | undefined,
  given: ChangeContext,
  settings: Pick<WorkflowSettings, 'raise'>,
  now: Date,
  observations: readonly ObservedRisk[] = [],
): ProofingNeed {
  const raisedBy: string[] = [];
  const observed: ObservedRisk[] = [];
  const { raise } = settings;
  const context = withObservedRisk(given, observations);
  const by = (signal: ObservedRisk['signal'], at?: string) => observations.find((o) => o.signal === signal && (at === undefined || o.at === at));
  const note = (text: string, o: ObservedRisk | undefined) => {
    raisedBy.push(o ? `${text} (${seen(o)})` : text);
    if (o) observed.push(o);
  };
  if (within(context.mailboxRulesChangedAt, raise.mailboxRulesWithinMs, now))
    note(`mailbox rules or forwarding changed at ${context.mailboxRulesChangedAt}`, by('mailboxRulesChangedAt', context.mailboxRulesChangedAt));
  if (within(context.phoneChangedAt, raise.phoneChangedWithinMs, now))
    note(`phone number changed at ${context.phoneChangedAt}`, by('phoneChangedAt', context.phoneChangedAt));
  if (raise.untrustedDevice && given.deviceTrusted === false) raisedBy.push('the request comes from an untrusted device');
  const device = by('newDevice');
  if (raise.untrustedDevice && device) note(`the IdP reported a new device for the person at ${device.at}`, device);
  if (raisedBy.length === 0) return { ...(policyLevel ? { level: policyLevel, policyLevel } : {}), raisedBy, observed };
  const base = proofingRank(policyLevel ?? 'none');
  const stepUp = PROOFING_LEVELS[Math.min(base + 1, PROOFING_LEVELS.length - 1)]!;
  const level = proofingRank(stepUp) >= proofingRank(raise.atLeast) ? stepUp : raise.atLeast;
  return { level, ...(policyLevel ? { policyLevel } : {}), raisedBy, observed };
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
