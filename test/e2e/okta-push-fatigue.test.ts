import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import type { OktaSimulator, SimUser } from '../../connectors/okta/simulator/okta-simulator.js';
import { runCli } from '../../src/app/cli-main.js';
import type { Connector } from '../../src/connector/contract.js';
import type { RunningServer } from '../../src/app/start-server.js';
import { auditRecords, oktaConfigDir, seededSimulator, startOktaServer } from '../helpers/okta-setup.js';

/**
 * Push fatigue on live Okta data, end to end: the real server with the Okta
 * connector against the Okta simulator. The pushes are found by the System
 * Log poller (Classic's deny_push never comes by hook), take the signal path
 * (no decisions), raise one push-fatigue alert, and the attacker's next step
 * (enrolling a factor of their own, delivered by the event hook) is held and
 * the person contained because of it.
 */
describe('Okta push fatigue end to end on the simulator', () => {
  let acme: { sim: OktaSimulator; agent: SimUser; employee: (login: string) => SimUser };
  let server: RunningServer;
  let connector: Connector;
  let setup: ReturnType<typeof oktaConfigDir>;

  beforeAll(async () => {
    acme = await seededSimulator();
    setup = oktaConfigDir([{ id: 'acme', sim: acme.sim, mode: 'enforce' }]);
    for (const [k, v] of Object.entries(setup.env)) vi.stubEnv(k, v!);
  });
  afterAll(async () => {
    await server?.close();
    await acme?.sim.close();
    vi.unstubAllEnvs();
  });

  it('finds five denied pushes and an approval through the System Log poller: one alert, no decision; the next change of the person is held', async () => {
    const kim = acme.employee('kim@acme.example');
    const bystander = acme.employee('lou@acme.example');
    // While Warden has no hook: three pushes denied in Identity Engine, two in a Classic flow, then kim gives in.
    for (const engine of ['identity-engine', 'identity-engine', 'identity-engine', 'classic', 'classic'] as const) acme.sim.signInPush(kim.id, 'deny', engine);
    acme.sim.signInPush(kim.id, 'approve');
    acme.sim.signInPush(bystander.id, 'approve'); // an ordinary sign-in
    const pushes = acme.sim.log.filter((e) => (e.actor as { id: string }).id === kim.id).map((e) => e.uuid);

    ({ server, connector } = await startOktaServer(setup.configFile, setup.env));
    await vi.waitFor(async () => expect(await server.store.listAlerts('acme', { limit: 10 })).toHaveLength(1), { timeout: 20_000, interval: 200 });
    const [alert] = await server.store.listAlerts('acme', { limit: 10 });
    expect(alert).toMatchObject({ rule: 'mfa-push-fatigue', key: 'kim@acme.example', severity: 'high' });
    expect(alert!.changes.map((c) => [c.kind, c.rawType])).toEqual([
      ...Array.from({ length: 3 }, () => ['mfa.denied', 'user.authentication.auth_via_mfa']),
      ...Array.from({ length: 2 }, () => ['mfa.denied', 'user.mfa.okta_verify.deny_push']),
      ['mfa.verified', 'user.authentication.auth_via_mfa'],
    ]);
    expect(alert!.changes.flatMap((c) => c.eventIds)).toEqual(pushes);
    // Read without claiming: claiming would move the very entries the check is about.
    await vi.waitFor(async () => expect(await server.store.listInbox('acme', 'pending', 10)).toEqual([]), { timeout: 10_000 });
    expect((await auditRecords(server, 'acme')).map((r) => r.type).filter((t) => t !== 'policy.loaded')).toEqual(['alert.raised']);
    const metrics = await (await fetch(`${server.url}/metrics`)).text();
    expect(metrics).toContain('warden_signals_total{tenant="acme",kind="mfa.denied",result="observed"} 5');
    expect(metrics).toContain('warden_signals_total{tenant="acme",kind="mfa.verified",result="observed"} 2');

    // Warden registers its event hook (auth_via_mfa is hook-eligible and subscribed; deny_push is not).
    const out: string[] = [];
    expect(
      await runCli(
        ['--config', setup.configFile, 'okta', 'hooks', 'register', '--tenant', 'acme', '--url', server.url],
        { out: (s) => void out.push(s), err: (s) => void out.push(s) },
        [connector],
      ),
    ).toBe(0);
    const [hook] = acme.sim.hooks.values();
    expect(hook!.events.items).toContain('user.authentication.auth_via_mfa');
    expect(hook!.events.items).not.toContain('user.mfa.okta_verify.deny_push');

    // The attacker, now in, enrolls their own Okta Verify: decided with the open alert, held, kim contained.
    acme.sim.selfEnroll(kim.id, 'push');
    await vi.waitFor(
      async () => {
        expect(acme.sim.groupNames(kim.id)).toContain('Warden Hold');
        expect(acme.sim.users.get(kim.id)!.sessions).toBe(0);
      },
      { timeout: 20_000, interval: 200 },
    );
    const decision = (await auditRecords(server, 'acme')).find((r) => r.type === 'decision.recorded')!;
    expect(decision.data).toMatchObject({
      outcome: 'hold',
      change: { kind: 'factor.enroll', targetId: kim.id },
      alerts: [{ id: alert!.id, rule: 'mfa-push-fatigue', on: 'target' }],
    });
    expect((decision.data.rules as Array<{ id: string }>).map((r) => r.id)).toContain('open-detection-alert');
  });
});
