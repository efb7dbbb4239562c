import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { runCli } from '../../src/app/cli-main.js';
import { startEntraHarness, type EntraHarness } from '../helpers/entra-harness.js';

/**
 * `warden entra provision` (hold group and the Conditional Access policy to
 * create), with Warden authenticating by certificate (the simulator's app
 * has no client secret, only the certificate).
 */
describe('warden entra provision, with a certificate credential', () => {
  let h: EntraHarness;
  beforeAll(async () => {
    h = await startEntraHarness({ certificate: true, holdGroupConfigured: false });
  });
  afterAll(async () => {
    await h.close();
  });

  const provision = async () => {
    const out: string[] = [];
    const code = await runCli(
      ['--config', h.configFile, 'entra', 'provision', '--tenant', 'acme'],
      { out: (s) => void out.push(s), err: (s) => void out.push(s) },
      [h.connector],
      () => h.clock.now,
    );
    return { code, text: out.join('') };
  };

  it('finds the hold group by name, else creates it, and prints the Conditional Access policy for it', async () => {
    const found = await provision();
    expect(found.code).toBe(0);
    expect(found.text).toContain(`Hold group: Warden hold (${h.holdGroup.id}) already there.`);
    expect(found.text).toContain(`    entra:\n      holdGroup:\n        id: ${h.holdGroup.id}`);

    h.sim.directory.groups.delete(h.holdGroup.id);
    const created = await provision();
    expect(created.code).toBe(0);
    const group = [...h.sim.directory.groups.values()].find((g) => g.displayName === 'Warden hold')!;
    expect(group).toMatchObject({ securityEnabled: true, mailEnabled: false, mailNickname: 'warden-hold' });
    expect(created.text).toContain(`Hold group: Warden hold (${group.id}) created.`);
    const block = JSON.parse(/\(a\)[^\n]*\n(\{[\s\S]*?\n\})\n/.exec(created.text)![1]!) as Record<string, unknown>;
    expect(block).toEqual({
      displayName: 'Warden hold: block security info registration',
      state: 'enabledForReportingButNotEnforced',
      conditions: { users: { includeGroups: [group.id] }, applications: { includeUserActions: ['urn:user:registersecurityinfo'] }, clientAppTypes: ['all'] },
      grantControls: { operator: 'OR', builtInControls: ['block'] },
    });
    expect(created.text).toContain('"allowedCombinations": [\n    "temporaryAccessPassOneTime",\n    "temporaryAccessPassMultiUse"\n  ]');
    // Every call went through the certificate credential: the app has no secret.
    expect(h.sim.directory.apps.get(h.clientId)!.secrets).toEqual([]);
    expect(h.sim.requests.filter((r) => /oauth2\/v2\.0\/token$/.test(r.path)).every((r) => r.status === 200)).toBe(true);
  });
});
