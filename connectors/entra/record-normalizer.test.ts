import { readdirSync } from 'node:fs';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { IdentityChange } from '../../src/core/identity-change.js';
import { packageRoot } from '../../src/package-root.js';
import { directoryAudit, entraFixture } from '../../test/helpers/entra-audit-records.js';
import { normalizeDirectoryAudit } from './normalize-directory-audit.js';
import { entraRecordNormalizer, normalizeEntraRecord } from './record-normalizer.js';
import { actedAs } from '../../src/connector/own-changes.js';

/**
 * Every fixture and corpus record normalizes to the change it describes, or
 * is ignored with a reason (records Warden does not govern). The table is the
 * specification: a record without a row fails the test.
 */

type Expected = { ignored: RegExp } | { kind: string; channel: string; target: string; actor: string; factor?: object; context?: object };

const OBSERVED = new Date('2026-11-25T10:00:00.000Z');

const CORPUS: Record<string, Expected> = {
  // panther-entra: Azure Monitor exports of Entra sign-in and audit logs
  'Azure.Audit.DeviceCodeBrokerClient|Device Code Auth with Broker Client': { ignored: /SignInLogs record: .*not sign-ins/ },
  'Azure.Audit.DeviceCodeBrokerClient|Device Code Without Broker Client': { ignored: /SignInLogs record/ },
  'Azure.Audit.DomainSettingsModified|Set Federation Settings': { ignored: /"Set federation settings on domain" is not an identity change Warden governs/ },
  'Azure.Audit.DomainSettingsModified|Different Values Changed': { ignored: /"Set domain authentication" is not an identity change/ },
  'Azure.Audit.ElevateUserAccessAdministrator|User Elevated to User Access Administrator': { ignored: /carries no directoryAudit/ },
  'Azure.Audit.ElevateUserAccessAdministrator|Different Operation': { ignored: /"Remove role assignment" is not an identity change/ },
  'Azure.Audit.ExcessiveAccountLockouts|Account Lockout Error 50053': { ignored: /SignInLogs record/ },
  'Azure.Audit.ExcessiveAccountLockouts|Different Error Code': { ignored: /SignInLogs record/ },
  'Azure.Audit.ExcessiveAccountLockouts|Microsoft Corporate ASN Excluded': { ignored: /SignInLogs record/ },
  'Azure.Audit.GraphSessionMultipleIPs|Multiple IP Access to Same Microsoft Graph Session': { ignored: /SignInLogs record/ },
  'Azure.Audit.GraphSessionMultipleIPs|Non-Interactive Sign-In via NonInteractiveUserSignInLogs Category': { ignored: /NonInteractiveUserSignInLogs record/ },
  'Azure.Audit.GraphSessionMultipleIPs|Whitelisted Office 365': { ignored: /SignInLogs record/ },
  'Azure.Audit.HighRiskSignIn|High Risk During Sign-In': { ignored: /SignInLogs record/ },
  'Azure.Audit.HighRiskSignIn|High Risk Dismissed': { ignored: /SignInLogs record/ },
  'Azure.Audit.InviteExternalUsers|Successful Invite external user': { ignored: /"Invite external user" is not an identity change/ },
  'Azure.Audit.InviteExternalUsers|Same org successful invite': { ignored: /"Invite external user" is not an identity change/ },
  'Azure.Audit.InviteExternalUsers|Unsuccessful invite': { ignored: /did not succeed \(failed\): nothing changed/ },
  'Azure.Audit.InviteExternalUsers|Not external invite': { ignored: /"Invite external user" is not an identity change/ },
  'Azure.Audit.LegacyAuth|Failed Sign-In': { ignored: /ServicePrincipalSignInLogs record/ },
  'Azure.Audit.LegacyAuth|Sign-In with legacy auth': { ignored: /SignInLogs record/ },
  'Azure.Audit.LegacyAuth|Sign-In with legacy auth, KNOWN_EXCEPTION': { ignored: /SignInLogs record/ },
  'Azure.Audit.MFADisabled|MFA Disabled Successful': { ignored: /"Update conditional access policy" is not an identity change/ },
  'Azure.Audit.MFADisabled|MFA Enabled': { ignored: /"Update conditional access policy" is not an identity change/ },
  'Azure.Audit.MFADisabled|MFA Disabled from another log': { ignored: /"Update policy" is not an identity change/ },
  'Azure.Audit.ManyFailedSignIns|Failed Sign-In': { ignored: /ServicePrincipalSignInLogs record/ },
  'Azure.Audit.ManyFailedSignIns|Successful Sign-In': { ignored: /ServicePrincipalSignInLogs record/ },
  'Azure.Audit.MultipleProtectionAlerts|Risk Event Counts Toward Threshold': { ignored: /SignInLogs record/ },
  'Azure.Audit.MultipleProtectionAlerts|No Risk Sign-In': { ignored: /SignInLogs record/ },
  'Azure.Audit.OIDC.Changed|Authentication Methods Policy OIDC Discovery URL Changed': {
    ignored: /"Update authentication methods policy" is not an identity change/,
  },
  'Azure.Audit.OIDC.Changed|Non-OIDC Policy Change': { ignored: /"Update authentication methods policy" is not an identity change/ },
  'Azure.Audit.PolicyChanged|Policy Changed': { ignored: /"Delete conditional access policy" is not an identity change/ },
  'Azure.Audit.PolicyChanged|Policy Updated': { ignored: /"Delete policy" is not an identity change/ },
  'Azure.Audit.PolicyChanged|Policy Added': { ignored: /"Added policy" is not an identity change/ },
  'Azure.Audit.ROPCLoginNoMFA|ROPC Login Without MFA': { ignored: /SignInLogs record/ },
  'Azure.Audit.ROPCLoginNoMFA|Failed ROPC Login': { ignored: /SignInLogs record/ },
  'Azure.Audit.RiskLevelPassthrough|Failed Sign-In': { ignored: /ServicePrincipalSignInLogs record/ },
  'Azure.Audit.RiskLevelPassthrough|Failed Sign-In with riskLevelAggregated': { ignored: /ServicePrincipalSignInLogs record/ },
  'Azure.Audit.RiskLevelPassthrough|Failed Sign-In with riskLevelDuringSignIn': { ignored: /ServicePrincipalSignInLogs record/ },
  'Azure.Audit.RiskLevelPassthrough|Failed Sign-In with riskLevelDuringSignIn and dismissed': { ignored: /ServicePrincipalSignInLogs record/ },
  'Azure.Audit.RiskLevelPassthrough|Missing RiskState': { ignored: /ServicePrincipalSignInLogs record/ },
  // Panther scrubbed both ids to 12345: the actor assigned the role to an account with their own id.
  'Azure.Audit.RoleChangedPIM|Successfully added PIM role': {
    kind: 'role.assign',
    channel: 'self_service',
    target: '12345',
    actor: '12345',
    context: { role: 'Application Administrator', entraService: 'PIM' },
  },
  'Azure.Audit.RoleChangedPIM|requested adding PIM role': { ignored: /is a request; the assignment is its own record/ },
  'Azure.Audit.RoleChangedPIM|Add member to role (Non PIM)': {
    kind: 'role.assign',
    channel: 'self_service',
    target: '12345',
    actor: '12345',
    context: { role: 'Application Administrator' },
  },
  'Azure.Audit.ServicePrincipalCredentialsAdded|Add Service Principal Credentials': {
    kind: 'credential.add',
    channel: 'admin',
    target: 'sp-app-456',
    actor: 'admin-123',
  },
  'Azure.Audit.ServicePrincipalCredentialsAdded|Create Service Principal': { ignored: /"Add service principal" is not an identity change/ },
  'Azure.Audit.VSCodeOAuthPhishing|VS Code to Microsoft Graph': { ignored: /NonInteractiveUserSignInLogs record/ },
  'Azure.Audit.VSCodeOAuthPhishing|VS Code to Different Resource': { ignored: /NonInteractiveUserSignInLogs record/ },
  // panther-m365: Office 365 Management Activity records
  'Microsoft365.Brute.Force.Login.by.User|Failed Login event': { ignored: /UserLoginFailed is a sign-in/ },
  'Microsoft365.Brute.Force.Login.by.User|Login Event': { ignored: /UserLoggedIn is a sign-in/ },
  'Microsoft365.Exchange.External.Forwarding|External Organization Forwarding': {
    kind: 'mailbox.rule',
    channel: 'self_service',
    target: 'homer.simpson@simpsons.onmicrosoft.com',
    actor: 'homer.simpson@simpsons.onmicrosoft.com',
    context: { forwardTo: 'peter.griffin@familyguy.com', mailboxForwarding: true, forwardExternal: true, keepCopy: false },
  },
  'Microsoft365.Exchange.External.Forwarding|Internal Organization Forwarding': {
    kind: 'mailbox.rule',
    channel: 'admin',
    target: 'marge.simpson@simpsons.onmicrosoft.com',
    actor: 'homer.simpson@simpsons.com',
    context: { forwardExternal: false },
  },
  'Microsoft365.Exchange.External.Forwarding|Suspicious Forwarding Pattern': {
    kind: 'mailbox.rule',
    channel: 'self_service',
    target: 'homer.simpson@simpsons.onmicrosoft.com',
    actor: 'homer.simpson@simpsons.onmicrosoft.com',
    context: { ruleName: 'Delete and Forward Rule', forwardTo: 'external@example.com', deleteMessage: true, forwardExternal: true },
  },
  'Microsoft365.Exchange.External.Forwarding|Multiple Forwarding Addresses': {
    kind: 'mailbox.rule',
    channel: 'self_service',
    target: 'homer.simpson@simpsons.onmicrosoft.com',
    actor: 'homer.simpson@simpsons.onmicrosoft.com',
    context: { forwardTo: 'external1@example.com, external2@example.com, external3@example.com', forwardExternal: true },
  },
  'Microsoft365.Exchange.External.Forwarding|Invalid Identity Format': {
    kind: 'mailbox.rule',
    channel: 'admin',
    target: 'Invalid/Path/Format',
    actor: 'homer.simpson@simpsons.onmicrosoft.com',
    context: { forwardExternal: true },
  },
  'Microsoft365.Exchange.External.Forwarding|Missing Organization Name': {
    kind: 'mailbox.rule',
    channel: 'admin',
    target: 'ABC1.prod.outlook.com/Microsoft Exchange Hosted Organizations/simpsons.onmicrosoft.com/homer.simpson',
    actor: 'homer.simpson@simpsons.onmicrosoft.com',
  },
  'Microsoft365.Exchange.External.Forwarding|Subdomain Forwarding (Internal)': {
    kind: 'mailbox.rule',
    channel: 'admin',
    target: 'homer.simpson@simpsons.onmicrosoft.com',
    actor: 'homer.simpson@simpsons.com',
    context: { forwardExternal: false },
  },
  'Microsoft365.Exchange.External.Forwarding|Similar Domain Forwarding (External)': {
    kind: 'mailbox.rule',
    channel: 'admin',
    target: 'homer.simpson@simpsons.onmicrosoft.com',
    actor: 'homer.simpson@simpsons.com',
    context: { forwardTo: 'evil@simpsons2.com', forwardExternal: true },
  },
  'Microsoft365.Exchange.External.Forwarding|Non-Com TLD Organization': {
    kind: 'mailbox.rule',
    channel: 'self_service',
    target: 'john@justice.org',
    actor: 'john@justice.org',
    context: { forwardExternal: false },
  },
  'Microsoft365.Exchange.External.Forwarding|Internal Forwarding with Suspicious Pattern': {
    kind: 'mailbox.rule',
    channel: 'admin',
    target: 'ABC001.prod.outlook.com/Microsoft Exchange Hosted Organizations/simpsons.onmicrosoft.com/444-55-66',
    actor: 'homer.simpson@simpsons.onmicrosoft',
    context: { moveToFolder: 'MYFolder' },
  },
  'Microsoft365.External.Document.Sharing|Allowed Domain': { ignored: /OneDrive workload record \(AddedToSecureLink\) is not governed/ },
  'Microsoft365.External.Document.Sharing|Allowed Folder': { ignored: /OneDrive workload record/ },
  'Microsoft365.External.Document.Sharing|Allowed User': { ignored: /OneDrive workload record/ },
  'Microsoft365.External.Document.Sharing|External user': { ignored: /OneDrive workload record/ },
  'Microsoft365.External.Document.Sharing|Internal Share': { ignored: /OneDrive workload record/ },
  // The MFA service (UserType 4, system) rewrote the per-user MFA methods.
  'Microsoft365.MFA.Disabled|MFA Add Event': {
    kind: 'factor.enroll',
    channel: 'system',
    target: 'sample.user@yourorg.onmicrosoft.com',
    actor: 'ServicePrincipal_aa-bb-ccc',
    context: { perUserMfaMethods: true },
  },
  'Microsoft365.MFA.Disabled|MFA Remove event': {
    kind: 'factor.reset_all',
    channel: 'system',
    target: 'sample.user@yourorg.onmicrosoft.com',
    actor: 'ServicePrincipal_aa-bb-ccc',
    context: { perUserMfaMethods: true },
  },
};

