import { stringify } from 'yaml';
import type { ChangeKind, Channel, FactorType, IdentityChange } from '../src/core/identity-change.js';
import type { Outcome } from '../src/core/decision.js';
import type { ProofingLevel } from '../src/core/proofing.js';
import type { Tier } from '../src/core/tiers.js';

/**
 * The 100-rule policy of the policy benchmark, written twice from the same
 * rule templates: once as CEL (`when`, what an identity team writes in the
 * policy file) and once as a plain TypeScript predicate (`test`, what a
 * developer would hand-write without a policy engine). Both sides of every
 * template are written by hand, next to each other; nothing is translated
 * from CEL at run time.
 */

/** A hand-written predicate: the change, the target's tier, and `now` in epoch ms. */
export type Predicate = (c: IdentityChange, tier: Tier, now: number) => boolean;

export interface Requirement {
  proofing?: ProofingLevel;
  ticket?: { system?: 'servicenow' | 'jira'; states?: string[] };
  approvals?: { count: number; from: string[] };
  ttl?: string;
}

export interface RuleSpec {
  id: string;
  description: string;
  /** CEL, for the policy file. */
  when: string;
  /** The same condition in plain TypeScript. */
  test: Predicate;
  /** Kinds the rule is about, for the `switch (kind)` baseline; 'any' when it does not pin the kind. */
  kinds: readonly ChangeKind[] | 'any';
  require?: Requirement;
  otherwise?: 'hold' | 'deny';
  outcome?: Outcome;
  onDeny?: string[];
  onHold?: string[];
}

export interface TierSpec {
  name: Tier;
  when: string;
  test: (t: IdentityChange['target']) => boolean;
}

const HOUR = 3_600_000;
const cel = (values: readonly string[]) => `[${values.map((v) => JSON.stringify(v)).join(', ')}]`;

export const TIER_SPECS: readonly TierSpec[] = [
  {
    name: 'privileged',
    when: 'target.adminRoles.size() > 0 || "Privileged Access" in target.groups',
    test: (t) => t.adminRoles.length > 0 || t.groups.includes('Privileged Access'),
  },
  { name: 'executive', when: 'target.flags.executive || "Executives" in target.groups', test: (t) => t.flags.executive || t.groups.includes('Executives') },
  { name: 'service', when: 'target.flags.serviceAccount', test: (t) => t.flags.serviceAccount },
  { name: 'shared', when: 'target.flags.shared', test: (t) => t.flags.shared },
  { name: 'contractor', when: 'has(target.employeeType) && target.employeeType == "contractor"', test: (t) => t.employeeType === 'contractor' },
];

/** Credential resets someone else can perform for a user. */
export const RESET_KINDS = [
  'factor.reset_all',
  'factor.remove',
  'factor.enroll',
  'password.reset',
  'tap.issue',
  'recovery.update',
] as const satisfies readonly ChangeKind[];
const RESETS: ReadonlySet<string> = new Set(RESET_KINDS);
const ASSISTED: ReadonlySet<string> = new Set<Channel>(['helpdesk', 'admin']);
const isAssisted = (c: IdentityChange) => ASSISTED.has(c.channel);

/** Departments whose members get extra scrutiny (group names in the IdP). */
export const DEPARTMENTS = ['Finance', 'Payroll', 'Treasury', 'HR', 'Legal', 'M&A', 'Board Office', 'Security Ops', 'SRE On-Call', 'Sales Leadership'] as const;
export const ALLOWED_COUNTRIES = ['US', 'CA', 'GB', 'DE'] as const;
const ALLOWED_COUNTRY_SET: ReadonlySet<string> = new Set(ALLOWED_COUNTRIES);

const slug = (s: string) => s.toLowerCase().replace(/[^a-z0-9]+/g, '-');

const R_STANDARD: Requirement = {
  proofing: 'callback',
  ticket: { system: 'servicenow', states: ['In Progress'] },
  approvals: { count: 1, from: ['group:iam-approvers'] },
  ttl: '1h',
};
const R_PRIVILEGED: Requirement = {
  proofing: 'idv',
  ticket: { system: 'servicenow', states: ['In Progress'] },
  approvals: { count: 2, from: ['group:iam-approvers'] },
  ttl: '30m',
};
const R_CONTRACTOR: Requirement = {
  proofing: 'manager_attest',
  ticket: { system: 'servicenow', states: ['In Progress'] },
  approvals: { count: 1, from: ['group:iam-approvers'] },
  ttl: '1h',
};
const R_SHARED: Requirement = { proofing: 'manager_attest', approvals: { count: 2, from: ['group:iam-approvers'] }, ttl: '30m' };
const R_SERVICE: Requirement = { approvals: { count: 1, from: ['group:iam-approvers', 'role:SUPER_ADMIN'] }, ttl: '1d' };

