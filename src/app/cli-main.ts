import { Command, CommanderError } from 'commander';
import { systemClock, type Clock } from '../core/clock.js';
import { isWardenError, type WardenErrorCode } from '../core/errors.js';
import { wardenVersion } from '../server/version.js';
import { operationRegistry } from '../admin/operations.js';
import { loadConfig } from '../config/load-config.js';
import type { Connector } from '../connector/contract.js';
import { EXIT, processIo, type CliIo } from '../runtime/cli-io.js';
import type { CliRuntime } from '../cli/cli-runtime.js';
import { runStoreOperation } from '../cli/store-operation.js';
import { registerAdminCommands } from '../cli/commands/admin.js';
import { registerConfigCommands } from '../cli/commands/config.js';
import { registerDetectCommands } from '../cli/commands/detect.js';
import { registerInitCommand } from '../cli/commands/init.js';
import { registerPolicyCommands } from '../cli/commands/policy.js';
import { registerServeCommand } from './serve-command.js';
import { startServer } from './start-server.js';
import { registerWorkflowCommands } from '../cli/commands/workflow.js';
import { registerNotifyCommands } from '../cli/commands/notify.js';
import { registerDemoCommand, type CliExtras } from '../cli/commands/demo.js';

/** Errors that mean "you asked wrongly" (exit 2) rather than "what you checked failed" (exit 1). */
const USAGE_ERRORS: ReadonlySet<WardenErrorCode> = new Set(['ERR_CONFIG_INVALID', 'ERR_VALIDATION', 'ERR_TENANT_UNKNOWN', 'ERR_CONFLICT']);

/** The `warden` command, wired to `io`, with the connectors' commands, reading the time from `clock`. */
export function buildProgram(
  io: CliIo,
  setExit: (code: number) => void,
  connectors: readonly Connector[] = [],
  clock: Clock = systemClock,
  extras: CliExtras = {},
): Command {
  const program = new Command('warden')
    .description('Warden: admission control for high-risk identity changes (MFA factor and password resets) in Okta and Microsoft Entra ID')
    .version(wardenVersion(), '-V, --version')
    .option('-c, --config <file>', 'config file (default: $WARDEN_CONFIG or ./warden.yaml)')
    .showHelpAfterError('(run with --help for usage)')
    .exitOverride()
    .configureOutput({ writeOut: (s) => void io.out(s), writeErr: (s) => io.err(s) })
    .addHelpText(
      'after',
      '\nEnvironment: WARDEN_CONFIG, PORT, DATABASE_URL, WARDEN_DATA_DIR, LOG_LEVEL.\nExit status: 0 success, 1 what was checked failed, 2 bad usage or configuration.',
    );
  const registry = operationRegistry(connectors);
  const configFile = () => program.opts<{ config?: string }>().config;
  const rt: CliRuntime = {
    io,
    setExit,
    connectors,
    registry,
    clock,
    configFile,
    loadConfig: (options) => {
      const file = configFile();
      return loadConfig({ ...(file === undefined ? {} : { path: file }), connectors, resolveSecrets: options?.resolveSecrets ?? false });
    },
    runOperation: (name, args) => runStoreOperation(registry, name, args, configFile(), io, connectors, clock),
  };
  registerServeCommand(program, rt);
  registerInitCommand(program, rt);
  registerPolicyCommands(program, rt);
  registerAdminCommands(program, rt);
  registerConfigCommands(program, rt);
  registerWorkflowCommands(program, rt);
  registerNotifyCommands(program, rt);
  registerDetectCommands(program, rt);
  registerDemoCommand(program, rt, { startWarden: startServer, ...extras });
  for (const connector of connectors) connector.commands?.(program, rt);
  const wire = (cmd: Command): void => {
    cmd.exitOverride().configureOutput({ writeOut: (s) => void io.out(s), writeErr: (s) => io.err(s) });
    for (const sub of cmd.commands) wire(sub);
  };
  wire(program);
  return program;
}

/**
 * Runs `warden` with `args` (without node and script) and returns the exit
 * code. Never calls process.exit itself, so tests run it in-process, on their
 * own `clock` (default: the system clock).
 */
export async function runCli(
  args: readonly string[],
  io: CliIo = processIo(),
  connectors: readonly Connector[] = [],
  clock: Clock = systemClock,
  extras: CliExtras = {},
): Promise<number> {
  let code: number = EXIT.ok;
  const program = buildProgram(
    io,
    (c) => {
      code = c;
    },
    connectors,
    clock,
    extras,
  );
  try {
    if (args.length === 0) {
      program.outputHelp();
      return EXIT.usage;
    }
    await program.parseAsync([...args], { from: 'user' });
    return code;
  } catch (err) {
    if (err instanceof CommanderError) {
      if (err.code === 'commander.helpDisplayed' || err.code === 'commander.version' || err.code === 'commander.help') return EXIT.ok;
      return EXIT.usage;
    }
    if (isWardenError(err)) {
      io.err(`warden: ${err.message}\n`);
      return USAGE_ERRORS.has(err.code) ? EXIT.usage : EXIT.failed;
    }
    io.err(`warden: unexpected error: ${(err as Error).stack ?? String(err)}\n`);
    return EXIT.failed;
  }
}
