import { readdirSync, readFileSync } from 'node:fs';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { IdentityChange, isSignalKind } from '../../src/core/identity-change.js';
import { packageRoot } from '../../src/package-root.js';
import { GOVERNED_EVENT_TYPES, HOOK_EVENT_TYPES, POLL_ONLY_EVENT_TYPES, POLLED_EVENT_TYPES, SIGNAL_EVENT_TYPES, systemLogFilter } from './event-types.js';
import { canonicalLogEvent, publishedIso } from './log-event.js';
import { factorTypeOf, normalizeLogEvent } from './normalize-log-event.js';

const FIXTURES = path.join(packageRoot(), 'test', 'fixtures', 'okta');
const OBSERVED = new Date('2026-11-25T12:00:00.000Z');
const read = (file: string) => JSON.parse(readFileSync(path.join(FIXTURES, file), 'utf8')) as unknown;

interface Case {
  file: string;
  name: string;
  log: Record<string, unknown>;
}

/** Every System Log event of the Panther corpus (test logs and scenarios), with where it came from. */
function pantherCases(): Case[] {
  const cases: Case[] = [];
  for (const file of readdirSync(path.join(FIXTURES, 'panther'))
    .filter((f) => f.endsWith('.json'))
    .sort()) {
    const list = read(path.join('panther', file)) as Array<{ name?: string; log?: Record<string, unknown> } & Record<string, unknown>>;
    list.forEach((t, i) => {
      cases.push({ file, name: t.name ?? String(i), log: (t.log ?? t) as Record<string, unknown> });
    });
  }
  return cases;
}

const eventTypeOf = (log: Record<string, unknown>) => Object.entries(log).find(([k]) => k.toLowerCase() === 'eventtype')?.[1] as string | undefined;

type Want =
  | {
      kind: string;
      channel: string;
      targetId: string;
      actorId: string;
      actorType?: string;
      factor?: { type: string; name?: string };
      eventIds?: string[];
      occurredAt?: string;
      context?: Record<string, unknown>;
    }
  | { ignored: RegExp };

/**
 * What each governed fixture event must become. Ids, logins and times are
 * the fixture's own; keys are read case-insensitively (Panther lower-cases
 * top-level keys).
 */