/** Microsoft's own record examples (test/fixtures/entra/graph). */
const GRAPH_RECORDS: Record<string, Expected[]> = {
  'graph-directoryaudits-list-add-member-to-group.json': [{ ignored: /"Add member to group" is not an identity change Warden governs/ }],
  'graph-directoryaudits-list-filter-initiatedby.json': [{ ignored: /"GroupLifecyclePolicies_Get" is not an identity change/ }],
  'o365-mgmt-activity-content-blob-azuread-sample.json': [
    { ignored: /did not succeed \(ResultStatus failed\)/ },
    { ignored: /PasswordLogonInitialAuthUsingPassword is a sign-in/ },
    { ignored: /Azure AD operation Add User\. is not an identity change/ },
  ],
};

function check(result: ReturnType<typeof normalizeEntraRecord>, expected: Expected, where: string): void {
  if ('ignored' in expected) {
    expect(result, where).toHaveProperty('ignored');
    expect((result as { ignored: string }).ignored, where).toMatch(expected.ignored);
    return;
  }
  expect(result, where).toHaveProperty('changes');
  const changes = (result as { changes: IdentityChange[] }).changes;
  expect(changes, where).toHaveLength(1);
  const change = IdentityChange.parse(changes[0]); // a valid change, by the domain schema
  expect({ kind: change.kind, channel: change.channel, target: change.target.id, actor: change.actor.id }, where).toEqual({
    kind: expected.kind,
    channel: expected.channel,
    target: expected.target,
    actor: expected.actor,
  });
  expect(change.source.idp, where).toBe('entra');
  if (expected.factor) expect(change.factor, where).toMatchObject(expected.factor);
  if (expected.context) expect(change.context, where).toMatchObject(expected.context);
}

