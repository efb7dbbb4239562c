import { existsSync, mkdirSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import type { Command } from 'commander';
import { TenantId } from '../../core/identity-change.js';
import { WardenError } from '../../core/errors.js';
import { packageRoot, wardenCommand } from '../../package-root.js';
import { EXIT } from '../../runtime/cli-io.js';
import type { CliRuntime } from '../cli-runtime.js';

function configFor(tenant: string, dir: string): string {
  return `# Warden server configuration. Reference: docs/configuration.md (or \`${wardenCommand(dir)} config docs\`).
listen:
  host: 127.0.0.1
  port: 8080

# With no database.url (and no DATABASE_URL), Warden keeps its data in the
# embedded PostgreSQL (PGlite) under dataDir. For production and several
# replicas, point it at PostgreSQL:
#   database:
#     url: { env: DATABASE_URL }
dataDir: .warden

tenants:
  - id: ${tenant}
    policy: policies/${tenant}.yaml
    # Secrets are references, never values:
    # secrets:
    #   oktaEventHook: { env: ${tenant.toUpperCase().replace(/-/g, '_')}_OKTA_EVENT_HOOK_SECRET }
`;
}

/** The example cases name one foreign tenant (a request of another tenant does not count). */
const EXAMPLE_OTHER_TENANT = 'globex';

/**
 * An example case file for tenant `t`: its policy path points at the tenant's policy, and the foreign
 * tenant of the example cases stays foreign when `t` happens to be that tenant's name.
 */
export function caseFileFor(text: string, t: string): string {
  const foreign = t === EXAMPLE_OTHER_TENANT ? text.replace(new RegExp(`\\b${EXAMPLE_OTHER_TENANT}\\b`, 'g'), 'initech') : text;
  return foreign.replace(/^policy: .*$/m, `policy: ../policies/${t}.yaml`);
}

/** `warden init [dir]`: a working config, tenant policy, decision cases and an example change. */
export function registerInitCommand(program: Command, rt: CliRuntime): void {
  const { io, setExit } = rt;
  program
    .command('init')
    .description('write a working example: warden.yaml, a tenant policy, its decision cases and an example change')
    .argument('[dir]', 'directory to write into', '.')
    .option('--tenant <id>', 'tenant id', 'acme')
    .option('--force', 'overwrite existing files')
    .action(async (dir: string, opts: { tenant: string; force?: boolean }) => {
      const tenant = TenantId.safeParse(opts.tenant);
      if (!tenant.success) throw new WardenError('ERR_VALIDATION', `--tenant ${opts.tenant}: ${tenant.error.issues[0]?.message}`);
      const t = tenant.data;
      const examples = path.join(packageRoot(), 'examples');
      const policy = readFileSync(path.join(examples, 'policies', 'acme.yaml'), 'utf8')
        .replace(/^tenant: acme$/m, `tenant: ${t}`)
        .replace(/"acme"/g, `"${t}"`)
        .replace(/examples\/policies\/acme\.yaml/g, `policies/${t}.yaml`)
        .replace(/examples\/cases/g, 'cases');
      const files = new Map<string, string>([
        ['warden.yaml', configFor(t, path.resolve(dir))],
        [path.join('policies', `${t}.yaml`), policy],
      ]);
      for (const f of readdirSync(path.join(examples, 'cases')).filter((f) => f.endsWith('.yaml')))
        files.set(path.join('cases', f), caseFileFor(readFileSync(path.join(examples, 'cases', f), 'utf8'), t));
      for (const f of readdirSync(path.join(examples, 'changes')).filter((f) => f.endsWith('.json')))
        files.set(path.join('examples', 'changes', f), readFileSync(path.join(examples, 'changes', f), 'utf8').replace(/"tenant": "acme"/, `"tenant": "${t}"`));

      const existing = [...files.keys()].filter((f) => existsSync(path.join(dir, f)));
      if (existing.length && !opts.force) throw new WardenError('ERR_CONFLICT', `would overwrite ${existing.join(', ')} in ${path.resolve(dir)} (use --force)`);
      for (const [file, text] of files) {
        mkdirSync(path.dirname(path.join(dir, file)), { recursive: true });
        writeFileSync(path.join(dir, file), text);
        await io.out(`wrote ${path.join(dir, file)}\n`);
      }
      const cd = path.resolve(dir) === process.cwd() ? '' : `cd ${dir} && `;
      const warden = wardenCommand(path.resolve(dir));
      await io.out(`\nNext:\n  ${cd}${warden} policy check policies/${t}.yaml\n  ${cd}${warden} policy test cases\n  ${cd}${warden} serve --quickstart\n`);
      setExit(EXIT.ok);
    });
}