function buildRules(): RuleSpec[] {
  const rules: RuleSpec[] = [];
  const add = (r: RuleSpec) => rules.push(r);

  // --- 1. Assisted (help desk / admin) credential resets, per tier: 6 rules with `require`.
  const assisted: Array<[Tier, Requirement, 'hold' | 'deny']> = [
    ['standard', R_STANDARD, 'hold'],
    ['privileged', R_PRIVILEGED, 'deny'],
    ['executive', R_PRIVILEGED, 'deny'],
    ['contractor', R_CONTRACTOR, 'hold'],
    ['shared', R_SHARED, 'deny'],
    ['service', R_SERVICE, 'hold'],
  ];
  for (const [tier, require, otherwise] of assisted)
    add({
      id: `assisted-reset-${tier}`,
      description: `Help-desk or admin reset of a ${tier} user's credentials needs an approved request`,
      when: `change.channel in ["helpdesk", "admin"] && change.kind in ${cel(RESET_KINDS)} && target.tier == "${tier}"`,
      test: (c, t) => isAssisted(c) && RESETS.has(c.kind) && t === tier,
      kinds: RESET_KINDS,
      require,
      otherwise,
      ...(otherwise === 'deny'
        ? { onDeny: ['remove_new_factor', 'revoke_sessions', 'hold_group', 'notify:secops'] }
        : { onHold: ['hold_group', 'revoke_sessions', 'remove_new_factor'] }),
    });

  // --- 2. IdP vendor support: 3 rules.
  add({
    id: 'vendor-support-channel',
    description: 'Changes driven by IdP vendor support are held for review',
    when: 'change.channel == "support"',
    test: (c) => c.channel === 'support',
    kinds: 'any',
    outcome: 'hold',
    onHold: ['notify:secops'],
  });
  add({
    id: 'vendor-support-access',
    description: 'Support impersonation is held for review',
    when: 'change.kind == "support.access"',
    test: (c) => c.kind === 'support.access',
    kinds: ['support.access'],
    outcome: 'hold',
    onHold: ['notify:secops'],
  });
  add({
    id: 'vendor-support-access-privileged',
    description: 'Support impersonation of privileged or executive users is denied',
    when: 'change.kind == "support.access" && target.tier in ["privileged", "executive"]',
    test: (c, t) => c.kind === 'support.access' && (t === 'privileged' || t === 'executive'),
    kinds: ['support.access'],
    outcome: 'deny',
    onDeny: ['revoke_sessions', 'notify:secops'],
  });

  // --- 3. Sensitive departments (group membership): 20 rules, half with `require`.
  const HELPDESK_RESETS = ['password.reset', 'factor.reset_all'] as const satisfies readonly ChangeKind[];
  for (const dept of DEPARTMENTS) {
    add({
      id: `dept-${slug(dept)}-helpdesk-reset`,
      description: `Help-desk resets for ${dept} need approval from the department's managers`,
      when: `change.channel == "helpdesk" && change.kind in ${cel(HELPDESK_RESETS)} && ${JSON.stringify(dept)} in target.groups`,
      test: (c) => c.channel === 'helpdesk' && (c.kind === 'password.reset' || c.kind === 'factor.reset_all') && c.target.groups.includes(dept),
      kinds: HELPDESK_RESETS,
      require: { ticket: { system: 'servicenow' }, approvals: { count: 1, from: ['group:iam-approvers', `group:${slug(dept)}-managers`] }, ttl: '4h' },
      otherwise: 'hold',
      onHold: ['hold_group', `notify:${slug(dept)}`],
    });
    add({
      id: `dept-${slug(dept)}-new-device-enroll`,
      description: `${dept} members enrolling a factor from a new device are held`,
      when: `change.channel == "self_service" && change.kind == "factor.enroll" && ${JSON.stringify(dept)} in target.groups && has(context.newDevice) && context.newDevice`,
      test: (c) => c.channel === 'self_service' && c.kind === 'factor.enroll' && c.target.groups.includes(dept) && c.context.newDevice === true,
      kinds: ['factor.enroll'],
      outcome: 'hold',
      onHold: ['hold_group', 'remove_new_factor'],
    });
  }

  // --- 4. Self-service changes from a risky context: 4 kinds x 7 signals = 28 rules.
  const SELF_KINDS: Array<[ChangeKind, number]> = [
    ['factor.enroll', 168],
    ['password.reset', 72],
    ['recovery.update', 48],
    ['factor.remove', 24],
  ];
  for (const [kind, phoneHours] of SELF_KINDS) {
    const k = slug(kind);
    const base = `change.channel == "self_service" && change.kind == "${kind}"`;
    const isBase = (c: IdentityChange) => c.channel === 'self_service' && c.kind === kind;
    const signals: Array<Omit<RuleSpec, 'kinds' | 'test' | 'when'> & { cond: string; test: Predicate }> = [
      {
        id: `self-${k}-new-untrusted-device`,
        description: `Self-service ${kind} from a new, unmanaged device`,
        cond: 'has(context.newDevice) && context.newDevice && !(has(context.deviceTrusted) && context.deviceTrusted)',
        test: (c) => c.context.newDevice === true && c.context.deviceTrusted !== true,
        outcome: 'hold',
        onHold: ['hold_group', 'revoke_sessions'],
      },
      {
        id: `self-${k}-bad-ip`,
        description: `Self-service ${kind} from a suspicious or malicious address`,
        cond: 'has(context.ipReputation) && context.ipReputation in ["suspicious", "malicious"]',
        test: (c) => c.context.ipReputation === 'suspicious' || c.context.ipReputation === 'malicious',
        outcome: kind === 'password.reset' ? 'deny' : 'hold',
        onHold: ['hold_group', 'revoke_sessions'],
        onDeny: ['expire_password', 'revoke_sessions', 'notify:secops'],
      },
      {
        id: `self-${k}-phone-changed`,
        description: `Self-service ${kind} within ${phoneHours}h of a phone number change`,
        cond: `has(context.phoneChangedAt) && now - timestamp(context.phoneChangedAt) < duration("${phoneHours}h")`,
        test: (c, _t, now) => c.context.phoneChangedAt !== undefined && now - Date.parse(c.context.phoneChangedAt) < phoneHours * HOUR,
        outcome: 'hold',
        onHold: ['hold_group', 'remove_new_factor'],
      },
      {
        id: `self-${k}-high-risk`,
        description: `Self-service ${kind} by a high-risk user or session`,
        cond: 'has(context.riskLevel) && context.riskLevel == "high"',
        test: (c) => c.context.riskLevel === 'high',
        outcome: kind === 'recovery.update' ? 'deny' : 'hold',
        onHold: ['hold_group', 'raise_risk'],
        onDeny: ['revoke_sessions', 'raise_risk', 'notify:secops'],
      },
      {
        id: `self-${k}-mailbox-rules`,
        description: `Self-service ${kind} shortly after the mailbox rules changed`,
        cond: 'has(context.mailboxRulesChangedAt) && now - timestamp(context.mailboxRulesChangedAt) < duration("72h")',
        test: (c, _t, now) => c.context.mailboxRulesChangedAt !== undefined && now - Date.parse(c.context.mailboxRulesChangedAt) < 72 * HOUR,
        outcome: 'hold',
        onHold: ['hold_group', 'notify:secops'],
      },
      {
        id: `self-${k}-foreign-country`,
        description: `Self-service ${kind} from outside the usual countries`,
        cond: `has(context.country) && !(context.country in ${cel(ALLOWED_COUNTRIES)})`,
        test: (c) => c.context.country !== undefined && !ALLOWED_COUNTRY_SET.has(c.context.country),
        outcome: 'hold',
        onHold: ['hold_group'],
      },
      {
        id: `self-${k}-open-alert`,
        description: `Self-service ${kind} while a high-severity alert is open on the user`,
        cond: 'has(context.alerts) && context.alerts.exists(a, a.severity in ["high", "critical"])',
        test: (c) => c.context.alerts?.some((a) => a.severity === 'high' || a.severity === 'critical') === true,
        outcome: 'deny',
        onDeny: ['revoke_sessions', 'remove_new_factor', 'notify:secops'],
      },
    ];
    for (const { cond, test, ...rest } of signals)
      add({ ...rest, when: `${base} && ${cond}`, test: (c, t, now) => isBase(c) && test(c, t, now), kinds: [kind] });
  }

  // --- 5. Factor types per tier on enrollment: 4 tiers x 3 factor sets = 12 rules.
  const FACTOR_SETS: Array<[string, readonly FactorType[], Outcome]> = [
    ['phone', ['sms', 'voice'], 'deny'],
    ['email', ['email'], 'hold'],
    ['question', ['security_question'], 'deny'],
  ];
  for (const tier of ['privileged', 'executive', 'service', 'contractor'] as const)
    for (const [name, types, outcome] of FACTOR_SETS) {
      const set: ReadonlySet<string> = new Set(types);
      add({
        id: `weak-factor-${name}-${tier}`,
        description: `${tier} users may not enroll ${types.join('/')} factors`,
        when: `change.kind == "factor.enroll" && target.tier == "${tier}" && has(change.factor) && change.factor.type in ${cel(types)}`,
        test: (c, t) => c.kind === 'factor.enroll' && t === tier && c.factor !== undefined && set.has(c.factor.type),
        kinds: ['factor.enroll'],
        outcome,
        onDeny: ['remove_new_factor', 'notify:secops'],
        onHold: ['remove_new_factor'],
      });
    }

  // --- 6. One rule per other kind of change: 15 rules.
  add({
    id: 'mfa-bypass',
    description: 'Attempts to bypass MFA are denied',
    when: 'change.kind == "mfa.bypass"',
    test: (c) => c.kind === 'mfa.bypass',
    kinds: ['mfa.bypass'],
    outcome: 'deny',
    onDeny: ['revoke_sessions', 'hold_group', 'notify:secops'],
  });
  add({
    id: 'role-assign-privileged',
    description: 'Granting roles to privileged or executive users needs two approvers',
    when: 'change.kind == "role.assign" && target.tier in ["privileged", "executive"]',
    test: (c, t) => c.kind === 'role.assign' && (t === 'privileged' || t === 'executive'),
    kinds: ['role.assign'],
    require: { approvals: { count: 2, from: ['group:iam-approvers', 'role:SUPER_ADMIN'] }, ttl: '1d' },
    otherwise: 'deny',
    onDeny: ['notify:secops'],
  });
  add({
    id: 'role-assign-by-service',
    description: 'Roles granted by an API token are held',
    when: 'change.kind == "role.assign" && actor.type == "service"',
    test: (c) => c.kind === 'role.assign' && c.actor.type === 'service',
    kinds: ['role.assign'],
    outcome: 'hold',
    onHold: ['notify:secops'],
  });
  add({
    id: 'mailbox-external-forwarding',
    description: 'Inbox rules forwarding mail outside are held',
    when: 'change.kind == "mailbox.rule" && has(context.forwardsExternally) && context.forwardsExternally == true',
    test: (c) => c.kind === 'mailbox.rule' && c.context.forwardsExternally === true,
    kinds: ['mailbox.rule'],
    outcome: 'hold',
    onHold: ['notify:secops', 'raise_risk'],
  });
  add({
    id: 'service-account-credential',
    description: 'New credentials on non-human identities need an approved request',
    when: 'change.kind == "credential.add" && target.tier == "service"',
    test: (c, t) => c.kind === 'credential.add' && t === 'service',
    kinds: ['credential.add'],
    require: { approvals: { count: 1, from: ['group:iam-approvers'] }, ttl: '1d' },
    otherwise: 'hold',
    onHold: ['notify:secops'],
  });
  add({
    id: 'credential-add-untrusted-api',
    description: 'Credentials added over the API from an unmanaged device',
    when: 'change.kind == "credential.add" && change.channel == "api" && !(has(context.deviceTrusted) && context.deviceTrusted)',
    test: (c) => c.kind === 'credential.add' && c.channel === 'api' && c.context.deviceTrusted !== true,
    kinds: ['credential.add'],
    outcome: 'hold',
    onHold: ['notify:secops'],
  });
  add({
    id: 'tap-self-service',
    description: 'Users cannot issue themselves a temporary access pass',
    when: 'change.kind == "tap.issue" && change.channel == "self_service"',
    test: (c) => c.kind === 'tap.issue' && c.channel === 'self_service',
    kinds: ['tap.issue'],
    outcome: 'deny',
    onDeny: ['revoke_sessions', 'notify:secops'],
  });
  add({
    id: 'tap-privileged',
    description: 'Temporary access passes for privileged users need IDV and two approvers',
    when: 'change.kind == "tap.issue" && target.tier == "privileged"',
    test: (c, t) => c.kind === 'tap.issue' && t === 'privileged',
    kinds: ['tap.issue'],
    require: { proofing: 'idv', approvals: { count: 2, from: ['group:iam-approvers'] }, ttl: '30m' },
    otherwise: 'deny',
    onDeny: ['revoke_sessions', 'notify:secops'],
  });
  add({
    id: 'unlock-risky-helpdesk',
    description: 'Help-desk unlocks of medium/high-risk users are held',
    when: 'change.kind == "account.unlock" && change.channel == "helpdesk" && has(context.riskLevel) && context.riskLevel in ["medium", "high"]',
    test: (c) => c.kind === 'account.unlock' && c.channel === 'helpdesk' && (c.context.riskLevel === 'medium' || c.context.riskLevel === 'high'),
    kinds: ['account.unlock'],
    outcome: 'hold',
    onHold: ['notify:secops'],
  });
  add({
    id: 'session-revoke-executive-api',
    description: 'API revocation of executive sessions is reported',
    when: 'change.kind == "session.revoke" && target.tier == "executive" && change.channel == "api"',
    test: (c, t) => c.kind === 'session.revoke' && t === 'executive' && c.channel === 'api',
    kinds: ['session.revoke'],
    outcome: 'hold',
    onHold: ['notify:exec-support'],
  });
  add({
    id: 'suspend-break-glass',
    description: 'Emergency-access accounts are never suspended',
    when: 'change.kind == "account.suspend" && target.flags.breakGlass',
    test: (c) => c.kind === 'account.suspend' && c.target.flags.breakGlass,
    kinds: ['account.suspend'],
    outcome: 'deny',
    onDeny: ['notify:secops'],
  });
  add({
    id: 'factor-suspend-admin-nonstandard',
    description: 'Admins suspending factors of non-standard users are held',
    when: 'change.kind == "factor.suspend" && change.channel == "admin" && target.tier != "standard"',
    test: (c, t) => c.kind === 'factor.suspend' && c.channel === 'admin' && t !== 'standard',
    kinds: ['factor.suspend'],
    outcome: 'hold',
    onHold: ['notify:secops'],
  });
  add({
    id: 'password-expire-system',
    description: 'Scheduled password expiry by the IdP is expected',
    when: 'change.kind == "password.expire" && change.channel == "system"',
    test: (c) => c.kind === 'password.expire' && c.channel === 'system',
    kinds: ['password.expire'],
    outcome: 'allow',
  });
  add({
    id: 'phone-factor-update-after-phone-change',
    description: 'Updating a phone factor right after the number changed',
    when: 'change.kind == "factor.update" && has(change.factor) && change.factor.type in ["sms", "voice"] && has(context.phoneChangedAt) && now - timestamp(context.phoneChangedAt) < duration("24h")',
    test: (c, _t, now) =>
      c.kind === 'factor.update' &&
      (c.factor?.type === 'sms' || c.factor?.type === 'voice') &&
      c.context.phoneChangedAt !== undefined &&
      now - Date.parse(c.context.phoneChangedAt) < 24 * HOUR,
    kinds: ['factor.update'],
    outcome: 'hold',
    onHold: ['hold_group', 'notify:secops'],
  });
  add({
    id: 'password-change-malicious-ip',
    description: 'Password changes from a known-bad address',
    when: 'change.kind == "password.change" && has(context.ipReputation) && context.ipReputation == "malicious"',
    test: (c) => c.kind === 'password.change' && c.context.ipReputation === 'malicious',
    kinds: ['password.change'],
    outcome: 'hold',
    onHold: ['revoke_sessions', 'hold_group'],
  });

  // --- 7. Who acts: 5 rules.
  add({
    id: 'admin-self-change',
    description: 'Administrators may not change their own credentials from the admin console',
    when: 'change.channel == "admin" && actor.id == target.id',
    test: (c) => c.channel === 'admin' && c.actor.id === c.target.id,
    kinds: 'any',
    outcome: 'deny',
    onDeny: ['notify:secops'],
  });
  add({
    id: 'helpdesk-outside-service-desk',
    description: 'Help-desk changes by someone outside the Service Desk group',
    when: 'change.channel == "helpdesk" && !("Service Desk" in actor.groups)',
    test: (c) => c.channel === 'helpdesk' && !c.actor.groups.includes('Service Desk'),
    kinds: 'any',
    outcome: 'hold',
    onHold: ['notify:secops'],
  });
  add({
    id: 'helpdesk-new-device',
    description: 'Help-desk changes from a device never seen before',
    when: 'change.channel == "helpdesk" && has(context.newDevice) && context.newDevice',
    test: (c) => c.channel === 'helpdesk' && c.context.newDevice === true,
    kinds: 'any',
    outcome: 'hold',
    onHold: ['hold_group'],
  });
  add({
    id: 'api-user-token-reset',
    description: 'Credential resets through a personal API token',
    when: `change.channel == "api" && actor.type == "user" && change.kind in ${cel(RESET_KINDS)}`,
    test: (c) => c.channel === 'api' && c.actor.type === 'user' && RESETS.has(c.kind),
    kinds: RESET_KINDS,
    outcome: 'hold',
    onHold: ['hold_group', 'notify:secops'],
  });
  add({
    id: 'super-admin-by-non-super-admin',
    description: 'Only super administrators change super administrators',
    when: 'change.channel in ["admin", "helpdesk"] && target.adminRoles.exists(r, r == "SUPER_ADMIN") && !actor.adminRoles.exists(r, r == "SUPER_ADMIN")',
    test: (c) => isAssisted(c) && c.target.adminRoles.includes('SUPER_ADMIN') && !c.actor.adminRoles.includes('SUPER_ADMIN'),
    kinds: 'any',
    outcome: 'deny',
    onDeny: ['revoke_sessions', 'notify:secops'],
  });

  // --- 8. Flags and profile attributes: 5 rules.
  add({
    id: 'break-glass-untouchable',
    description: 'Emergency-access accounts change only through the break-glass procedure',
    when: `target.flags.breakGlass && change.kind in ${cel(RESET_KINDS)}`,
    test: (c) => c.target.flags.breakGlass && RESETS.has(c.kind),
    kinds: RESET_KINDS,
    outcome: 'hold',
    onHold: ['notify:secops'],
  });
  add({
    id: 'shared-self-service-factor',
    description: 'Shared accounts cannot change factors by self-service',
    when: 'change.channel == "self_service" && target.flags.shared && change.kind.startsWith("factor.")',
    test: (c) => c.channel === 'self_service' && c.target.flags.shared && c.kind.startsWith('factor.'),
    kinds: ['factor.enroll', 'factor.remove', 'factor.reset_all', 'factor.update', 'factor.suspend'],
    outcome: 'deny',
    onDeny: ['remove_new_factor', 'notify:secops'],
  });
  add({
    id: 'cost-center-restricted',
    description: 'Resets in the restricted cost center are held',
    when: '"costCenter" in target.attributes && target.attributes.costCenter == "CC-900" && change.kind in ["password.reset", "factor.reset_all"]',
    test: (c) => c.target.attributes.costCenter === 'CC-900' && (c.kind === 'password.reset' || c.kind === 'factor.reset_all'),
    kinds: ['password.reset', 'factor.reset_all'],
    outcome: 'hold',
    onHold: ['hold_group'],
  });
  add({
    id: 'remote-worker-helpdesk-callback',
    description: 'Help-desk changes for remote workers need a callback',
    when: 'change.channel == "helpdesk" && has(target.attributes.remote) && target.attributes.remote == true',
    test: (c) => c.channel === 'helpdesk' && c.target.attributes.remote === true,
    kinds: 'any',
    require: { proofing: 'callback' },
    otherwise: 'hold',
    onHold: ['hold_group'],
  });
  add({
    id: 'contractor-past-end-date',
    description: 'Contractors past their contract end get no credential resets',
    when: `target.tier == "contractor" && has(target.attributes.contractEnd) && timestamp(target.attributes.contractEnd) < now && change.kind in ${cel(RESET_KINDS)}`,
    test: (c, t, now) =>
      t === 'contractor' && typeof c.target.attributes.contractEnd === 'string' && Date.parse(c.target.attributes.contractEnd) < now && RESETS.has(c.kind),
    kinds: RESET_KINDS,
    outcome: 'deny',
    onDeny: ['suspend', 'notify:secops'],
  });

  // --- 9. API, system and the rest: 6 rules.
  add({
    id: 'api-service-privileged',
    description: 'API tokens may not change privileged users',
    when: 'change.channel == "api" && actor.type == "service" && target.tier == "privileged"',
    test: (c, t) => c.channel === 'api' && c.actor.type === 'service' && t === 'privileged',
    kinds: 'any',
    outcome: 'deny',
    onDeny: ['notify:secops'],
  });
  add({
    id: 'system-reset-with-alerts',
    description: 'IdP-initiated factor resets while alerts are open',
    when: 'change.channel == "system" && change.kind == "factor.reset_all" && has(context.alerts) && size(context.alerts) > 0',
    test: (c) => c.channel === 'system' && c.kind === 'factor.reset_all' && c.context.alerts !== undefined && c.context.alerts.length > 0,
    kinds: ['factor.reset_all'],
    outcome: 'hold',
    onHold: ['notify:secops'],
  });
  add({
    id: 'executive-self-reset-new-device',
    description: 'Executives resetting their own credentials from a new device',
    when: `target.tier == "executive" && change.kind in ${cel(RESET_KINDS)} && change.channel == "self_service" && has(context.newDevice) && context.newDevice`,
    test: (c, t) => t === 'executive' && RESETS.has(c.kind) && c.channel === 'self_service' && c.context.newDevice === true,
    kinds: RESET_KINDS,
    outcome: 'hold',
    onHold: ['hold_group', 'notify:exec-support'],
  });
  add({
    id: 'strong-factor-removal',
    description: 'Removing a phishing-resistant factor for someone else needs an approver',
    when: 'change.kind == "factor.remove" && has(change.factor) && change.factor.type in ["webauthn", "platform", "hardware_token"] && change.channel != "self_service"',
    test: (c) =>
      c.kind === 'factor.remove' &&
      (c.factor?.type === 'webauthn' || c.factor?.type === 'platform' || c.factor?.type === 'hardware_token') &&
      c.channel !== 'self_service',
    kinds: ['factor.remove'],
    require: { approvals: { count: 1, from: ['group:iam-approvers'] }, ttl: '2h' },
    otherwise: 'hold',
    onHold: ['hold_group'],
  });
  add({
    id: 'recovery-changed-twice',
    description: 'Recovery data changed again within a day',
    when: 'change.kind == "recovery.update" && change.channel == "self_service" && has(context.recoveryChangedAt) && now - timestamp(context.recoveryChangedAt) < duration("24h")',
    test: (c, _t, now) =>
      c.kind === 'recovery.update' &&
      c.channel === 'self_service' &&
      c.context.recoveryChangedAt !== undefined &&
      now - Date.parse(c.context.recoveryChangedAt) < 24 * HOUR,
    kinds: ['recovery.update'],
    outcome: 'hold',
    onHold: ['hold_group'],
  });
  add({
    id: 'admin-reset-from-untrusted-ip',
    description: 'Admin-console resets from an address that is not trusted need a super administrator',
    when: `change.channel == "admin" && has(context.ipReputation) && context.ipReputation != "trusted" && change.kind in ${cel(RESET_KINDS)}`,
    test: (c) => c.channel === 'admin' && c.context.ipReputation !== undefined && c.context.ipReputation !== 'trusted' && RESETS.has(c.kind),
    kinds: RESET_KINDS,
    require: { approvals: { count: 1, from: ['role:SUPER_ADMIN'] } },
    otherwise: 'hold',
    onHold: ['revoke_sessions'],
  });

  return rules;
}

export const RULE_SPECS: readonly RuleSpec[] = buildRules();

/** The policy file of the benchmark, as YAML text. */
export function policyYaml(tenant: string): string {
  const doc = {
    apiVersion: 'warden/v1',
    tenant,
    mode: 'enforce',
    default: 'allow',
    failure: 'hold',
    tiers: TIER_SPECS.map((t) => ({ name: t.name, when: t.when })),
    rules: RULE_SPECS.map((r) => ({
      id: r.id,
      description: r.description,
      when: r.when,
      ...(r.require ? { require: { request: 'approved', ...r.require }, otherwise: r.otherwise ?? 'hold' } : { outcome: r.outcome }),
      ...(r.onDeny?.length ? { onDeny: r.onDeny } : {}),
      ...(r.onHold?.length ? { onHold: r.onHold } : {}),
    })),
  };
  return `# Generated by bench/policy-rules.ts: ${RULE_SPECS.length} rules for the policy benchmark.\n` + stringify(doc, { lineWidth: 0 });
}
