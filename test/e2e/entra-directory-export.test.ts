import { writeFileSync } from 'node:fs';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { exportEntraDirectory } from '../../connectors/entra/directory-export.js';
import { runCli } from '../../src/app/cli-main.js';
import type { Connector } from '../../src/connector/contract.js';
import { directoryAudit } from '../helpers/entra-audit-records.js';
import { startEntraHarness, type EntraHarness } from '../helpers/entra-harness.js';

/**
 * `warden entra directory export` against the Entra simulator (Graph over
 * HTTPS): every user of the directory, read as enrichment reads one (groups,
 * directory roles, profile), the tenant's help-desk roles; then a replay of a
 * directoryAudit (built from Microsoft's example record) with that snapshot
 * labels the Helpdesk Administrator's reset `helpdesk` and sees the target's
 * roles, as the inbox handler does live; without it, `admin` and no roles.
 */

describe('warden entra directory export', () => {
  let h: EntraHarness;

  beforeAll(async () => {
    h = await startEntraHarness({ mode: 'monitor' });
  }, 60_000);
  afterAll(async () => {
    await h?.close();
  });

  it('writes every user as enrichment reads them, pages included, and a replay with it labels the help desk as live does', async () => {
    // Two users a page: the export follows @odata.nextLink to the end.
    const snapshot = await exportEntraDirectory(h.tenant, { exportedAt: h.clock.now, pageSize: 2 });
    const dir = snapshot.directories[0]!;
    expect(dir.idp).toBe('entra');
    expect(dir.org).toBe(h.entraTenantId);
    expect(dir.helpdesk.roles).toContain('Helpdesk Administrator');
    const byUpn = new Map(dir.users.map((u) => [u.login, u]));
    expect(dir.users).toHaveLength(h.sim.directory.users.size);
    for (const u of Object.values(h.users)) expect(byUpn.get(u.userPrincipalName)?.id).toBe(u.id);
    // Exactly what live enrichment reads for the user.
    expect(byUpn.get(h.users.helpdesk.userPrincipalName)).toEqual(await h.tenant.directory.principal(h.users.helpdesk.id));
    expect(byUpn.get(h.users.privileged.userPrincipalName)!.adminRoles).toEqual(['Global Administrator']);

    const snapshotFile = path.join(path.dirname(h.configFile), 'entra-directory.json');
    writeFileSync(snapshotFile, JSON.stringify(snapshot));
    const records = path.join(path.dirname(h.configFile), 'entra-audits.ndjson');
    writeFileSync(
      records,
      JSON.stringify(
        directoryAudit({
          activity: 'Reset user password',
          service: 'Core Directory',
          at: '2026-11-25T09:58:41.1234567Z',
          actor: { user: { id: h.users.helpdesk.id, upn: h.users.helpdesk.userPrincipalName, displayName: 'Hal Desk' } },
          target: { id: h.users.privileged.id, upn: h.users.privileged.userPrincipalName, displayName: 'Gina Global' },
        }),
      ) + '\n',
    );
    const replay = async (extra: string[]) => {
      const out: string[] = [];
      const err: string[] = [];
      const code = await runCli(['detect', 'replay', '--json', ...extra, records], { out: (s) => void out.push(s), err: (s) => void err.push(s) }, [
        h.connector as Connector,
      ]);
      expect(code, err.join('')).toBe(0);
      return JSON.parse(out.join('')) as Array<{ matches: Array<{ rule: string }>; changes: Array<{ channel: string }> }>;
    };
    const withSnapshot = await replay(['--directory', snapshotFile]);
    expect(withSnapshot.flatMap((a) => a.changes.map((c) => c.channel))).toEqual(['helpdesk']);
    expect(withSnapshot.flatMap((a) => a.matches.map((m) => m.rule))).toContain('assisted-reset-privileged-target');
    const without = await replay([]);
    expect(without.flatMap((a) => a.changes.map((c) => c.channel))).toEqual(['admin']);
    expect(without.flatMap((a) => a.matches.map((m) => m.rule))).not.toContain('assisted-reset-privileged-target');
  }, 60_000);
});
