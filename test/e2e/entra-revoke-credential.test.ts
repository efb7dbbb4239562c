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
describe('Entra: revoke_new_credential on a service principal', () => {
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
});