describe('Entra record normalizer: the corpus', () => {
  const root = path.join(packageRoot(), 'test', 'fixtures', 'entra', 'corpus');
  const seen = new Set<string>();
  for (const dir of ['panther-entra', 'panther-m365'])
    for (const file of readdirSync(path.join(root, dir)).filter((f) => f.endsWith('.json') && !f.startsWith('_'))) {
      const tests = entraFixture<Array<{ name: string; log: unknown }>>(`corpus/${dir}/${file}`);
      for (const t of tests) {
        const key = `${file.replace(/\.json$/, '')}|${t.name}`;
        seen.add(key);
        it(key, () => {
          expect(CORPUS[key], `no expectation for ${key}: add one`).toBeDefined();
          expect(entraRecordNormalizer.recognizes(t.log)).toBe(true);
          check(normalizeEntraRecord(t.log, 'acme', OBSERVED), CORPUS[key]!, key);
        });
      }
    }
  it('has no expectation without a record', () => {
    expect(Object.keys(CORPUS).filter((k) => !seen.has(k))).toEqual([]);
  });
});

describe("Entra record normalizer: Microsoft's examples", () => {
  for (const [file, expected] of Object.entries(GRAPH_RECORDS))
    it(file, () => {
      const body = entraFixture<{ value?: unknown[] } | unknown[]>(`graph/${file}`);
      const records = Array.isArray(body) ? body : body.value!;
      expect(records).toHaveLength(expected.length);
      records.forEach((r, i) => {
        expect(entraRecordNormalizer.recognizes(r)).toBe(true);
        check(normalizeEntraRecord(r, 'acme', OBSERVED), expected[i]!, `${file}[${i}]`);
      });
    });

  it("does not claim notifications, method lists or other vendors' records", () => {
    for (const file of [
      'graph-change-notification-webhook-message.json',
      'graph-lifecycle-notification.json',
      'eventgrid-entra-user-updated.json',
      'graph-authentication-methods-list.json',
      'graph-temporaryaccesspass-create-response.json',
    ])
      expect(entraRecordNormalizer.recognizes(entraFixture(`graph/${file}`)), file).toBe(false);
    expect(entraRecordNormalizer.recognizes({ uuid: 'x', eventType: 'user.mfa.factor.reset_all', published: '2026-01-01T00:00:00Z' })).toBe(false);
  });
});