const WANT: Record<string, Want> = {
  'Okta.ADAgent.TokenAbuse.json#Service Account Creates API Token': {
    kind: 'credential.add',
    channel: 'self_service',
    targetId: '00u222333444555666',
    actorId: '00u222333444555666',
    context: { credentialId: '00T222333444555666', credentialName: 'ad-agent-token', credentialType: 'api_token' },
    occurredAt: '2024-01-15T17:15:10.234Z',
  },
  'Okta.ADAgent.TokenAbuse.json#Normal API Token Creation by Regular User': {
    kind: 'credential.add',
    channel: 'self_service',
    targetId: '00u444555666777888',
    actorId: '00u444555666777888',
    context: { credentialId: '00T444555666777888' },
  },
  'Okta.ADAgent.TokenAbuse.json#API Token Creation by User with Service in Name (False Positive Prevention)': {
    kind: 'credential.add',
    channel: 'self_service',
    targetId: '00u555666777888999',
    actorId: '00u555666777888999',
    context: { credentialName: 'support-api-key' },
  },
  'Okta.APIKeyCreated.json#API Key Created': {
    kind: 'credential.add',
    channel: 'self_service',
    targetId: '00u3q14ei6KUOm4Xi2p4',
    actorId: '00u3q14ei6KUOm4Xi2p4',
    context: { credentialId: '00Tpki36zlWjhjQ1u2p4', credentialName: 'test_key' },
    eventIds: ['2a992f80-d1ad-4f62-900e-8c68bb72a21b'],
    occurredAt: '2021-01-08T21:28:34.875Z',
  },
  'Okta.AdminRoleAssigned.json#Admin Access Assigned': {
    kind: 'role.assign',
    channel: 'admin',
    targetId: '00u6eup97mAJZWYmP357',
    actorId: '00uu1uuuuIlllaaaa356',
    context: { privilegeGranted: 'Organization administrator, Application administrator (all)' },
    occurredAt: '2020-11-25T21:27:03.496Z',
  },
  'Okta.AdminRoleAssigned.json#Super Admin Access Assigned (High sev)': {
    kind: 'role.assign',
    channel: 'admin',
    targetId: '00u6eup97mAJZWYmP357',
    actorId: '00uu1uuuuIlllaaaa356',
    context: { privilegeGranted: 'Super administrator, Read only admin' },
  },
  'Okta.ServiceApp.MFA.Factor.Deactivate.json#Service app deactivates user MFA factor': {
    kind: 'factor.remove',
    channel: 'api',
    targetId: '00uvictim123',
    actorId: '0oaservice12345',
    actorType: 'service',
    occurredAt: '2026-05-20T10:15:00.000Z',
  },
  'Okta.ServiceApp.MFA.Factor.Deactivate.json#User resets own MFA factor (actor.type = User, should not fire)': {
    kind: 'factor.remove',
    channel: 'self_service',
    targetId: '00uself123',
    actorId: '00uself123',
    factor: { type: 'push', name: 'OKTA_VERIFY_PUSH' },
  },
  'Okta.ServiceApp.MFA.Factor.Deactivate.json#Service app, different event type (should not fire)': { ignored: /names no user it changed/ },
  'Okta.ServiceApp.MFA.Factor.Deactivate.json#Service app deactivation with failed outcome (should not fire)': { ignored: /outcome FAILURE: nothing changed/ },
  'Okta.Support.Access.json#Support Access Granted': {
    kind: 'support.access',
    channel: 'admin',
    targetId: 'okta-org',
    actorId: '111111',
    occurredAt: '2022-03-22T14:21:53.225Z',
  },
  'Okta.Support.Reset.json#Support Reset Credential': {
    kind: 'password.reset',
    channel: 'support',
    targetId: '1111111',
    actorId: '1111111',
    actorType: 'system',
    eventIds: ['12343'],
  },
  'Okta.Support.Reset.json#Reset by Company Admin': {
    kind: 'password.reset',
    channel: 'admin',
    targetId: '1.1.1.1',
    actorId: '1111',
    actorType: 'user',
    occurredAt: OBSERVED.toISOString(),
  },
  'Okta.User.MFA.Factor.Suspend.json#Suspend Event': {
    kind: 'factor.suspend',
    channel: 'admin',
    targetId: '0002222AAAA',
    actorId: '00abc123',
    factor: { type: 'push', name: 'SIGNED_NONCE' },
    eventIds: ['AbC-123-XyZ'],
  },
  'Okta.User.MFA.Factor.Suspend.json#Other Event': { kind: 'factor.reset_all', channel: 'admin', targetId: '0002222AAAA', actorId: '00abc123' },
  'Okta.User.MFA.Reset.All.json#Reset All Event': {
    kind: 'factor.reset_all',
    channel: 'admin',
    targetId: '0002222AAAA',
    actorId: '00abc123',
    eventIds: ['AbC-123-XyZ'],
    occurredAt: '2022-06-22T18:18:29.015Z',
    context: { oktaRequestId: 'AbCdEf12G', oktaTransactionId: 'ABcDeFgG', country: 'United States' },
  },
  'Okta.User.MFA.Reset.Single.json#User reset own MFA factor': {
    kind: 'factor.remove',
    channel: 'self_service',
    targetId: '1111111',
    actorId: '11111111111',
    factor: { type: 'webauthn', name: 'FIDO_WEBAUTHN' },
    eventIds: [],
  },
  'Okta.User.Reported.Suspicious.Activity.json#Other Event': { kind: 'factor.reset_all', channel: 'admin', targetId: '0002222AAAA', actorId: '00abc123' },
  'Standard.MFADisabled.json#Okta - User resets own MFA ( INFO severity detection for this in Okta rules )': {
    kind: 'factor.remove',
    channel: 'self_service',
    targetId: '1111111',
    actorId: '11111111111',
    factor: { type: 'webauthn', name: 'FIDO_WEBAUTHN' },
  },
  'Standard.MFADisabled.json#Okta - User disables MFA': { kind: 'factor.remove', channel: 'self_service', targetId: '1111111', actorId: '11111111111' },
  'Standard.MFADisabled.json#Okta - MFA Enabled': {
    kind: 'factor.update',
    channel: 'self_service',
    targetId: '1111111',
    actorId: '11111111111',
    factor: { type: 'webauthn', name: 'FIDO_WEBAUTHN' },
  },
  'okta-add-administrator__admin_privs_assigned.json#0': {
    kind: 'role.assign',
    channel: 'admin',
    targetId: '00u6eup97mAJZWYmP357',
    actorId: '00uu1uuuuIlllaaaa356',
    occurredAt: '2021-06-26T21:27:03.490Z',
  },
};

