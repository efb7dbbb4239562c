import { readdirSync, readFileSync } from 'node:fs';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { GRAPH_CALLS, graphCallOptInPermissions, graphCallPermissions } from '../../connectors/entra/graph-calls.js';
import { terraformPermissionsFile, terraformPermissionsJson } from '../../connectors/entra/terraform-permissions.js';
import { packageRoot } from '../../src/package-root.js';

/**
 * The app registration in infra/terraform/azure asks for exactly the
 * permissions Warden's code uses: the list is generated from
 * connectors/entra/graph-calls.ts, and every Graph call of the connector
 * goes through that table (end-to-end tests also check each call the
 * simulator saw against it, with the simulator granting only these
 * permissions).
 */

const ROOT = packageRoot();
const ENTRA = path.join(ROOT, 'connectors', 'entra');

function productFiles(): Array<{ file: string; text: string }> {
  return readdirSync(ENTRA, { recursive: true, encoding: 'utf8' })
    .filter((f) => f.endsWith('.ts') && !f.endsWith('.test.ts') && !f.startsWith(`simulator${path.sep}`))
    .map((f) => ({ file: f, text: readFileSync(path.join(ENTRA, f), 'utf8') }));
}

describe('Entra app registration (infra/terraform/azure)', () => {
  it('permissions.json is what the code needs (run `npm run gen:entra-permissions` after changing graph-calls.ts)', () => {
    expect(readFileSync(terraformPermissionsFile(ROOT), 'utf8')).toBe(terraformPermissionsJson());
  });

  it('asks for these application permissions and no others', () => {
    expect(graphCallPermissions()).toEqual({
      microsoftGraph: [
        'Application.ReadWrite.All',
        'AuditLog.Read.All',
        'Group.Create',
        'GroupMember.ReadWrite.All',
        'IdentityRiskyUser.ReadWrite.All',
        'RoleManagement.Read.Directory',
        'User.ReadWrite.All',
        'UserAuthenticationMethod.ReadWrite.All',
      ],
      office365ManagementApis: ['ActivityFeed.Read'],
    });
  });

  it('asks for Application.ReadWrite.All only when enable_revoke_new_credential is set (default off)', () => {
    expect(graphCallOptInPermissions()).toEqual({ 'Application.ReadWrite.All': 'enable_revoke_new_credential' });
    const json = JSON.parse(readFileSync(terraformPermissionsFile(ROOT), 'utf8')) as { opt_in: Record<string, string> };
    expect(json.opt_in).toEqual(graphCallOptInPermissions());
    const dir = path.join(ROOT, 'infra', 'terraform', 'azure');
    const variables = readFileSync(path.join(dir, 'variables.tf'), 'utf8');
    for (const variable of Object.values(graphCallOptInPermissions())) {
      expect(variables).toMatch(new RegExp(`variable "${variable}" \\{[^}]*type\\s*=\\s*bool[^}]*default\\s*=\\s*false`, 's'));
      expect(readFileSync(path.join(dir, 'main.tf'), 'utf8')).toContain(`${variable} = var.${variable}`);
    }
    expect(readFileSync(path.join(dir, 'main.tf'), 'utf8')).toContain('local.permissions.opt_in');
  });

  it('main.tf takes its permission list from permissions.json and names none itself', () => {
    const tf = readFileSync(path.join(ROOT, 'infra', 'terraform', 'azure', 'main.tf'), 'utf8');
    // biome-ignore lint/suspicious/noTemplateCurlyInString: Terraform's interpolation, looked for verbatim in the .tf file.
    expect(tf).toContain('jsondecode(file("${path.module}/permissions.json"))');
    for (const permission of [
      ...graphCallPermissions().microsoftGraph,
      ...graphCallPermissions().office365ManagementApis,
      'Directory.ReadWrite.All',
      'Directory.Read.All',
    ])
      expect(tf).not.toContain(`"${permission}"`);
  });

  it('only graph-session.ts talks to Graph or the Management API; every call names an operation of the table', () => {
    const files = productFiles();
    expect(files.length).toBeGreaterThan(15);
    const names = new Set(Object.keys(GRAPH_CALLS));
    let calls = 0;
    for (const { file, text } of files) {
      if (file !== 'graph-session.ts') {
        expect(text, file).not.toMatch(/\.api\(/);
        expect(text, file).not.toMatch(/\bfetch\(/);
      }
      for (const m of text.matchAll(/\.(?:call|next|management)(?:<[^(]*>)?\(\s*'([A-Za-z]+)'/g)) {
        calls++;
        expect(names.has(m[1]!), `${file} calls ${m[1]}`).toBe(true);
      }
    }
    expect(calls).toBeGreaterThanOrEqual(Object.keys(GRAPH_CALLS).length);
  });
});
