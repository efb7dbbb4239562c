import { chmodSync, existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import type { Command } from 'commander';
import { loadConfig, type WardenConfig } from '../config/load-config.js';
import { WardenError } from '../core/errors.js';
import { createApiKey } from '../access/api-keys.js';
import { startServer, type RunningServer } from './start-server.js';
import type { CliRuntime } from '../cli/cli-runtime.js';
import { cliActor } from '../cli/store-operation.js';
import { wardenCommand } from '../package-root.js';

/** Where `serve --quickstart` keeps the demo API key (next to the embedded store, never in the repo). */
export function quickstartKeyFile(config: WardenConfig): string {
  const dir = config.store.driver === 'pglite' ? config.store.dataDir : path.join(path.dirname(config.file), '.warden');
  return path.join(dir, 'quickstart.key');
}

/** Reuses the quickstart key if it still works, or mints one for the first tenant. */
async function ensureQuickstartKey(server: RunningServer, config: WardenConfig): Promise<string> {
  const file = quickstartKeyFile(config);
  if (existsSync(file)) {
    const key = readFileSync(file, 'utf8').trim();
    const ok = await server.keys.verify(`Bearer ${key}`).then(
      () => true,
      () => false,
    );
    if (ok) return file;
  }
  const tenant = config.tenants[0]!.id;
  const minted = await createApiKey(server.store, { tenant, name: 'quickstart', actor: cliActor(), now: server.context.clock() });
  mkdirSync(path.dirname(file), { recursive: true, mode: 0o700 });
  writeFileSync(file, minted.key + '\n', { mode: 0o600 });
  chmodSync(file, 0o600);
  return file;
}

function banner(server: RunningServer, config: WardenConfig, keyFile: string): string {
  const rel = (p: string) => path.relative(process.cwd(), p) || '.';
  const tenants = server.policies.tenants().map((t) => {
    const p = server.policies.get(t);
    return `  tenant ${t}: ${rel(p.file)} (${p.mode} mode, ${p.rules.length} rules, ${p.version})`;
  });
  const example = path.join(path.dirname(config.file), 'examples', 'changes', 'helpdesk-factor-reset.json');
  return [
    '',
    'Warden is running.',
    ...tenants,
    `  store: ${server.store.driver} at ${server.store.location}`,
    `         durability ${server.store.durability}`,
    '',
    `  Decisions  POST ${server.url}/v1/decisions`,
    `  OpenAPI    ${server.url}/openapi.json`,
    `  Ready      ${server.url}/readyz`,
    `  Metrics    ${server.url}/metrics`,
    '',
    "A help-desk agent resets a user's MFA factors with no approved request. Ask Warden:",
    '',
    `  curl -s ${server.url}/v1/decisions \\`,
    `    -H "Authorization: Bearer $(cat ${rel(keyFile)})" \\`,
    `    -H 'Content-Type: application/json' \\`,
    `    -d @${rel(example)}`,
    '',
    'Then check the audit trail (works while the server runs):',
    '',
    `  ${wardenCommand()} audit verify`,
    '',
    'Logs follow as JSON lines. Ctrl-C stops.',
    '',
  ].join('\n');
}

/** `warden serve` */
export function registerServeCommand(program: Command, rt: CliRuntime): void {
  const { io, setExit } = rt;
  program
    .command('serve')
    .description('run the Warden server')
    .option('--port <port>', 'listen port (overrides the config file and PORT)')
    .option('--quickstart', 'print the URLs and a ready-to-run curl, minting a local API key for the first tenant if needed')
    .action(async (opts: { port?: string; quickstart?: boolean }) => {
      const file = rt.configFile();
      let config = loadConfig({ ...(file ? { path: file } : {}), resolveSecrets: true, connectors: rt.connectors });
      if (opts.port !== undefined) {
        const port = Number(opts.port);
        if (!Number.isInteger(port) || port < 0 || port > 65535) throw new WardenError('ERR_VALIDATION', `--port ${opts.port} is not a TCP port`);
        config = { ...config, listen: { ...config.listen, port } };
      }
      const server = await startServer({ config, signals: true, connectors: rt.connectors, clock: rt.clock });
      if (opts.quickstart) await io.out(banner(server, config, await ensureQuickstartKey(server, config)));
      // Runs until a signal stops the server (the signal handler exits the process).
      await new Promise<never>(() => undefined);
      setExit(0);
    });
}