describe('Okta LogEvent normalizer: every governed fixture event', () => {
  const cases = pantherCases();
  const governed = cases.filter((c) => GOVERNED_EVENT_TYPES[eventTypeOf(c.log) ?? '']);

  it('has an expectation for every governed event in the corpus (and no stale ones)', () => {
    expect(governed.map((c) => `${c.file}#${c.name}`).sort()).toEqual(Object.keys(WANT).sort());
    expect(governed.length).toBeGreaterThanOrEqual(20);
  });

  it.each(governed.map((c) => [`${c.file} — ${c.name}`, c] as const))('%s', (_label, c) => {
    const want = WANT[`${c.file}#${c.name}`]!;
    const result = normalizeLogEvent(c.log, { tenant: 'acme', via: 'poll', observedAt: OBSERVED });
    if ('ignored' in want) {
      expect(result).toEqual({ ignored: expect.stringMatching(want.ignored) });
      return;
    }
    if ('ignored' in result) throw new Error(`ignored: ${result.ignored}`);
    const change = result.change;
    expect(IdentityChange.parse(change)).toEqual(change); // a valid change, nothing added by parsing
    expect({ kind: change.kind, channel: change.channel, targetId: change.target.id, actorId: change.actor.id }).toEqual({
      kind: want.kind,
      channel: want.channel,
      targetId: want.targetId,
      actorId: want.actorId,
    });
    expect(change.source).toMatchObject({ idp: 'okta', via: 'poll', rawType: eventTypeOf(c.log) });
    if (want.actorType) expect(change.actor.type).toBe(want.actorType);
    if (want.factor) expect(change.factor).toMatchObject(want.factor);
    if (want.eventIds) expect(change.source.eventIds).toEqual(want.eventIds);
    if (want.occurredAt) expect(change.occurredAt).toBe(want.occurredAt);
    if (want.context) expect(change.context).toMatchObject(want.context);
    expect(change.observedAt).toBe(OBSERVED.toISOString());
  });

  it('keeps and names every other event type instead of dropping it', () => {
    const others = cases.filter((c) => !GOVERNED_EVENT_TYPES[eventTypeOf(c.log) ?? ''] && !SIGNAL_EVENT_TYPES[eventTypeOf(c.log) ?? '']);
    expect(others.length).toBeGreaterThan(50);
    for (const c of others)
      expect(normalizeLogEvent(c.log, { tenant: 'acme', via: 'hook', observedAt: OBSERVED })).toEqual({
        ignored: expect.stringMatching(/is not governed by Warden|no eventType/),
      });
  });
});

