import { RequestSnapshot } from '../src/core/change-request.js';
import { CHANGE_KINDS, FACTOR_TYPES, IdentityChange, type ChangeKind, type Channel } from '../src/core/identity-change.js';
import { PROOFING_LEVELS } from '../src/core/proofing.js';
import { ALLOWED_COUNTRIES, DEPARTMENTS } from './policy-rules.js';
import { prng } from './support.js';

/**
 * A deterministic, varied workload for the policy benchmark: identity
 * changes of every kind and channel, targets of every tier, context signals
 * present or not, and, for a share of the changes, a change request that
 * meets a rule's requirements or misses them in one way or another.
 */

export interface Workload {
  change: IdentityChange;
  request?: RequestSnapshot;
}

const HOUR = 3_600_000;

const KIND_WEIGHTS: Record<ChangeKind, number> = {
  'factor.enroll': 18,
  'password.reset': 16,
  'factor.reset_all': 10,
  'factor.remove': 8,
  'recovery.update': 6,
  'tap.issue': 5,
  'password.change': 6,
  'factor.update': 4,
  'factor.suspend': 2,
  'password.expire': 2,
  'session.revoke': 4,
  'account.suspend': 2,
  'account.unlock': 4,
  'support.access': 2,
  'mfa.bypass': 1,
  'mailbox.rule': 3,
  'role.assign': 4,
  'credential.add': 3,
  // MFA challenge outcomes feed detection; the policy workload leaves them out so its figures stay comparable.
  'mfa.denied': 0,
  'mfa.verified': 0,
};

const CHANNEL_WEIGHTS: Record<Channel, number> = { self_service: 40, helpdesk: 25, admin: 15, api: 10, system: 6, support: 4 };