const ADMIN = { user: { id: 'a1f0c1de-0000-4000-8000-00000000ad01', upn: 'pat.admin@contoso.example' } };
const ALICE = { id: 'b2c0d2ef-0000-4000-8000-0000000000b1', upn: 'alice@contoso.example' };
const SELF = { user: { id: ALICE.id, upn: ALICE.upn } };

/** The activities of research §3.1, built from Microsoft's record shape. */
const ACTIVITIES: Array<{ name: string; record: Parameters<typeof directoryAudit>[0]; expected: Expected }> = [
  {
    name: 'user registers Authenticator (push)',
    record: {
      activity: 'User registered security info',
      service: 'Authentication Methods',
      resultReason: 'User registered Authenticator App with Notification and Code',
      actor: SELF,
      target: ALICE,
    },
    expected: { kind: 'factor.enroll', channel: 'self_service', target: ALICE.id, actor: ALICE.id, factor: { type: 'push' } },
  },
  {
    name: 'user registers a FIDO2 key',
    record: {
      activity: 'User registered security info',
      service: 'Authentication Methods',
      resultReason: 'User registered Fido2 Authentication Method',
      actor: SELF,
      target: ALICE,
    },
    expected: { kind: 'factor.enroll', channel: 'self_service', target: ALICE.id, actor: ALICE.id, factor: { type: 'webauthn' } },
  },
  {
    name: 'admin registers a phone',
    record: {
      activity: 'Admin registered security info',
      service: 'Authentication Methods',
      resultReason: 'Admin registered phone method for user',
      actor: ADMIN,
      target: ALICE,
    },
    expected: { kind: 'factor.enroll', channel: 'admin', target: ALICE.id, actor: ADMIN.user.id, factor: { type: 'sms' } },
  },
  {
    name: 'admin creates a Temporary Access Pass (its id from modifiedProperties)',
    record: {
      activity: 'Admin registered security info',
      service: 'Authentication Methods',
      resultReason: 'Admin registered temporary access pass method for user',
      actor: ADMIN,
      target: { ...ALICE, modifiedProperties: [{ displayName: 'TemporaryAccessPass.Id', oldValue: '""', newValue: '"3d38627e-f962-4166-8f96-ea05e09c6309"' }] },
    },
    expected: {
      kind: 'tap.issue',
      channel: 'admin',
      target: ALICE.id,
      actor: ADMIN.user.id,
      factor: { type: 'tap', id: '3d38627e-f962-4166-8f96-ea05e09c6309' },
    },
  },
  {
    name: 'admin deletes security info',
    record: {
      activity: 'Admin deleted security info',
      service: 'Authentication Methods',
      resultReason: 'Admin deleted phone method for user',
      operationType: 'Delete',
      actor: ADMIN,
      target: ALICE,
    },
    expected: { kind: 'factor.remove', channel: 'admin', target: ALICE.id, actor: ADMIN.user.id },
  },
  {
    name: 'user deletes security info',
    record: {
      activity: 'User deleted security info',
      service: 'Authentication Methods',
      resultReason: 'User deleted Mobile Phone Call and SMS',
      actor: SELF,
      target: ALICE,
    },
    expected: { kind: 'factor.remove', channel: 'self_service', target: ALICE.id, actor: ALICE.id, factor: { type: 'sms' } },
  },
  {
    name: 'admin updates security info',
    record: {
      activity: 'Admin updated security info',
      service: 'Authentication Methods',
      resultReason: 'Admin changed phone method for user',
      actor: ADMIN,
      target: ALICE,
    },
    expected: { kind: 'factor.update', channel: 'admin', target: ALICE.id, actor: ADMIN.user.id },
  },
  {
    name: 'user changes the default method',
    record: { activity: 'User changed default security info', service: 'Authentication Methods', actor: SELF, target: ALICE },
    expected: { kind: 'factor.update', channel: 'self_service', target: ALICE.id, actor: ALICE.id, context: { defaultMethodChanged: true } },
  },
  {
    name: 'admin resets a password (SSPR service record)',
    record: {
      activity: 'Reset password (by admin)',
      service: 'Self-service Password Management',
      resultReason: 'Successfully completed reset.',
      actor: ADMIN,
      target: ALICE,
      additionalDetails: [{ key: 'OnPremisesAgent', value: 'None' }],
    },
    expected: { kind: 'password.reset', channel: 'admin', target: ALICE.id, actor: ADMIN.user.id, context: { onPremisesAgent: 'None' } },
  },
  {
    name: 'user resets their own password',
    record: { activity: 'Reset password (self-service)', service: 'Self-service Password Management', actor: SELF, target: ALICE },
    expected: { kind: 'password.reset', channel: 'self_service', target: ALICE.id, actor: ALICE.id },
  },
  {
    name: 'admin resets a password (Core Directory record)',
    record: { activity: 'Reset user password', service: 'Core Directory', actor: ADMIN, target: ALICE },
    expected: { kind: 'password.reset', channel: 'admin', target: ALICE.id, actor: ADMIN.user.id },
  },
  {
    name: 'per-user MFA methods added (Update user, StrongAuthenticationMethod)',
    record: {
      activity: 'Update user',
      service: 'Core Directory',
      actor: ADMIN,
      target: { ...ALICE, modifiedProperties: [{ displayName: 'StrongAuthenticationMethod', oldValue: '[]', newValue: '[{"MethodType":6,"Default":true}]' }] },
    },
    expected: { kind: 'factor.enroll', channel: 'admin', target: ALICE.id, actor: ADMIN.user.id, context: { perUserMfaMethods: true } },
  },
  {
    name: 'Update user without method properties',
    record: {
      activity: 'Update user',
      service: 'Core Directory',
      actor: ADMIN,
      target: { ...ALICE, modifiedProperties: [{ displayName: 'JobTitle', oldValue: '[]', newValue: '["Analyst"]' }] },
    },
    expected: { ignored: /changed no authentication method/ },
  },
  {
    name: 'account disabled',
    record: { activity: 'Disable account', service: 'Core Directory', operationType: 'Update', actor: ADMIN, target: ALICE },
    expected: { kind: 'account.suspend', channel: 'admin', target: ALICE.id, actor: ADMIN.user.id },
  },
  {
    name: 'sessions revoked',
    record: { activity: 'Update StsRefreshTokenValidFrom Timestamp', service: 'Core Directory', operationType: 'Update', actor: ADMIN, target: ALICE },
    expected: { kind: 'session.revoke', channel: 'admin', target: ALICE.id, actor: ADMIN.user.id },
  },
  {
    name: 'role assigned',
    record: {
      activity: 'Add member to role',
      service: 'Core Directory',
      category: 'RoleManagement',
      actor: ADMIN,
      target: ALICE,
      extraTargets: [{ id: '62e90394-69f5-4237-9190-012177145e10', displayName: 'Global Administrator', type: 'Role' }],
    },
    expected: { kind: 'role.assign', channel: 'admin', target: ALICE.id, actor: ADMIN.user.id, context: { role: 'Global Administrator' } },
  },
  {
    name: 'a step of registration',
    record: { activity: 'User started security info registration', service: 'Authentication Methods', actor: SELF, target: ALICE },
    expected: { ignored: /is a step of a flow/ },
  },
  {
    name: 'a failed registration',
    record: { activity: 'User registered security info', service: 'Authentication Methods', result: 'failure', actor: SELF, target: ALICE },
    expected: { ignored: /did not succeed \(failure\)/ },
  },
  {
    name: 'an app registers a phone (API channel)',
    record: {
      activity: 'Admin registered security info',
      service: 'Authentication Methods',
      resultReason: 'Admin registered phone method for user',
      actor: { app: { appId: 'c0ffee00-0000-4000-8000-000000000001', displayName: 'Provisioning script', servicePrincipalId: 'sp-1' } },
      target: ALICE,
    },
    expected: { kind: 'factor.enroll', channel: 'api', target: ALICE.id, actor: 'sp-1' },
  },
];