describe('MFA challenge outcomes as signals (push fatigue)', () => {
  const cases = pantherCases();
  const signals = cases.filter((c) => SIGNAL_EVENT_TYPES[eventTypeOf(c.log) ?? '']);
  const opts = { tenant: 'acme', via: 'hook' as const, observedAt: OBSERVED };
  /** The Panther sample of an Identity Engine MFA failure (INVALID_CREDENTIALS, no factor named), in Okta's key spelling. */
  const failure = canonicalLogEvent(cases.find((c) => c.file === 'Okta.Identity.Provider.SignIn.json' && c.name === 'Other Event')!.log);
  /** The Panther sample of a successful MFA verification. */
  const success = canonicalLogEvent(cases.find((c) => c.file === 'Okta.Identity.Provider.Created.Modified.json' && c.name === 'Other Event')!.log);
  /** A sample with `debugContext.debugData.factor` set, as Okta names the factor verified (Elastic's push-bombing rules read it). */
  const withFactor = (event: Record<string, unknown>, factor: string, over: Record<string, unknown> = {}) => {
    const debug = (event.debugContext as { debugData?: Record<string, unknown> } | undefined)?.debugData ?? {};
    return { ...event, debugContext: { debugData: { ...debug, factor } }, ...over };
  };
  const normalized = (event: unknown) => {
    const r = normalizeLogEvent(event, opts);
    if ('ignored' in r) throw new Error(`ignored: ${r.ignored}`);
    expect(IdentityChange.parse(r.change)).toEqual(r.change);
    return r.change;
  };

  it('reads the Panther corpus conservatively: successes are passed verifications; failures naming no push factor are not denied pushes', () => {
    const got = Object.fromEntries(
      signals.map((c) => {
        const r = normalizeLogEvent(c.log, opts);
        return [
          `${c.file}#${c.name}`,
          'ignored' in r ? r.ignored : `${r.change.kind} target=${r.change.target.id} actor=${r.change.actor.id} ${r.change.channel}`,
        ];
      }),
    );
    expect(got).toEqual({
      'Okta.Identity.Provider.Created.Modified.json#Other Event': 'mfa.verified target=00abc123 actor=00abc123 self_service',
      'Okta.Password.Extraction.via.SCIM.json#Other Event': 'mfa.verified target=00abc123 actor=00abc123 self_service',
      'Okta.Identity.Provider.SignIn.json#Other Event':
        'user.authentication.auth_via_mfa FAILURE (INVALID_CREDENTIALS, factor not named): not a denied Okta Verify push',
      'Okta.Phishing.Attempt.Blocked.FastPass.json#Other Event':
        'user.authentication.auth_via_mfa FAILURE (INVALID_CREDENTIALS, factor not named): not a denied Okta Verify push',
      'Okta.Phishing.Attempt.Blocked.FastPass.json#FastPass Phishing Block Event':
        'user.authentication.auth_via_mfa FAILURE (FastPass declined phishing attempt, factor not named): not a denied Okta Verify push',
    });
  });

  it('makes an Identity Engine push the user denied (auth_via_mfa, FAILURE, INVALID_CREDENTIALS, factor OKTA_VERIFY_PUSH) a denied push of the user challenged', () => {
    const change = normalized(withFactor(failure, 'OKTA_VERIFY_PUSH'));
    expect(change).toMatchObject({
      kind: 'mfa.denied',
      channel: 'self_service',
      factor: { type: 'push', name: 'OKTA_VERIFY_PUSH' },
      // The person challenged is the actor (Panther's scrubbed sample names another user as target).
      target: { id: '00abc123', login: 'homer.simpson@duff.com' },
      actor: { id: '00abc123', login: 'homer.simpson@duff.com', ip: '1.3.2.4', sessionId: '100-abc-9999' },
      source: { idp: 'okta', eventIds: ['AbC-123-XyZ'], rawType: 'user.authentication.auth_via_mfa', via: 'hook' },
      occurredAt: '2022-06-22T18:18:29.015Z',
      context: { oktaOutcomeReason: 'INVALID_CREDENTIALS', country: 'United States' },
    });
    expect(isSignalKind(change.kind)).toBe(true);
  });

  it('makes a Classic deny_push a denied push whatever its outcome, naming the factor only when Okta does', () => {
    const classic = { ...failure, eventType: 'user.mfa.okta_verify.deny_push', displayMessage: 'User rejected Okta push verify' };
    expect(normalized(classic)).toMatchObject({
      kind: 'mfa.denied',
      factor: { type: 'push' },
      target: { id: '00abc123' },
      source: { rawType: 'user.mfa.okta_verify.deny_push' },
    });
    expect(normalized(classic).factor).toEqual({ type: 'push' });
    expect(normalized({ ...classic, outcome: { result: 'SUCCESS' } }).kind).toBe('mfa.denied');
  });

  it('does not count other failures as denied pushes: another factor, another reason, no outcome', () => {
    expect(normalizeLogEvent(withFactor(failure, 'SIGNED_NONCE'), opts)).toEqual({
      ignored: 'user.authentication.auth_via_mfa FAILURE (INVALID_CREDENTIALS, factor SIGNED_NONCE): not a denied Okta Verify push',
    });
    expect(normalizeLogEvent(withFactor(failure, 'FIDO_WEBAUTHN'), opts)).toEqual({ ignored: expect.stringMatching(/not a denied Okta Verify push/) });
    expect(
      normalizeLogEvent(withFactor(failure, 'OKTA_VERIFY_PUSH', { outcome: { result: 'FAILURE', reason: 'FastPass declined phishing attempt' } }), opts),
    ).toEqual({ ignored: expect.stringMatching(/FastPass declined phishing attempt.*not a denied Okta Verify push/) });
    expect(normalizeLogEvent(withFactor(failure, 'OKTA_VERIFY_PUSH', { outcome: { result: 'CHALLENGE' } }), opts)).toEqual({
      ignored: 'user.authentication.auth_via_mfa with outcome CHALLENGE: neither a denied push nor a passed verification',
    });
    expect(normalizeLogEvent({ ...failure, outcome: undefined }, opts)).toEqual({ ignored: expect.stringMatching(/outcome none/) });
  });

  it('makes a successful verification a passed MFA, but not the password step Identity Engine also logs as auth_via_mfa', () => {
    expect(normalized(success)).toMatchObject({ kind: 'mfa.verified', channel: 'self_service', target: { id: '00abc123' } });
    expect(normalized(success).factor).toBeUndefined();
    expect(normalized(withFactor(success, 'OKTA_VERIFY_PUSH')).factor).toEqual({ type: 'push', name: 'OKTA_VERIFY_PUSH' });
    expect(normalizeLogEvent(withFactor(success, 'PASSWORD_AS_FACTOR'), opts)).toEqual({
      ignored: 'user.authentication.auth_via_mfa SUCCESS with the password (PASSWORD_AS_FACTOR): not an MFA verification',
    });
  });

  it('needs a user who was challenged', () => {
    const app = { ...failure, actor: { id: '0oa1', type: 'PublicClientApp', alternateId: 'workflows', displayName: 'Okta Workflows' } };
    expect(normalizeLogEvent(withFactor(app, 'OKTA_VERIFY_PUSH'), opts)).toEqual({
      ignored: 'user.authentication.auth_via_mfa names no user who was challenged',
    });
  });

  it('reads neither session starts nor app sign-ins as passed MFA (sign-in volume; a session can start without MFA)', () => {
    for (const type of ['user.session.start', 'user.authentication.sso', 'user.authentication.verify'])
      expect(normalizeLogEvent({ ...success, eventType: type }, opts)).toEqual({ ignored: `event type ${type} is not governed by Warden` });
  });

  it('subscribes the hook to auth_via_mfa (hook-eligible) and leaves deny_push (not eligible) to the poller, which reads both', () => {
    expect(HOOK_EVENT_TYPES).toContain('user.authentication.auth_via_mfa');
    expect(HOOK_EVENT_TYPES).not.toContain('user.mfa.okta_verify.deny_push');
    expect(POLL_ONLY_EVENT_TYPES).toContain('user.mfa.okta_verify.deny_push');
    expect(POLLED_EVENT_TYPES).toEqual(expect.arrayContaining(['user.authentication.auth_via_mfa', 'user.mfa.okta_verify.deny_push']));
    expect(systemLogFilter()).toContain('eventType eq "user.mfa.okta_verify.deny_push"');
  });
});

