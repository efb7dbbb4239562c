import { CLOCK_START_ENV, clockFromStart } from '../core/clock.js';
import { isWardenError } from '../core/errors.js';
import type { Connector } from '../connector/contract.js';
import { EXIT } from '../runtime/cli-io.js';
import { runCli } from './cli-main.js';
import type { CliExtras } from '../cli/commands/demo.js';

/**
 * Runs `warden` in this process with the given connectors, setting the exit
 * code. bin/warden.js calls it with connectors/index.ts's list.
 *
 * The one place a process's clock is chosen: the system clock, unless the
 * test-only `WARDEN_CLOCK_START` sets the instant it starts at
 * (docs/operations.md).
 */
export async function main(connectors: readonly Connector[], extras: CliExtras = {}): Promise<void> {
  exitQuietlyWhenStdoutCloses(process.stdout);
  let clock;
  try {
    clock = clockFromStart(process.env[CLOCK_START_ENV]);
  } catch (err) {
    process.stderr.write(`warden: ${isWardenError(err) ? err.message : String(err)}\n`);
    process.exitCode = EXIT.usage;
    return;
  }
  process.exitCode = await runCli(process.argv.slice(2), undefined, connectors, clock, extras);
}

/**
 * `warden … | head -2`: when the reader of stdout goes away, writing fails with EPIPE. That is the
 * reader's choice, not Warden's failure: stop at once, with no stack trace, as `cat` and `git log` do.
 */
export function exitQuietlyWhenStdoutCloses(stdout: NodeJS.WriteStream): void {
  stdout.on('error', (err: NodeJS.ErrnoException) => {
    if (err.code !== 'EPIPE') throw err;
    process.exit(typeof process.exitCode === 'number' ? process.exitCode : 0);
  });
}
