import { readFileSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { okta } from '../../connectors/okta/index.js';
import type { OktaSimulator, SimUser } from '../../connectors/okta/simulator/okta-simulator.js';
import { runCli } from '../../src/app/cli-main.js';
import type { RunningServer } from '../../src/app/start-server.js';
import type { Alert } from '../../src/core/alert.js';
import { DirectorySnapshot } from '../../src/core/directory-snapshot.js';
import { packageRoot } from '../../src/package-root.js';
import { auditRecords, HOOK_SECRET, oktaConfigDir, seededSimulator, startOktaServer } from '../helpers/okta-setup.js';

/**
 * `warden detect replay --directory` agrees with the live path: the same Okta
 * LogEvents (built from Okta's System Log sample) are decided by the server on
 * the Okta simulator (event hook → inbox → enrichment through the Okta API →
 * decision → detection in the store), then replayed with the snapshot that
 * `warden okta directory export` wrote from the same simulator. Channel, tier,
 * person (the tenant's identity link) and alerts are the same; without the
 * snapshot they are not.
 */

const FIXTURES = path.join(packageRoot(), 'test', 'fixtures', 'okta');
const T0 = Date.parse('2026-03-02T09:00:00Z');

/** Okta's System Log sample as `eventType`, by `actor` on `target`, at T0 + minutes. */
function logEvent(eventType: string, actor: SimUser, target: SimUser, uuid: string, minutes: number): Record<string, unknown> {
  const sample = JSON.parse(readFileSync(path.join(FIXTURES, 'system-log-event-user-lifecycle-deactivate.json'), 'utf8')) as Record<string, unknown> & {
    actor: Record<string, unknown>;
    target: Array<Record<string, unknown>>;
  };
  return {
    ...sample,
    uuid,
    published: new Date(T0 + minutes * 60_000).toISOString(),
    eventType,
    displayMessage: 'Reset all factors for user',
    actor: { ...sample.actor, id: actor.id, alternateId: actor.profile.login, displayName: 'Hal Desk' },
    target: [{ ...sample.target[0], id: target.id, alternateId: target.profile.login }],
  };
}

async function warden(args: string[]) {
  const out: string[] = [];
  const err: string[] = [];
  const code = await runCli(args, { out: (s) => void out.push(s), err: (s) => void err.push(s) }, [okta]);
  return { code, out: out.join(''), err: err.join('') };
}

/** What is compared: per change its channel and tier, per alert its rules, person and changes (by vendor event id). */
interface Labels {
  changes: Array<{ eventId: string; channel: string; tier: string | undefined }>;
  alerts: Array<{ key: string; rules: string[]; events: string[] }>;
}

const sortLabels = (l: Labels): Labels => ({
  changes: [...l.changes].sort((a, b) => a.eventId.localeCompare(b.eventId)),
  alerts: l.alerts.map((a) => ({ ...a, rules: [...a.rules].sort(), events: [...a.events].sort() })).sort((a, b) => a.key.localeCompare(b.key)),
});

describe('warden detect replay --directory agrees with the live decision', () => {
  let sim: OktaSimulator;
  let server: RunningServer;
  let setup: ReturnType<typeof oktaConfigDir>;
  let events: Array<Record<string, unknown>>;
  let eventsFile: string;
  let policyFile: string;
  let live: Labels;
  const saved: NodeJS.ProcessEnv = {};

  beforeAll(async () => {
    const seeded = await seededSimulator();
    sim = seeded.sim;
    const agent = seeded.agent;
    const dana = seeded.employee('dana.lee@acme.example');
    const priya = sim.addUser({ login: 'priya.admin@acme.example', firstName: 'Priya', lastName: 'Admin' }, { roles: ['SUPER_ADMIN'], groups: ['Everyone'] });
    setup = oktaConfigDir([
      {
        id: 'acme',
        sim,
        mode: 'monitor',
        // The help desk by role, fresh enrichment, and Dana's Okta account linked to one person key.
        extra: `      helpdesk: { roles: [HELP_DESK_ADMIN], groups: [] }\n      enrichment: { cacheSeconds: 0 }\n    detection:\n      identities:\n        aliases:\n          dana: ['okta:${dana.id}']\n`,
      },
    ]);
    policyFile = path.join(setup.dir, 'policies', 'acme.yaml');
    events = [
      logEvent('user.mfa.factor.reset_all', agent, dana, 'evt-dana-reset', 0),
      logEvent('user.mfa.factor.reset_all', agent, priya, 'evt-priya-reset', 5),
    ];
    eventsFile = path.join(setup.dir, 'okta-events.ndjson');
    writeFileSync(eventsFile, events.map((e) => JSON.stringify(e)).join('\n') + '\n');

    // Live: the server decides the events delivered by the event hook.
    ({ server } = await startOktaServer(setup.configFile, setup.env));
    const delivery = JSON.parse(readFileSync(path.join(FIXTURES, 'event-hook-delivery-user-session-start.json'), 'utf8')) as Record<string, unknown>;
    const res = await fetch(`${server.url}/hooks/okta/acme/events`, {
      method: 'POST',
      headers: { 'content-type': 'application/json', authorization: HOOK_SECRET },
      body: JSON.stringify({ ...delivery, eventId: 'delivery-directory-1', data: { events } }),
    });
    expect(res.status).toBe(200);
    let decided: Array<{ type: string; subject: Record<string, string>; data: Record<string, unknown> }> = [];
    for (let i = 0; i < 600 && decided.length < events.length; i++) {
      decided = (await auditRecords(server, 'acme')).filter((r) => r.type === 'decision.recorded');
      if (decided.length < events.length) await new Promise((r) => setTimeout(r, 50));
    }
    expect(decided).toHaveLength(events.length);
    const changes: Labels['changes'] = [];
    for (const d of decided) {
      const change = (await server.store.getChange('acme', d.subject.changeId!))!;
      changes.push({ eventId: change.source.eventIds[0]!, channel: change.channel, tier: d.data.tier as string });
    }
    const alerts = (await server.store.listAlerts('acme', { limit: 50 })) as Alert[];
    live = {
      changes,
      alerts: alerts.map((a) => ({ key: a.key, rules: a.matches.map((m) => m.rule), events: a.changes.map((c) => c.eventIds[0]!) })),
    };
    // Both environments for the CLI commands below (the Okta token for the export).
    for (const [k, v] of Object.entries(setup.env)) {
      saved[k] = process.env[k];
      process.env[k] = v;
    }
  }, 120_000);

  afterAll(async () => {
    for (const [k, v] of Object.entries(saved))
      if (v === undefined) delete process.env[k];
      else process.env[k] = v;
    await server?.close();
    await sim?.close();
  });

  async function replay(extra: string[]): Promise<Labels> {
    const changes = await warden(['detect', 'replay', '--changes', '--policy', policyFile, ...extra, eventsFile]);
    expect(changes.code, changes.err).toBe(0);
    const alerts = await warden(['detect', 'replay', '--json', '--policy', policyFile, ...extra, eventsFile]);
    expect(alerts.code, alerts.err).toBe(0);
    return {
      changes: changes.out
        .trim()
        .split('\n')
        .map((l) => JSON.parse(l) as { eventIds: string[]; channel: string; tier?: string })
        .map((c) => ({ eventId: c.eventIds[0]!, channel: c.channel, tier: c.tier })),
      alerts: (JSON.parse(alerts.out) as Alert[]).map((a) => ({
        key: a.key,
        rules: a.matches.map((m) => m.rule),
        events: a.changes.map((c) => c.eventIds[0]!),
      })),
    };
  }

  it('the live decision labels the help desk, the privileged target and the linked person', () => {
    expect(sortLabels(live).changes).toEqual([
      { eventId: 'evt-dana-reset', channel: 'helpdesk', tier: 'standard' },
      { eventId: 'evt-priya-reset', channel: 'helpdesk', tier: 'privileged' },
    ]);
    expect(live.alerts.map((a) => a.key).sort()).toEqual(['dana', 'priya.admin@acme.example']);
    expect(live.alerts.find((a) => a.key === 'priya.admin@acme.example')!.rules).toContain('assisted-reset-privileged-target');
  });

  it('replayed with the snapshot warden okta directory export wrote, it gives the same channels, tiers, people and alerts', async () => {
    const snapshotFile = path.join(setup.dir, 'okta-directory.json');
    const exported = await warden(['--config', setup.configFile, 'okta', 'directory', 'export', '--tenant', 'acme', '--out', snapshotFile]);
    expect(exported.code, exported.err).toBe(0);
    const snapshot = DirectorySnapshot.parse(JSON.parse(readFileSync(snapshotFile, 'utf8')));
    expect(snapshot.directories[0]!.users.find((u) => u.login === 'agent@acme.example')!.adminRoles).toEqual(['HELP_DESK_ADMIN']);
    expect(snapshot.links).toEqual([{ person: 'dana', accounts: [expect.stringMatching(/^okta:00u/)] }]);
    expect(sortLabels(await replay(['--directory', snapshotFile]))).toEqual(sortLabels(live));
  });

  it('replayed without it, the help desk is an admin, the privileged target is standard and the person is a login: not what live saw', async () => {
    const bare = sortLabels(await replay([]));
    expect(bare.changes.map((c) => c.channel)).toEqual(['admin', 'admin']);
    expect(bare.changes.map((c) => c.tier)).toEqual(['standard', 'standard']);
    expect(bare).not.toEqual(sortLabels(live));
  });
});