describe("Okta's own samples", () => {
  it('ignores the event hook sample (user.session.start) and the System Log sample (user.lifecycle.deactivate), naming the type', () => {
    const delivery = read('event-hook-delivery-user-session-start.json') as { data: { events: unknown[] } };
    expect(normalizeLogEvent(delivery.data.events[0], { tenant: 'acme', via: 'hook', observedAt: OBSERVED })).toEqual({
      ignored: 'event type user.session.start is not governed by Warden',
    });
    expect(normalizeLogEvent(read('system-log-event-user-lifecycle-deactivate.json'), { tenant: 'acme', via: 'poll', observedAt: OBSERVED })).toEqual({
      ignored: 'event type user.lifecycle.deactivate is not governed by Warden',
    });
  });

  it('normalizes a governed event built from the System Log sample: an admin suspends a user, with client, session and request context', () => {
    const event = {
      ...(read('system-log-event-user-lifecycle-deactivate.json') as Record<string, unknown>),
      eventType: 'user.lifecycle.suspend',
      displayMessage: 'Suspend Okta user',
    };
    const result = normalizeLogEvent(event, { tenant: 'acme', via: 'hook', observedAt: OBSERVED });
    if ('ignored' in result) throw new Error(result.ignored);
    expect(result.change).toMatchObject({
      kind: 'account.suspend',
      channel: 'admin',
      source: { eventIds: ['ab62c0bc-2837-11eb-9823-9fb8f750c5a9'], via: 'hook' },
      target: { id: '00u3m90rxKjGQ0G6L1d6', login: 'john.doe@example.com', displayName: 'John Doe' },
      actor: { id: '00u2di94bAMSEPvAY1d6', login: 'okta.trainer@okta.com', type: 'user', ip: '174.89.174.56', sessionId: '102lMcfHbwSTuS5V1oPHJs3lw' },
      occurredAt: '2020-11-16T18:15:12.862Z',
      context: { country: 'Canada', oktaRequestId: 'X7LBsMxeqO-ADcGcmp0WGQAAB@g' },
    });
    expect(result.change.context.ipReputation).toBeUndefined(); // threatSuspected "false"
  });

  it('reads an API token (transaction.detail.requestApiTokenId) as the api channel', () => {
    const event = {
      ...(read('system-log-event-user-lifecycle-deactivate.json') as Record<string, unknown>),
      eventType: 'user.session.clear',
      transaction: { type: 'WEB', id: 'x', detail: { requestApiTokenId: '00T94e3cn9kSEO3c51s5' } },
    };
    const result = normalizeLogEvent(event, { tenant: 'acme', via: 'poll', observedAt: OBSERVED });
    expect('change' in result && [result.change.kind, result.change.channel, result.change.actor.type, result.change.context.apiTokenId]).toEqual([
      'session.revoke',
      'api',
      'service',
      '00T94e3cn9kSEO3c51s5',
    ]);
  });

  it("reads lower-cased keys the same as Okta's spelling", () => {
    const event = read('system-log-event-user-lifecycle-deactivate.json') as Record<string, unknown>;
    const lowered = Object.fromEntries(Object.entries({ ...event, eventType: 'user.lifecycle.suspend' }).map(([k, v]) => [k.toLowerCase(), v]));
    const a = normalizeLogEvent({ ...event, eventType: 'user.lifecycle.suspend' }, { tenant: 'acme', via: 'poll', observedAt: OBSERVED });
    const b = normalizeLogEvent(lowered, { tenant: 'acme', via: 'poll', observedAt: OBSERVED });
    if ('ignored' in a || 'ignored' in b) throw new Error('ignored');
    expect({ ...b.change, id: a.change.id }).toEqual(a.change);
    expect(canonicalLogEvent(lowered).debugContext).toEqual(event.debugContext);
  });
});

