import { randomUUID } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { PHONE_METHOD_IDS, type SimUser } from '../../connectors/entra/simulator/simulated-directory.js';
import type { IdentityChange } from '../../src/core/identity-change.js';
import { ActionError } from '../../src/connector/contract.js';
import type { ActionRow } from '../../src/store/store.js';
import { makeChange, makeDecision } from '../helpers/changes.js';
import { startEntraHarness, type EntraHarness } from '../helpers/entra-harness.js';

/**
 * The Entra enforcer against the simulator, one action at a time: each is safe
 * to repeat (the outbox may run it again, and the Graph client's retry
 * handler re-sends POSTs), refusals are permanent with a reason, throttling
 * comes back as a retry no sooner than Graph asked.
 */

describe('Entra enforcer', () => {
  let h: EntraHarness;
  beforeAll(async () => {
    h = await startEntraHarness();
  });
  afterAll(async () => {
    await h.close();
  });

  const user = (name: string): SimUser => h.sim.directory.addUser({ userPrincipalName: `${name}-${randomUUID().slice(0, 8)}@contoso.example` });
  const action = (kind: string, targetId: string, params: Record<string, unknown> = {}, extra: Partial<ActionRow> = {}): ActionRow => ({
    id: randomUUID(),
    tenant: 'acme',
    kind,
    connector: 'entra',
    targetId,
    params,
    idempotencyKey: randomUUID(),
    dryRun: false,
    createdAt: h.clock.now,
    state: 'running',
    attempts: 1,
    nextAttemptAt: h.clock.now,
    ...extra,
  });
  const run = (a: ActionRow) => h.connector.enforcer!.execute(a, h.server.context);
  const failure = async (a: ActionRow) => {
    try {
      await run(a);
    } catch (err) {
      return err as ActionError;
    }
    throw new Error('expected the action to fail');
  };
  /** A stored change (the enforcer reads it for remove_new_factor). */
  const stored = async (change: IdentityChange) => {
    await h.server.store.putChange(change);
    return change;
  };
  const methods = (u: SimUser) => h.sim.directory.methodsOf(u.id).map((m) => m.collection);

  it('the directory port reads a user with groups, roles and profile, and caches it briefly', async () => {
    const u = h.sim.directory.addUser({
      userPrincipalName: `dana-${randomUUID().slice(0, 8)}@contoso.example`,
      displayName: 'Dana',
      employeeType: 'contractor',
      department: 'Sales',
    });
    h.sim.directory.assignRole(u.id, 'Helpdesk Administrator');
    h.sim.directory.addGroup({ displayName: 'Executives', members: [u.id] });
    const principal = await h.connector.directory!.getUser('acme', u.userPrincipalName, h.server.context);
    expect(principal).toEqual({
      id: u.id,
      login: u.userPrincipalName,
      email: u.userPrincipalName,
      displayName: 'Dana',
      groups: ['Executives'],
      adminRoles: ['Helpdesk Administrator'],
      employeeType: 'contractor',
      flags: { shared: false, executive: false, serviceAccount: false, breakGlass: false },
      attributes: { accountEnabled: true, userType: 'Member', department: 'Sales' },
    });
    const asked = h.sim.requests.length;
    await h.connector.directory!.getUser('acme', u.userPrincipalName, h.server.context);
    expect(h.sim.requests.length).toBe(asked);
    expect(await h.connector.directory!.getUser('acme', 'nobody@contoso.example', h.server.context)).toBeUndefined();
  });

  it('hold_group and release_hold_group are safe to repeat', async () => {
    const u = user('held');
    expect(await run(action('hold_group', u.id))).toEqual({ group: h.holdGroup.id, added: true });
    expect(await run(action('hold_group', u.id))).toEqual({ group: h.holdGroup.id, added: false, alreadyMember: true });
    expect(h.holdGroup.members.has(u.id)).toBe(true);
    expect(await run(action('release_hold_group', u.id))).toEqual({ group: h.holdGroup.id, removed: true });
    expect(await run(action('release_hold_group', u.id))).toEqual({ group: h.holdGroup.id, removed: false, notMember: true });
    expect(h.holdGroup.members.has(u.id)).toBe(false);
  });

  it('resolves a UPN target to the object id the group reference needs', async () => {
    const u = user('upn');
    await run(action('hold_group', u.userPrincipalName));
    expect(h.holdGroup.members.has(u.id)).toBe(true);
  });

  it('suspend and unsuspend, leaving alone an account someone else had disabled', async () => {
    const u = user('suspend');
    const suspend = action('suspend', u.id, {}, { decisionId: randomUUID() });
    expect(await run(suspend)).toEqual({ disabled: true });
    expect(u.accountEnabled).toBe(false);
    expect(await run(action('suspend', u.id))).toEqual({ disabled: false, alreadyDisabled: true });
    expect(await run(action('unsuspend', u.id))).toEqual({ enabled: true });
    expect(u.accountEnabled).toBe(true);

    // Disabled before Warden came: the undo of Warden's no-op suspension keeps it disabled.
    const v = user('was-disabled');
    v.accountEnabled = false;
    const change = await stored(makeChange({ target: { id: v.id } }));
    const decision = makeDecision(change, { obligations: { actions: ['suspend'], notify: [] } });
    await h.server.store.putDecision(decision);
    const queued = action('suspend', v.id, {}, { decisionId: decision.id });
    await h.server.store.enqueueAction(queued);
    await h.server.store.completeAction(queued.id, h.clock.now, await run(queued));
    const undo = action('unsuspend', v.id, { undoes: queued.id }, { decisionId: decision.id });
    expect(await run(undo)).toEqual({ enabled: false, skipped: 'the account was disabled before Warden suspended it: left disabled' });
    expect(v.accountEnabled).toBe(false);
  });

  it('revokes sessions, forces a password change, confirms compromise', async () => {
    const u = user('revoke');
    h.advance(1_000);
    expect(await run(action('revoke_sessions', u.id))).toEqual({ revoked: true });
    expect(u.signInSessionsValidFromDateTime).toBe(h.clock.now.toISOString());
    expect(await run(action('revoke_sessions', u.id))).toEqual({ revoked: true });
    expect(await run(action('expire_password', u.id))).toEqual({ forceChangePasswordNextSignIn: true });
    expect(u.forceChangePasswordNextSignIn).toBe(true);
    expect(await run(action('raise_risk', u.id))).toEqual({ confirmedCompromised: true });
    expect(h.sim.directory.riskyUsers.get(u.id)).toEqual({ riskLevel: 'high', riskState: 'confirmedCompromised' });
  });

  it('refuses for good what Entra refuses: raise_risk without Entra ID P2, an unknown kind', async () => {
    h.sim.directory.p2Licensed = false;
    try {
      const err = await failure(action('raise_risk', user('p2').id));
      expect(err).toBeInstanceOf(ActionError);
      expect(err.permanent).toBe(true);
      expect(err.message).toMatch(/needs Entra ID P2/);
    } finally {
      h.sim.directory.p2Licensed = true;
    }
    const unknown = await failure(action('notify:secops', user('x').id));
    expect([unknown.permanent, unknown.message]).toEqual([true, 'the Entra connector does not execute "notify:secops"']);
  });

  it('revoke_new_credential: removes the secrets added since the change, keeps older ones; no new certificate, or a change of another kind, is refused for good', async () => {
    const sp = h.sim.directory.addServicePrincipal({ displayName: `App ${randomUUID().slice(0, 6)}` });
    const now = h.clock.now.getTime();
    const secret = (keyId: string, startMs: number) => ({
      keyId,
      displayName: keyId,
      hint: 'abc',
      startDateTime: new Date(startMs).toISOString(),
      endDateTime: new Date(startMs + 86_400_000 * 90).toISOString(),
      customKeyIdentifier: null,
      secretText: null,
    });
    sp.passwordCredentials.push(secret('old', now - 86_400_000), secret('new', now));
    const change = await stored(
      makeChange({
        kind: 'credential.add',
        channel: 'admin',
        occurredAt: new Date(now).toISOString(),
        target: { id: sp.id, displayName: sp.displayName },
        context: { credentialOwnerType: 'servicePrincipal', credentialType: 'password' },
      }),
    );
    const params = { changeId: change.id, credentialOwnerType: 'servicePrincipal', credentialType: 'password' };
    expect(await run(action('revoke_new_credential', sp.id, params))).toMatchObject({ owner: 'servicePrincipal', objectId: sp.id, removed: ['new'] });
    expect(sp.passwordCredentials.map((c) => c.keyId)).toEqual(['old']);
    // Again (the outbox retried after a crash): nothing new left, nothing removed, no error.
    expect(await run(action('revoke_new_credential', sp.id, params))).toMatchObject({ removed: [] });

    const key = await failure(action('revoke_new_credential', sp.id, { ...params, credentialType: 'key' }));
    // No certificate on the object starts after the change (one dated earlier cannot be told apart): for good, with advice.
    expect([key.permanent, key.message]).toEqual([true, expect.stringContaining('no certificate on servicePrincipal')]);
    expect(key.message).toContain('Certificates & secrets');
    const other = await stored(makeChange({ kind: 'password.reset' }));
    const wrong = await failure(action('revoke_new_credential', sp.id, { changeId: other.id }));
    expect([wrong.permanent, wrong.message]).toEqual([true, expect.stringContaining('is no credential.add')]);
  });

  it('hands a long Retry-After back to the outbox and retries a short one in place, POSTs included', async () => {
    const u = user('throttled');
    h.sim.throttle({ path: /revokeSignInSessions/, count: 1, retryAfterSeconds: 90 });
    const err = await failure(action('revoke_sessions', u.id));
    expect([err.permanent, err.retryAfterMs]).toEqual([false, 90_000]);
    expect(err.message).toMatch(/429 TooManyRequests/);

    h.sim.throttle({ path: /members/, count: 1, status: 503, retryAfterSeconds: 1 });
    expect(await run(action('hold_group', u.id))).toEqual({ group: h.holdGroup.id, added: true });
    const posts = h.sim.requests.filter((r) => r.method === 'POST' && r.path === `/v1.0/groups/${h.holdGroup.id}/members/$ref`).slice(-2);
    expect(posts.map((p) => p.status)).toEqual([503, 204]);
  });

  describe('remove_new_factor', () => {
    const enrolled = (u: SimUser, factor: IdentityChange['factor'], kind: IdentityChange['kind'] = 'factor.enroll') =>
      stored(makeChange({ kind, channel: 'admin', target: { id: u.id }, factor: factor!, occurredAt: h.clock.now.toISOString() }));

    it('removes the Authenticator registered after the change, not the older one', async () => {
      const u = user('authn');
      h.sim.directory.seedMethod(u.id, 'microsoftAuthenticatorMethods', {
        id: 'old-phone',
        displayName: 'old',
        createdDateTime: new Date(h.clock.now.getTime() - 86_400_000).toISOString(),
      });
      h.sim.act.registerAuthenticator(u.id, u.id, { displayName: 'attacker phone' });
      const change = await enrolled(u, { type: 'push', name: 'Microsoft Authenticator' });
      const result = (await run(action('remove_new_factor', u.id, { changeId: change.id }))) as { removed: string[] };
      expect(result.removed).toHaveLength(1);
      expect(
        h.sim.directory
          .methodsOf(u.id)
          .filter((m) => m.collection === 'microsoftAuthenticatorMethods')
          .map((m) => m.body.id),
      ).toEqual(['old-phone']);
      expect(await run(action('remove_new_factor', u.id, { changeId: change.id }))).toEqual({
        removed: [],
        alreadyGone: true,
        collection: 'microsoftAuthenticatorMethods',
      });
    });

    it('removes a Temporary Access Pass by the id its audit record carries', async () => {
      const u = user('tap');
      const tap = h.sim.directory.createTemporaryAccessPass({ user: h.users.helpdesk }, u, { lifetimeInMinutes: 60 });
      const change = await enrolled(u, { type: 'tap', id: String(tap.id) }, 'tap.issue');
      expect(await run(action('remove_new_factor', u.id, { changeId: change.id, factorId: tap.id }))).toEqual({
        removed: [tap.id],
        collection: 'temporaryAccessPassMethods',
      });
      expect(methods(u)).toEqual(['passwordMethods']);
    });

    it('respects the default-method rule: Entra refuses, the action fails for good with the reason', async () => {
      const u = user('default');
      h.sim.directory.seedMethod(u.id, 'fido2Methods', {
        id: 'key-1',
        displayName: 'key',
        creationDateTime: new Date(h.clock.now.getTime() - 86_400_000).toISOString(),
      });
      h.sim.directory.registerPhone({ user: u }, u, { phoneNumber: '+1 555 0100', phoneType: 'mobile' });
      h.sim.directory.defaultMethod.set(u.id, PHONE_METHOD_IDS.mobile);
      const change = await enrolled(u, { type: 'sms' });
      const err = await failure(action('remove_new_factor', u.id, { changeId: change.id }));
      expect(err.permanent).toBe(true);
      expect(err.message).toMatch(/default method cannot be deleted while others remain/);
      expect(methods(u)).toContain('phoneMethods');
    });

    it('will not guess which of several phone methods is new', async () => {
      const u = user('phones');
      h.sim.directory.registerPhone({ user: u }, u, { phoneNumber: '+1 555 0101', phoneType: 'office' });
      h.sim.directory.registerPhone({ user: u }, u, { phoneNumber: '+1 555 0102', phoneType: 'mobile' });
      const change = await enrolled(u, { type: 'sms' });
      const err = await failure(action('remove_new_factor', u.id, { changeId: change.id }));
      expect([err.permanent, /has 2 phoneMethods/.test(err.message)]).toEqual([true, true]);
      expect(methods(u).filter((c) => c === 'phoneMethods')).toHaveLength(2);
    });

    it('skips changes that added no method', async () => {
      const u = user('reset');
      const change = await stored(makeChange({ kind: 'password.reset', target: { id: u.id } }));
      expect(await run(action('remove_new_factor', u.id, { changeId: change.id }))).toEqual({
        skipped: 'a password.reset change adds no authentication method',
      });
    });
  });

  it('reset_factors deletes every method but the password, the mobile phone after the alternate', async () => {
    const u = user('resetall');
    h.sim.directory.registerPhone({ user: u }, u, { phoneNumber: '+1 555 0103', phoneType: 'mobile' });
    h.sim.directory.registerPhone({ user: u }, u, { phoneNumber: '+1 555 0104', phoneType: 'alternateMobile' });
    h.sim.act.registerAuthenticator(u.id, u.id);
    expect(((await run(action('reset_factors', u.id))) as { removed: string[] }).removed).toHaveLength(3);
    expect(methods(u)).toEqual(['passwordMethods']);
  });
});

describe('Entra enforcer without the permissions it needs', () => {
  let h: EntraHarness;
  beforeAll(async () => {
    h = await startEntraHarness({ permissions: ['User.ReadWrite.All', 'AuditLog.Read.All'] });
  });
  afterAll(async () => {
    await h.close();
  });

  it("fails for good with Graph's reason when a permission is missing", async () => {
    const a = {
      id: randomUUID(),
      tenant: 'acme',
      kind: 'hold_group',
      connector: 'entra',
      targetId: h.users.alice.id,
      params: {},
      idempotencyKey: 'k',
      dryRun: false,
      createdAt: h.clock.now,
      state: 'running' as const,
      attempts: 1,
      nextAttemptAt: h.clock.now,
    };
    const err = await h.connector.enforcer!.execute(a, h.server.context).then(
      () => undefined,
      (e: unknown) => e as ActionError,
    );
    expect(err?.permanent).toBe(true);
    expect(err?.message).toMatch(/403 Authorization_RequestDenied/);
  });
});
