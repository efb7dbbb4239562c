import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import type { OktaSimulator, SimUser } from '../../connectors/okta/simulator/okta-simulator.js';
import { CURSOR as SYSLOG_CURSOR, type SyslogCursor } from '../../connectors/okta/system-log-poller.js';
import { runCli } from '../../src/app/cli-main.js';
import { releaseHold } from '../../src/engine/release-hold.js';
import type { Connector } from '../../src/connector/contract.js';
import type { RunningServer } from '../../src/app/start-server.js';
import { auditRecords, oktaConfigDir, seededSimulator, startOktaServer } from '../helpers/okta-setup.js';

/**
 * Done-when of issue 4, end to end: the real server (startServer with the
 * Okta connector, its workers and poller) against the Okta simulator, which
 * the real okta-sdk-nodejs talks to and which delivers event hooks the way
 * Okta does.
 */

type Rec = Awaited<ReturnType<typeof auditRecords>>[number];
const decisionsFor = (records: Rec[], targetId: string, kind?: string) =>
  records.filter(
    (r) =>
      r.type === 'decision.recorded' &&
      (r.data.change as { targetId: string; kind: string }).targetId === targetId &&
      (!kind || (r.data.change as { kind: string }).kind === kind),
  );
const actionsFor = (records: Rec[], targetId: string, type = 'action.executed') =>
  records
    .filter((r) => r.type === type && r.data.targetId === targetId)
    .map((r) => r.data.kind as string)
    .sort();