describe('Entra directoryAudit activities (research §3.1)', () => {
  for (const a of ACTIVITIES)
    it(a.name, () => {
      const record = directoryAudit(a.record);
      expect(entraRecordNormalizer.recognizes(record)).toBe(true);
      check(normalizeEntraRecord(record, 'acme', OBSERVED), a.expected, a.name);
    });

  const base = () =>
    directoryAudit({
      activity: 'Admin registered security info',
      service: 'Authentication Methods',
      resultReason: 'Admin registered phone method for user',
      actor: ADMIN,
      target: ALICE,
    });

  it("leaves Warden's own changes to the own-change service, naming the actor it matches on: app id, service principal or user", () => {
    // Recognition is one semantics for every IdP (src/connector/own-changes.ts, test/contracts/connector-own-changes.ts): target, event type, time, identity.
    const actorOfRecord = (record: unknown) =>
      (normalizeDirectoryAudit(record, { tenant: 'acme', via: 'poll', observedAt: OBSERVED }) as { changes: IdentityChange[] }).changes[0]!.actor;
    const identities = new Set(['warden-app', 'warden-sp', ADMIN.user.id]);
    const byApp = actorOfRecord(
      directoryAudit({ activity: 'Admin deleted security info', service: 'Authentication Methods', actor: { app: { appId: 'warden-app' } }, target: ALICE }),
    );
    expect(actedAs(byApp, identities)).toBe(true);
    const bySp = actorOfRecord(
      directoryAudit({
        activity: 'Admin deleted security info',
        service: 'Authentication Methods',
        actor: { app: { appId: 'other', servicePrincipalId: 'warden-sp' } },
        target: ALICE,
      }),
    );
    expect(actedAs(bySp, identities)).toBe(true);
    expect(actedAs(actorOfRecord(base()), identities)).toBe(true);
    const byOther = actorOfRecord(
      directoryAudit({
        activity: 'Admin deleted security info',
        service: 'Authentication Methods',
        actor: { app: { appId: 'other', servicePrincipalId: 'other-sp' } },
        target: ALICE,
      }),
    );
    expect(actedAs(byOther, identities)).toBe(false);
  });

  it('makes an administrator with a help-desk role the help desk, when the record names the role', () => {
    const record = base();
    (record.initiatedBy.user as Record<string, unknown>).roles = [{ displayName: 'Helpdesk Administrator' }];
    const result = normalizeDirectoryAudit(record, { tenant: 'acme', via: 'poll', observedAt: OBSERVED, helpdeskRoles: new Set(['Helpdesk Administrator']) });
    expect((result as { changes: IdentityChange[] }).changes[0]!.channel).toBe('helpdesk');
  });

  it('keys a change by record id and by correlation, so the two records of one reset are one change', () => {
    const sspr = directoryAudit({
      activity: 'Reset password (by admin)',
      service: 'Self-service Password Management',
      actor: ADMIN,
      target: ALICE,
      id: 'SSPR_1',
    });
    const core = directoryAudit({ activity: 'Reset user password', service: 'Core Directory', actor: ADMIN, target: ALICE, id: 'Directory_1' });
    const ids = [sspr, core].map((r) => (normalizeEntraRecord(r, 'acme', OBSERVED) as { changes: IdentityChange[] }).changes[0]!.source.eventIds);
    expect(ids[0]![0]).toBe('SSPR_1');
    expect(ids[1]![0]).toBe('Directory_1');
    expect(ids[0]![1]).toBe(ids[1]![1]);
  });

  it('reads the Azure Monitor export of the same record', () => {
    const record = base();
    const exported = {
      time: record.activityDateTime,
      resourceId: '/tenants/x/providers/Microsoft.aadiam',
      operationName: record.activityDisplayName,
      category: 'AuditLogs',
      tenantId: 'x',
      properties: record,
    };
    const direct = (normalizeEntraRecord(record, 'acme', OBSERVED) as { changes: IdentityChange[] }).changes[0]!;
    const viaExport = (normalizeEntraRecord(exported, 'acme', OBSERVED) as { changes: IdentityChange[] }).changes[0]!;
    expect({ ...viaExport, id: direct.id }).toEqual(direct);
  });
});
