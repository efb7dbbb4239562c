import type { Command } from 'commander';
import { loadConfig } from '../../config/load-config.js';
import { renderConfigDocs } from '../../config/render-config-docs.js';
import { DetectionRegistry } from '../../detect/detection-registry.js';
import { PolicyRegistry } from '../../config/policy-registry.js';
import { EXIT } from '../../runtime/cli-io.js';
import type { CliRuntime } from '../cli-runtime.js';

/** `warden config check|docs` */
export function registerConfigCommands(program: Command, rt: CliRuntime): void {
  const { io, setExit } = rt;
  const config = program.command('config').description('the server configuration file (warden.yaml)');
  config
    .command('check')
    .description('validate warden.yaml, resolve its secrets, load every tenant policy and detection rules, as `serve` would')
    .action(async () => {
      const file = rt.configFile();
      const cfg = loadConfig({ ...(file ? { path: file } : {}), resolveSecrets: true, connectors: rt.connectors });
      const policies = new PolicyRegistry(cfg.tenants);
      const detections = new DetectionRegistry(cfg.tenants);
      const store =
        cfg.store.driver === 'pglite'
          ? `embedded PGlite in ${cfg.store.dataDir} (durability ${cfg.store.durability})`
          : `PostgreSQL, schema ${cfg.store.schema}`;
      await io.out(`${cfg.file}: ok\n  listen  ${cfg.listen.host}:${cfg.listen.port}\n  store   ${store}\n`);
      for (const t of policies.tenants()) {
        const p = policies.get(t);
        await io.out(`  tenant  ${t}: ${p.file} (${p.mode} mode, ${p.rules.length} rules, ${p.version})\n`);
        const d = detections.get(t);
        await io.out(
          d
            ? `          detection: ${d.engine.pack.rules.length} rules (${d.engine.pack.version})${d.engine.pack.disabled.length ? `, disabled: ${d.engine.pack.disabled.join(', ')}` : ''}\n`
            : '          detection: off\n',
        );
      }
      setExit(EXIT.ok);
    });
  config
    .command('docs')
    .description('print docs/configuration.md, generated from the configuration schema')
    .action(async () => {
      await io.out(renderConfigDocs(rt.connectors));
      setExit(EXIT.ok);
    });
}
