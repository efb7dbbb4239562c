import type { ObservedRisk } from '../core/change-request.js';
import type { ChangeContext, IdentityChange, Principal } from '../core/identity-change.js';
import type { StoreOps } from '../store/store.js';
import type { WorkflowSettings } from './request-settings.js';

/** Factor types that are a phone: enrolling, changing or removing one changes where a callback or an SMS code goes. */
const PHONE_FACTORS: ReadonlySet<string> = new Set(['sms', 'voice']);
const FACTOR_CHANGES: ReadonlySet<string> = new Set(['factor.enroll', 'factor.update', 'factor.remove', 'factor.reset_all']);
/** Most recent changes of the person read (a person's changes over a week are far fewer). */
const LIMIT = 500;

/** Which risk signal an observed change is, if any. */
export function riskSignalOf(change: IdentityChange): ObservedRisk['signal'] | undefined {
  // Microsoft 365 (Management Activity): New-InboxRule, Set-InboxRule, UpdateInboxRules, Set-Mailbox forwarding.
  if (change.kind === 'mailbox.rule') return 'mailboxRulesChangedAt';
  // IdP logs: the recovery phone or e-mail (Okta user.account.update_primary_email, Entra StrongAuthenticationUserDetails), or a phone factor.
  if (change.kind === 'recovery.update') return 'phoneChangedAt';
  if (FACTOR_CHANGES.has(change.kind) && change.factor && PHONE_FACTORS.has(change.factor.type)) return 'phoneChangedAt';
  // Where the IdP says the device was new for the user (Okta debugContext behaviors "New Device=POSITIVE").
  if (change.context.newDevice === true) return 'newDevice';
  return undefined;
}

/**
 * What Warden itself observed of the person recently, from the changes it
 * recorded (any IdP, matched by the target's id or login): the latest
 * mailbox-rule or forwarding change (Microsoft 365), the latest phone or
 * recovery change (IdP logs), the latest change the IdP reported from a new
 * device. Each within the window the proofing raise uses for it (new device:
 * the mailbox window).
 */
export async function observedRisk(
  ops: Pick<StoreOps, 'listChangesOfTarget'>,
  tenant: string,
  target: Pick<Principal, 'id' | 'login' | 'email'>,
  settings: Pick<WorkflowSettings, 'raise'>,
  now: Date,
): Promise<ObservedRisk[]> {
  const windows: Record<ObservedRisk['signal'], number> = {
    mailboxRulesChangedAt: settings.raise.mailboxRulesWithinMs,
    phoneChangedAt: settings.raise.phoneChangedWithinMs,
    newDevice: settings.raise.mailboxRulesWithinMs,
  };
  const since = new Date(now.getTime() - Math.max(...Object.values(windows)));
  const logins = [target.login, target.email].filter((n): n is string => !!n);
  const changes = await ops.listChangesOfTarget(tenant, { ids: [target.id], logins }, since, LIMIT);
  const latest = new Map<ObservedRisk['signal'], ObservedRisk>();
  for (const c of changes) {
    const signal = riskSignalOf(c);
    if (!signal || latest.has(signal)) continue;
    if (now.getTime() - Date.parse(c.occurredAt) >= windows[signal] || Date.parse(c.occurredAt) > now.getTime()) continue;
    latest.set(signal, {
      signal,
      at: c.occurredAt,
      changeId: c.id,
      kind: c.kind,
      idp: c.source.idp,
      rawType: c.source.rawType,
      eventIds: c.source.eventIds.slice(0, 5),
    });
  }
  return [...latest.values()];
}

/**
 * The caller's context with what Warden observed: a caller may add context
 * but not lower it. For each time the later of the two is kept; a new
 * device observed is `newDevice: true` whatever the caller said.
 */
export function withObservedRisk(context: ChangeContext, observed: readonly ObservedRisk[]): ChangeContext {
  const out: ChangeContext = { ...context };
  for (const o of observed) {
    if (o.signal === 'newDevice') out.newDevice = true;
    else {
      const given = context[o.signal];
      if (given === undefined || Date.parse(given) < Date.parse(o.at)) out[o.signal] = o.at;
    }
  }
  return out;
}
