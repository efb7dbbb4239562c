import { randomUUID } from 'node:crypto';
import { afterEach, describe, expect, it } from 'vitest';
import { graphCallFor } from '../../connectors/entra/graph-calls.js';
import { startEntraHarness, type EntraHarness } from '../helpers/entra-harness.js';

/**
 * issue 17 §5 on the Entra simulator: an administrator adds a client secret
 * to a service principal with no approved request; Warden reads "Add service
 * principal credentials" from the audit log, holds it (example policy
 * `service-account-credential`), and removes the secret through Graph
 * `removePassword`, keeping the secrets that were there before; its own
 * removal comes back through the audit log and is not judged again.
 */
describe('Entra: revoke_new_credential on a service principal or an application', () => {
  let h: EntraHarness | undefined;
  afterEach(async () => {
    await h?.close();
    h = undefined;
  });

  it('removes the secret added without a request, keeps the older one, audits it, and recognises its own removal', async () => {
    h = await startEntraHarness();
    const { sim, users } = h;
    const sp = sim.directory.addServicePrincipal({ displayName: 'Payroll export' });
    // A secret from last month (set-up: no audit record), which must stay.
    const old = {
      keyId: randomUUID(),
      displayName: 'rotation 2026-06',
      hint: 'k3y',
      startDateTime: new Date(h.clock.now.getTime() - 30 * 86_400_000).toISOString(),
      endDateTime: new Date(h.clock.now.getTime() + 150 * 86_400_000).toISOString(),
      customKeyIdentifier: null,
      secretText: null,
    };
    sp.passwordCredentials.push(old);
    h.advance(60 * 60_000);
    const added = sim.act.addServicePrincipalPassword(users.admin.id, sp.id, 'backdoor');
    h.advance(30_000);
    expect(await h.connector.tasks.get('acme')!.audit!.pollOnce()).toMatchObject({ new: 1 });
    await h.drainInbox();

    const decisions = (await h.audit()).filter((r) => r.type === 'decision.recorded');
    const decision = decisions.at(-1)!;
    expect(decision.data).toMatchObject({
      outcome: 'hold',
      tier: 'service',
      change: { kind: 'credential.add', targetId: sp.id, actorId: users.admin.id, source: { idp: 'entra', rawType: 'Add service principal credentials' } },
    });
    expect((decision.data.rules as Array<{ id: string; outcome: string }>).filter((r) => r.outcome === 'hold').map((r) => r.id)).toContain(
      'service-account-credential',
    );
    expect((decision.data.actions as Array<{ kind: string }>).map((a) => a.kind)).toContain('revoke_new_credential');

    await h.drainOutbox();
    expect(sp.passwordCredentials.map((c) => c.keyId)).toEqual([old.keyId]);
    const executed = (await h.audit()).filter((r) => r.type === 'action.executed' && r.data.kind === 'revoke_new_credential');
    expect(executed.at(-1)!.data.result).toMatchObject({ owner: 'servicePrincipal', objectId: sp.id, removed: [added.keyId] });

    // Warden's removal is in the audit log, initiated by its own app: not judged again.
    h.advance(60_000);
    await h.connector.tasks.get('acme')!.audit!.pollOnce();
    await h.drainInbox();
    expect((await h.audit()).filter((r) => r.type === 'decision.recorded')).toHaveLength(decisions.length);
    const removal = sim.directory.audits.map((a) => a.record).filter((r) => r.activityDisplayName === 'Remove service principal credentials');
    expect(removal.length).toBeGreaterThan(0);
    expect(removal.every((r) => (r.initiatedBy as { app: { appId: string } | null }).app?.appId === h!.clientId)).toBe(true);

    // Every call Warden made is in the operations table its permissions are generated from.
    for (const call of sim.requests.filter((r) => r.appId === h!.clientId))
      expect(graphCallFor('graph', call.method, call.path.replace(/^\/v1\.0/, '')), `${call.method} ${call.path}`).toBeDefined();
  });

  /** Polls, decides and runs the outbox; returns the decisions recorded so far and the last revoke_new_credential outcome. */
  const holdAndRevoke = async (harness: EntraHarness) => {
    harness.advance(30_000);
    expect(await harness.connector.tasks.get('acme')!.audit!.pollOnce()).toMatchObject({ new: 1 });
    await harness.drainInbox();
    const decisions = (await harness.audit()).filter((r) => r.type === 'decision.recorded');
    expect(decisions.at(-1)!.data).toMatchObject({ outcome: 'hold', change: { kind: 'credential.add' } });
    expect((decisions.at(-1)!.data.actions as Array<{ kind: string }>).map((a) => a.kind)).toContain('revoke_new_credential');
    await harness.drainOutbox();
    const records = await harness.audit();
    const outcome = records.filter((r) => (r.type === 'action.executed' || r.type === 'action.failed') && r.data.kind === 'revoke_new_credential').at(-1)!;
    return { decisions, outcome };
  };

  /** Warden's own change comes back through the audit log and is not judged again; every call is in the operations table. */
  const ownChangeNotJudged = async (harness: EntraHarness, decided: number) => {
    harness.advance(60_000);
    await harness.connector.tasks.get('acme')!.audit!.pollOnce();
    await harness.drainInbox();
    expect((await harness.audit()).filter((r) => r.type === 'decision.recorded')).toHaveLength(decided);
    for (const call of harness.sim.requests.filter((r) => r.appId === harness.clientId))
      expect(graphCallFor('graph', call.method, call.path.replace(/^\/v1\.0/, '')), `${call.method} ${call.path}`).toBeDefined();
  };

  it('removes a secret added to an application object with applications/{id}/removePassword, keeping the older one', async () => {
    h = await startEntraHarness();
    const app = h.sim.directory.addApplication({ displayName: 'Payroll export' });
    h.advance(-30 * 86_400_000);
    const old = h.sim.act.addApplicationPassword(h.users.admin.id, app.id, 'rotation 2026-10');
    h.advance(30 * 86_400_000 + 60 * 60_000);
    await h.connector.tasks.get('acme')!.audit!.pollOnce(); // the first poll reads an hour back: the old secret is not in it
    h.advance(60_000);
    const added = h.sim.act.addApplicationPassword(h.users.admin.id, app.id, 'backdoor');
    const { decisions, outcome } = await holdAndRevoke(h);
    expect(decisions.at(-1)!.data).toMatchObject({
      change: { targetId: app.id, source: { rawType: 'Update application – Certificates and secrets management' } },
    });
    expect(outcome.type).toBe('action.executed');
    expect(outcome.data.result).toMatchObject({ owner: 'application', objectId: app.id, removed: [added.keyId] });
    expect(app.passwordCredentials.map((c) => c.keyId)).toEqual([old.keyId]);
    expect(h.sim.requests.some((r) => r.method === 'POST' && r.path === `/v1.0/applications/${app.id}/removePassword` && r.status === 204)).toBe(true);
    await ownChangeNotJudged(h, decisions.length);
  });

  it('removes a certificate added to an application by updating its keyCredentials without it (no removeKey proof needed)', async () => {
    h = await startEntraHarness();
    const app = h.sim.directory.addApplication({ displayName: 'Payroll export' });
    const old = h.sim.directory.addKeyCredential(
      { user: h.users.admin },
      { kind: 'application', object: app },
      'CN=payroll 2026',
      new Date(h.clock.now.getTime() - 90 * 86_400_000),
    );
    h.advance(3 * 60 * 60_000); // beyond the first poll's look-back: set-up, not judged
    await h.connector.tasks.get('acme')!.audit!.pollOnce();
    h.advance(60_000);
    const added = h.sim.act.addKeyCredential(h.users.admin.id, { application: app.id }, 'CN=backdoor');
    const { decisions, outcome } = await holdAndRevoke(h);
    expect(outcome.type).toBe('action.executed');
    expect(outcome.data.result).toMatchObject({ owner: 'application', objectId: app.id, credentialType: 'key', removed: [added.keyId] });
    expect(app.keyCredentials.map((k) => k.keyId)).toEqual([old.keyId]);
    const patch = h.sim.requests.find((r) => r.method === 'PATCH' && r.path === `/v1.0/applications/${app.id}`);
    expect(patch?.status).toBe(204);
    expect(h.sim.requests.some((r) => r.path.endsWith('/removeKey'))).toBe(false);
    await ownChangeNotJudged(h, decisions.length);
  });

  it('removes a certificate added to a service principal the same way', async () => {
    h = await startEntraHarness();
    const sp = h.sim.directory.addServicePrincipal({ displayName: 'Payroll export' });
    h.advance(60 * 60_000);
    await h.connector.tasks.get('acme')!.audit!.pollOnce();
    h.advance(60_000);
    const added = h.sim.act.addKeyCredential(h.users.admin.id, { servicePrincipal: sp.id }, 'CN=backdoor');
    const { outcome } = await holdAndRevoke(h);
    expect(outcome.type).toBe('action.executed');
    expect(outcome.data.result).toMatchObject({ owner: 'servicePrincipal', objectId: sp.id, credentialType: 'key', removed: [added.keyId] });
    expect(sp.keyCredentials).toEqual([]);
  });

  it('fails for good, with advice, when the new certificate is dated before the change (it cannot be told apart)', async () => {
    h = await startEntraHarness();
    const app = h.sim.directory.addApplication({ displayName: 'Payroll export' });
    h.advance(60 * 60_000);
    await h.connector.tasks.get('acme')!.audit!.pollOnce();
    h.advance(60_000);
    h.sim.act.addKeyCredential(h.users.admin.id, { application: app.id }, 'CN=backdated', new Date(h.clock.now.getTime() - 86_400_000));
    const { outcome } = await holdAndRevoke(h);
    expect(outcome.type).toBe('action.failed');
    expect(String(outcome.data.error)).toMatch(/no certificate .* starts after the change.*Certificates & secrets/);
    expect(app.keyCredentials).toHaveLength(1);
    expect(h.sim.requests.some((r) => r.method === 'PATCH' && r.path === `/v1.0/applications/${app.id}`)).toBe(false);
  });
});