describe('the records port (replays and backtests)', () => {
  it('recognizes LogEvents in either spelling and normalizes them without calling Okta', async () => {
    const { oktaConnector } = await import('./index.js');
    const records = oktaConnector().records!;
    const reset = pantherCases().find((c) => c.file === 'Okta.User.MFA.Reset.All.json')!.log;
    expect([
      records.recognizes(reset),
      records.recognizes(read('system-log-event-user-lifecycle-deactivate.json')),
      records.recognizes({ operationName: 'Reset password' }),
      records.recognizes('x'),
    ]).toEqual([true, true, false, false]);
    expect(records.normalize(reset, 'acme', new Date('2026-11-25T09:00:00Z'))).toEqual({
      changes: [expect.objectContaining({ kind: 'factor.reset_all', tenant: 'acme', source: expect.objectContaining({ idp: 'okta' }) })],
    });
    expect(records.normalize(read('system-log-event-user-lifecycle-deactivate.json'), 'acme', new Date('2026-11-25T09:00:00Z'))).toEqual({
      ignored: 'event type user.lifecycle.deactivate is not governed by Warden',
    });
  });
});

describe('pieces', () => {
  it('reads Okta and export time formats as UTC', () => {
    expect(publishedIso('2020-11-16T18:15:12.862Z')).toBe('2020-11-16T18:15:12.862Z');
    expect(publishedIso('2022-06-22 18:18:29.015')).toBe('2022-06-22T18:18:29.015Z');
    expect(publishedIso('2020-11-25 21:27:03.496000000')).toBe('2020-11-25T21:27:03.496Z');
    expect(publishedIso('2024-01-01T01:00:00+01:00')).toBe('2024-01-01T00:00:00.000Z');
    expect(publishedIso('yesterday')).toBeUndefined();
  });

  it('maps Okta factor names to vendor-neutral types', () => {
    expect(
      [
        'OKTA_VERIFY_PUSH',
        'push',
        'SIGNED_NONCE',
        'token:software:totp',
        'GOOGLE_AUTHENTICATOR',
        'SMS_FACTOR',
        'call',
        'EMAIL_FACTOR',
        'FIDO_WEBAUTHN',
        'u2f',
        'token:hardware',
        'question',
        'PASSWORD',
        'something',
      ].map(factorTypeOf),
    ).toEqual([
      'push',
      'push',
      'push',
      'totp',
      'totp',
      'sms',
      'voice',
      'email',
      'webauthn',
      'webauthn',
      'hardware_token',
      'security_question',
      'password',
      'other',
    ]);
  });
});

describe('event types', () => {
  const catalogue = read('event-types-identity-subset.json') as { versions: Array<{ eventTypes: Array<{ id: string; tags: string[] }> }> };
  const byId = new Map(catalogue.versions.flatMap((v) => v.eventTypes).map((e) => [e.id, e]));

  it('subscribes the event hook only to types Okta marks event-hook eligible', () => {
    for (const type of HOOK_EVENT_TYPES) expect(byId.get(type)?.tags, type).toContain('event-hook-eligible');
  });

  it('leaves to the poller the types Okta does not deliver by hook', () => {
    for (const type of POLL_ONLY_EVENT_TYPES) expect(byId.get(type)?.tags ?? [], type).not.toContain('event-hook-eligible');
    expect(POLL_ONLY_EVENT_TYPES).toEqual(
      expect.arrayContaining([
        'user.mfa.attempt_bypass',
        'user.session.impersonation.grant',
        'support.org.update',
        'user.account.update_primary_email',
        'user.account.expire_password',
      ]),
    );
  });
});
