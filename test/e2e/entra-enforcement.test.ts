import { afterEach, describe, expect, it } from 'vitest';
import { PASSWORD_METHOD_ID, PHONE_METHOD_IDS } from '../../connectors/entra/simulator/simulated-directory.js';
import { graphCallFor } from '../../connectors/entra/graph-calls.js';
import { startEntraHarness, type EntraHarness } from '../helpers/entra-harness.js';

/**
 * Done-when of issue 5, end to end on the simulator with the real server: an
 * administrator registers a phone method for a privileged user with no
 * approved request; Warden learns it from the audit log (Graph sends no
 * notification for authentication methods), denies it, removes the method,
 * revokes the sessions, puts the user in the hold group and audits every
 * step. In monitor mode the same happens on paper only.
 */
describe('Entra: an unapproved phone registration for a privileged user', () => {
  let h: EntraHarness | undefined;
  afterEach(async () => {
    await h?.close();
    h = undefined;
  });

  const methodIds = (harness: EntraHarness, userId: string) =>
    harness.sim.directory
      .methodsOf(userId)
      .map((m) => m.body.id)
      .sort();

  it('is found by the audit poller and undone: method removed, sessions revoked, user held, all audited', async () => {
    h = await startEntraHarness();
    const { sim, users } = h;
    const sessionsBefore = users.privileged.signInSessionsValidFromDateTime;
    h.advance(60_000);
    sim.act.registerPhone(users.admin.id, users.privileged.id, { phoneNumber: '+1 206 555 0100', phoneType: 'mobile' });
    expect(methodIds(h, users.privileged.id)).toEqual([PASSWORD_METHOD_ID, PHONE_METHOD_IDS.mobile].sort());

    h.advance(30_000);
    const poll = await h.connector.tasks.get('acme')!.audit!.pollOnce();
    expect(poll).toMatchObject({ new: 1 });
    expect(await h.drainInbox()).toBe(1);

    const audit = await h.audit();
    const decision = audit.find((r) => r.type === 'decision.recorded')!;
    expect(decision.data).toMatchObject({
      outcome: 'deny',
      mode: 'enforce',
      tier: 'privileged',
      change: {
        kind: 'factor.enroll',
        channel: 'admin',
        source: { idp: 'entra', via: 'poll', rawType: 'Admin registered security info' },
        targetId: users.privileged.id,
        actorId: users.admin.id,
      },
    });
    // Detection also sees an admin changing a privileged user's factors: its open alert is one more reason.
    expect((decision.data.rules as Array<{ id: string }>).map((r) => r.id).sort()).toEqual([
      'assisted-reset-privileged',
      'open-detection-alert',
      'privileged-phone-factor',
    ]);
    expect((decision.data.alerts as Array<{ rule: string }>).map((a) => a.rule)).toContain('assisted-reset-privileged-target');
    expect((decision.data.actions as Array<{ kind: string }>).map((a) => a.kind).sort()).toEqual(['hold_group', 'remove_new_factor', 'revoke_sessions']);

    expect(await h.drainOutbox()).toBe(3);
    expect(methodIds(h, users.privileged.id)).toEqual([PASSWORD_METHOD_ID]);
    expect(users.privileged.signInSessionsValidFromDateTime).not.toBe(sessionsBefore);
    expect(h.holdGroup.members.has(users.privileged.id)).toBe(true);
    const executed = (await h.audit()).filter((r) => r.type === 'action.executed');
    expect(executed.map((r) => r.data.kind).sort()).toEqual(['hold_group', 'remove_new_factor', 'revoke_sessions']);
    expect(executed.find((r) => r.data.kind === 'remove_new_factor')!.data.result).toEqual({ removed: [PHONE_METHOD_IDS.mobile], collection: 'phoneMethods' });

    // Warden's own changes come back through the audit log and are not judged again.
    h.advance(60_000);
    const again = await h.connector.tasks.get('acme')!.audit!.pollOnce();
    expect(again).toMatchObject({ new: 3, duplicate: 1 });
    expect(await h.drainInbox()).toBe(3);
    expect((await h.audit()).filter((r) => r.type === 'decision.recorded')).toHaveLength(1);
    const metrics = await (await fetch(`${h.server.url}/metrics`)).text();
    expect(metrics).toContain('warden_inbox_entries_total{source="entra",result="ignored"} 3');

    // Every call Warden made is one of the operations its permission list is generated from.
    const calls = sim.requests.filter((r) => r.appId === h!.clientId);
    expect(calls.length).toBeGreaterThan(5);
    for (const call of calls) expect(graphCallFor('graph', call.method, call.path.replace(/^\/v1\.0/, '')), `${call.method} ${call.path}`).toBeDefined();
    expect(calls.every((c) => c.status < 400)).toBe(true);
  });

  it('in monitor mode decides and records the same, and changes nothing in Entra', async () => {
    h = await startEntraHarness({ mode: 'monitor' });
    const { sim, users } = h;
    const sessionsBefore = users.privileged.signInSessionsValidFromDateTime;
    h.advance(60_000);
    sim.act.registerPhone(users.admin.id, users.privileged.id, { phoneNumber: '+1 206 555 0100' });
    h.advance(30_000);
    await h.connector.tasks.get('acme')!.audit!.pollOnce();
    await h.drainInbox();
    const writesBefore = sim.requests.filter((r) => r.method !== 'GET').length;
    expect(await h.drainOutbox()).toBe(3);

    const audit = await h.audit();
    expect(audit.find((r) => r.type === 'decision.recorded')!.data).toMatchObject({ outcome: 'deny', mode: 'monitor' });
    expect(
      audit
        .filter((r) => r.type === 'action.dry_run')
        .map((r) => r.data.kind)
        .sort(),
    ).toEqual(['hold_group', 'remove_new_factor', 'revoke_sessions']);
    expect(audit.some((r) => r.type === 'action.executed')).toBe(false);
    expect(methodIds(h, users.privileged.id)).toEqual([PASSWORD_METHOD_ID, PHONE_METHOD_IDS.mobile].sort());
    expect(users.privileged.signInSessionsValidFromDateTime).toBe(sessionsBefore);
    expect(h.holdGroup.members.size).toBe(0);
    expect(sim.requests.filter((r) => r.method !== 'GET').length).toBe(writesBefore);
  });
});
