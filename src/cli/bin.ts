import type { WardenPlugin } from '../plugin/plugin.js';
import { runCli } from './main.js';

/**
 * Runs `warden` in this process with the given connectors, setting the exit
 * code. bin/warden.js calls it with connectors/index.ts's list.
 */
export async function main(connectors: readonly WardenPlugin[]): Promise<void> {
  exitQuietlyWhenStdoutCloses(process.stdout);
  process.exitCode = await runCli(process.argv.slice(2), undefined, connectors);
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