describe('Okta connector end to end on the simulator', () => {
  let acme: { sim: OktaSimulator; agent: SimUser; employee: (login: string) => SimUser };
  let globex: { sim: OktaSimulator; agent: SimUser; employee: (login: string) => SimUser };
  let server: RunningServer;
  let connector: Connector;
  let setup: ReturnType<typeof oktaConfigDir>;

  /** Read without claiming: claiming would move the very entries a check is about. */
  const waitInboxDrained = (tenant: string) =>
    vi.waitFor(async () => expect(await server.store.listInbox(tenant, 'pending', 10)).toEqual([]), { timeout: 10_000, interval: 50 });

  const register = async (tenant: string) => {
    const out: string[] = [];
    const code = await runCli(
      ['--config', setup.configFile, 'okta', 'hooks', 'register', '--tenant', tenant, '--url', server.url],
      { out: (s) => void out.push(s), err: (s) => void out.push(s) },
      [connector],
    );
    return { code, out: out.join('') };
  };

  beforeAll(async () => {
    acme = await seededSimulator();
    globex = await seededSimulator();
    setup = oktaConfigDir([
      { id: 'acme', sim: acme.sim, mode: 'enforce' },
      { id: 'globex', sim: globex.sim, mode: 'monitor' },
    ]);
    for (const [k, v] of Object.entries(setup.env)) vi.stubEnv(k, v!);
    ({ server, connector } = await startOktaServer(setup.configFile, setup.env));
  });
  afterAll(async () => {
    await server?.close();
    await acme?.sim.close();
    await globex?.sim.close();
    vi.unstubAllEnvs();
  });

  it('registers the event hook with the event types Warden needs, verified by Okta calling Warden', async () => {
    for (const t of ['acme', 'globex']) {
      const { code, out } = await register(t);
      expect(out).toMatch(/created event hook who\w+ → http:\/\/127\.0\.0\.1:\d+\/hooks\/okta\/\w+\/events/);
      expect(out).toContain('verification VERIFIED');
      expect(code).toBe(0);
    }
    const [hook] = acme.sim.hooks.values();
    expect(hook!.events.items).toContain('user.mfa.factor.reset_all');
    expect(hook!.events.items).not.toContain('user.mfa.attempt_bypass'); // not hook-eligible: the poller's
    // Registering again updates the same hook.
    expect((await register('acme')).out).toMatch(/^updated event hook/);
    expect(acme.sim.hooks.size).toBe(1);
  });

  it('holds a help-desk factor reset with no approved request: hold group, sessions revoked, the new factor removed, all audited', async () => {
    const dana = acme.employee('dana@acme.example');
    const oldFactor = acme.sim.factorsOf(dana.id)[0]!;
    acme.sim.adminResetFactors(acme.agent.id, dana.id);
    const { factor: attackerFactor } = acme.sim.selfEnroll(dana.id, 'push');
    await vi.waitFor(
      async () => {
        expect(acme.sim.groupNames(dana.id)).toContain('Warden Hold');
        expect(acme.sim.users.get(dana.id)!.sessions).toBe(0);
        expect(acme.sim.factors.has(attackerFactor.id)).toBe(false);
        expect(actionsFor(await auditRecords(server, 'acme'), dana.id)).toEqual(['hold_group', 'remove_new_factor', 'revoke_sessions']);
      },
      { timeout: 20_000, interval: 200 },
    );
    expect(acme.sim.factors.has(oldFactor.id)).toBe(false); // the reset itself removed it
    const records = await auditRecords(server, 'acme');
    const [reset] = decisionsFor(records, dana.id, 'factor.reset_all');
    expect(reset!.data).toMatchObject({
      outcome: 'hold',
      mode: 'enforce',
      change: {
        kind: 'factor.reset_all',
        channel: 'helpdesk',
        actorId: acme.agent.id,
        source: { idp: 'okta', via: 'hook', rawType: 'user.mfa.factor.reset_all' },
      },
    });
    expect((reset!.data.rules as Array<{ id: string }>).map((r) => r.id)).toContain('assisted-reset-standard');

    // Warden's own actions come back from Okta (factor deactivated, sessions cleared) and are not judged again.
    await acme.sim.settled();
    // Read without claiming: claiming would move the very entries the check is about.
    await vi.waitFor(async () => expect(await server.store.listInbox('acme', 'pending', 10)).toEqual([]), { timeout: 10_000 });
    const after = await auditRecords(server, 'acme');
    expect(
      decisionsFor(after, dana.id)
        .map((d) => (d.data.change as { kind: string }).kind)
        .sort(),
    ).toEqual(['factor.enroll', 'factor.reset_all']);
    expect(await (await fetch(`${server.url}/metrics`)).text()).toMatch(/warden_okta_own_changes_total\{tenant="acme"\} [1-9]/);

    // An approver releases the hold: Warden takes the user out of the hold group (and does not judge that either).
    const released = await releaseHold(server.store, {
      tenant: 'acme',
      decisionId: reset!.subject.decisionId!,
      actor: { type: 'cli', id: 'approver@acme' },
      reason: 'verified by callback, ticket INC0012345',
    });
    expect(released.undo).toEqual(['release_hold_group']);
    server.outbox.wake();
    await vi.waitFor(() => expect(acme.sim.groupNames(dana.id)).not.toContain('Warden Hold'), { timeout: 20_000, interval: 200 });
    await vi.waitFor(async () => expect(actionsFor(await auditRecords(server, 'acme'), dana.id)).toContain('release_hold_group'), { timeout: 10_000 });
  });

  it("judges a change made with Warden's own credentials that Warden did not make (a stolen token is not ignored)", async () => {
    const vic = acme.employee('vic@acme.example');
    const res = await fetch(`${acme.sim.url}/api/v1/users/${vic.id}/lifecycle/reset_factors`, {
      method: 'POST',
      headers: { authorization: `SSWS ${acme.sim.token}`, accept: 'application/json' },
    });
    expect(res.status).toBe(200);
    await vi.waitFor(async () => expect(decisionsFor(await auditRecords(server, 'acme'), vic.id, 'factor.reset_all')).toHaveLength(1), {
      timeout: 20_000,
      interval: 200,
    });
    const [decision] = decisionsFor(await auditRecords(server, 'acme'), vic.id, 'factor.reset_all');
    expect(decision!.data).toMatchObject({ outcome: 'hold', change: { channel: 'api', actorId: acme.sim.tokenOwner.id } });
  });

  it('in monitor mode changes nothing in Okta and records the would-be actions', async () => {
    const mona = globex.employee('mona@globex.example');
    globex.sim.adminResetFactors(globex.agent.id, mona.id);
    const { factor } = globex.sim.selfEnroll(mona.id, 'push');
    await vi.waitFor(
      async () =>
        expect(actionsFor(await auditRecords(server, 'globex'), mona.id, 'action.dry_run')).toEqual(['hold_group', 'remove_new_factor', 'revoke_sessions']),
      { timeout: 20_000, interval: 200 },
    );
    expect(globex.sim.groupNames(mona.id)).not.toContain('Warden Hold');
    expect(globex.sim.users.get(mona.id)!.sessions).toBe(1);
    expect(globex.sim.factors.has(factor.id)).toBe(true);
    expect(globex.sim.requests.filter((r) => r.method !== 'GET' && !r.path.startsWith('/api/v1/eventHooks'))).toEqual([]);
    const [decision] = decisionsFor(await auditRecords(server, 'globex'), mona.id, 'factor.reset_all');
    expect(decision!.data).toMatchObject({ outcome: 'hold', mode: 'monitor' });
  });

  it('produces one change and one set of actions from duplicate and out-of-order deliveries', async () => {
    const frank = acme.employee('frank@acme.example');
    acme.sim.delivery = { duplicate: true, reorder: true };
    acme.sim.adminResetFactors(acme.agent.id, frank.id);
    acme.sim.selfEnroll(frank.id, 'sms');
    acme.sim.flushDeliveries();
    acme.sim.delivery = {};
    await vi.waitFor(
      async () => expect(actionsFor(await auditRecords(server, 'acme'), frank.id)).toEqual(['hold_group', 'remove_new_factor', 'revoke_sessions']),
      { timeout: 20_000, interval: 200 },
    );
    await acme.sim.settled();
    const delivered = acme.sim.deliveries.filter(
      (d) => d.status === 200 && d.eventIds.some((id) => acme.sim.log.some((e) => e.uuid === id && JSON.stringify(e.target).includes(frank.id))),
    );
    expect(delivered.length).toBeGreaterThanOrEqual(4); // each of the two events twice
    // Every delivery was answered, so every copy is in the inbox: once none is pending, all were judged.
    await waitInboxDrained('acme');
    const records = await auditRecords(server, 'acme');
    expect(decisionsFor(records, frank.id, 'factor.reset_all')).toHaveLength(1);
    expect(decisionsFor(records, frank.id, 'factor.enroll')).toHaveLength(1);
    expect(actionsFor(records, frank.id)).toEqual(['hold_group', 'remove_new_factor', 'revoke_sessions']);
  });

  it('finds a change made while Warden was stopped through the System Log poller, with the same outcome, exactly once', async () => {
    const erin = acme.employee('erin@acme.example');
    await server.close();
    acme.sim.adminResetFactors(acme.agent.id, erin.id);
    await acme.sim.settled();
    expect(acme.sim.deliveries.filter((d) => d.eventIds.includes(acme.sim.log.at(-1)!.uuid)).map((d) => d.status)).toEqual(['error', 'error']); // Okta's try and its one retry
    ({ server, connector } = await startOktaServer(setup.configFile, setup.env));
    await vi.waitFor(
      async () => {
        expect(acme.sim.groupNames(erin.id)).toContain('Warden Hold');
        expect(actionsFor(await auditRecords(server, 'acme'), erin.id)).toEqual(['hold_group', 'remove_new_factor', 'revoke_sessions']);
      },
      { timeout: 30_000, interval: 250 },
    );
    const [decision] = decisionsFor(await auditRecords(server, 'acme'), erin.id, 'factor.reset_all');
    expect(decision!.data).toMatchObject({ outcome: 'hold', change: { channel: 'helpdesk', source: { via: 'poll' } } });

    // Okta's late delivery of the same event (to the restarted server, on its new port), and the next polls, change nothing.
    const late = acme.sim.log.find((e) => e.eventType === 'user.mfa.factor.reset_all' && JSON.stringify(e.target).includes(erin.id))!;
    const res = await fetch(`${server.url}/hooks/okta/acme/events`, {
      method: 'POST',
      headers: { 'content-type': 'application/json', authorization: 'hook-shared-secret-0123456789' },
      body: JSON.stringify({ eventType: 'com.okta.event_hook', eventId: 'late-1', data: { events: [late] } }),
    });
    expect(res.status).toBe(200);
    // At least one more poll: one that started after the late delivery was stored has read to the end (its start is
    // the cursor's polledAt), and what it read has been judged.
    const lateAt = server.context.clock().toISOString();
    await vi.waitFor(
      async () =>
        expect(((await server.store.getCursor('acme', SYSLOG_CURSOR)) as SyslogCursor | undefined)?.polledAt ?? '').toSatisfy((at: string) => at > lateAt),
      { timeout: 30_000, interval: 100 },
    );
    await waitInboxDrained('acme');
    const records = await auditRecords(server, 'acme');
    expect(decisionsFor(records, erin.id, 'factor.reset_all')).toHaveLength(1);
    expect(actionsFor(records, erin.id)).toEqual(['hold_group', 'remove_new_factor', 'revoke_sessions']);
  });
});