export function generateWorkload(count: number, seed: number, tenant: string, now: Date): Workload[] {
  const random = prng(seed);
  const chance = (p: number) => random() < p;
  const int = (n: number) => Math.floor(random() * n);
  const pick = <T>(items: readonly T[]): T => items[int(items.length)]!;
  const weighted = <K extends string>(weights: Record<K, number>): K => {
    const entries = Object.entries(weights) as Array<[K, number]>;
    let r = random() * entries.reduce((s, [, w]) => s + w, 0);
    for (const [k, w] of entries) if ((r -= w) < 0) return k;
    return entries[entries.length - 1]![0];
  };
  const ago = (maxHours: number) => new Date(now.getTime() - random() * maxHours * HOUR).toISOString();
  const hex = (n: number) => Array.from({ length: n }, () => int(16).toString(16)).join('');

  const out: Workload[] = [];
  for (let i = 0; i < count; i++) {
    const kind = weighted(KIND_WEIGHTS);
    const channel: Channel =
      kind === 'password.change' && chance(0.9)
        ? 'self_service'
        : kind === 'password.expire' && chance(0.7)
          ? 'system'
          : kind === 'support.access'
            ? 'support'
            : weighted(CHANNEL_WEIGHTS);

    const login = `user${i}@acme.example`;
    const groups = ['Everyone'];
    for (let g = int(4); g > 0; g--) {
      const dept = pick(DEPARTMENTS);
      if (!groups.includes(dept)) groups.push(dept);
    }
    if (chance(0.05)) groups.push('Privileged Access');
    if (chance(0.03)) groups.push('Executives');
    const employeeType = chance(0.8) ? 'employee' : chance(0.75) ? 'contractor' : 'intern';
    const attributes: Record<string, string | boolean> = { costCenter: pick(['CC-100', 'CC-200', 'CC-300', 'CC-900']) };
    if (chance(0.3)) attributes.remote = chance(0.8);
    if (employeeType === 'contractor') attributes.contractEnd = new Date(now.getTime() + (random() - 0.3) * 2000 * HOUR).toISOString();
    const target = {
      id: `00u${hex(17)}`,
      login,
      displayName: `User ${i}`,
      groups,
      adminRoles: chance(0.06) ? [pick(['SUPER_ADMIN', 'ORG_ADMIN', 'HELP_DESK_ADMIN', 'APP_ADMIN'])] : [],
      employeeType,
      flags: { executive: chance(0.03), shared: chance(0.04), serviceAccount: chance(0.04), breakGlass: chance(0.01) },
      attributes,
    };

    const actor =
      channel === 'self_service' || (channel === 'admin' && chance(0.03))
        ? { ...target, type: 'user' as const }
        : channel === 'helpdesk'
          ? {
              id: `00uagent${hex(11)}`,
              login: `agent${int(40)}@acme.example`,
              type: 'user' as const,
              groups: [chance(0.85) ? 'Service Desk' : 'IT'],
              adminRoles: ['HELP_DESK_ADMIN'],
            }
          : channel === 'admin'
            ? {
                id: `00uadmin${hex(11)}`,
                login: `admin${int(10)}@acme.example`,
                type: 'user' as const,
                groups: ['IT'],
                adminRoles: [chance(0.3) ? 'SUPER_ADMIN' : 'ORG_ADMIN'],
              }
            : channel === 'api'
              ? { id: `0oa${hex(17)}`, type: chance(0.7) ? ('service' as const) : ('user' as const), groups: [], adminRoles: [] }
              : channel === 'system'
                ? { id: 'system', type: 'system' as const, groups: [], adminRoles: [] }
                : { id: 'okta-support', type: 'user' as const, groups: [], adminRoles: [] };

    const context: Record<string, unknown> = {};
    if (chance(0.3)) context.newDevice = chance(0.5);
    if (chance(0.4)) context.deviceTrusted = chance(0.6);
    if (chance(0.6)) context.ipReputation = weighted({ trusted: 50, unknown: 30, suspicious: 15, malicious: 5 });
    if (chance(0.4)) context.riskLevel = pick(['none', 'low', 'medium', 'high']);
    if (chance(0.2)) context.phoneChangedAt = ago(24 * 30);
    if (chance(0.1)) context.recoveryChangedAt = ago(24 * 7);
    if (chance(0.08)) context.mailboxRulesChangedAt = ago(24 * 14);
    if (chance(0.5)) context.country = pick([...ALLOWED_COUNTRIES, ...ALLOWED_COUNTRIES, 'BR', 'NG', 'RU', 'IN']);
    if (chance(0.1))
      context.alerts = Array.from({ length: 1 + int(2) }, (_, a) => ({
        id: `alert-${i}-${a}`,
        rule: 'impossible-travel',
        severity: pick(['low', 'medium', 'high', 'critical']),
      }));
    if (kind === 'mailbox.rule' && chance(0.5)) context.forwardsExternally = chance(0.5);

    const occurredAt = new Date(now.getTime() - int(60_000)).toISOString();
    const change = IdentityChange.parse({
      id: `0190${hex(4)}-${hex(4)}-7${hex(3)}-8${hex(3)}-${hex(12)}`,
      tenant,
      source: { idp: chance(0.6) ? 'okta' : 'entra', eventIds: [`evt-${i}`], rawType: `bench.${kind}`, via: 'hook' },
      kind,
      channel,
      ...(kind.startsWith('factor.') && chance(0.9) ? { factor: { type: pick(FACTOR_TYPES), id: `fct${hex(8)}` } } : {}),
      target,
      actor,
      occurredAt,
      observedAt: occurredAt,
      context,
    });

    // A change request for a share of the assisted changes: mostly fitting, often missing one requirement.
    let request: RequestSnapshot | undefined;
    if ((channel === 'helpdesk' || channel === 'admin' || channel === 'api' || kind === 'credential.add' || kind === 'role.assign') && chance(0.45)) {
      const requester = `00ureq${hex(8)}`;
      const approver = () => {
        const r = random();
        if (r < 0.1) return { approverId: requester, groups: ['iam-approvers'], roles: [] }; // separation of duties: never counts
        if (r < 0.15) return { approverId: change.actor.id, groups: ['iam-approvers'], roles: [] };
        return {
          approverId: `00uapp${int(6)}`,
          groups: chance(0.8)
            ? ['iam-approvers']
            : chance(0.5)
              ? [
                  `${pick(DEPARTMENTS)
                    .toLowerCase()
                    .replace(/[^a-z0-9]+/g, '-')}-managers`,
                ]
              : ['Everyone'],
          roles: chance(0.2) ? ['SUPER_ADMIN'] : [],
          at: ago(2),
        };
      };
      request = RequestSnapshot.parse({
        id: `req-${i}`,
        tenant: chance(0.98) ? tenant : 'other',
        state: chance(0.9) ? 'approved' : pick(['pending_approval', 'executed', 'rejected']),
        kind: chance(0.95) ? kind : pick(CHANGE_KINDS),
        targetId: chance(0.97) ? change.target.id : 'someone-else',
        requesterId: requester,
        executorId: chance(0.9) ? change.actor.id : chance(0.5) && change.actor.login ? change.actor.login.toUpperCase() : requester,
        ...(chance(0.85) ? { proofing: { level: pick(PROOFING_LEVELS), method: 'bench', verifiedAt: ago(1) } } : {}),
        ...(chance(0.8) ? { ticket: { system: chance(0.85) ? 'servicenow' : 'jira', id: `INC${int(1e6)}`, state: chance(0.8) ? 'In Progress' : 'New' } } : {}),
        approvals: Array.from({ length: int(4) }, () => ({ at: ago(2), ...approver() })),
        ...(chance(0.95) ? { approvedAt: ago(chance(0.7) ? 0.5 : 30) } : {}),
        ...(chance(0.3) ? { expiresAt: new Date(now.getTime() + (random() - 0.2) * 4 * HOUR).toISOString() } : {}),
        ...(chance(0.03) ? { consumedAt: ago(1) } : {}),
      });
    }
    out.push(request ? { change, request } : { change });
  }
  return out;
}
