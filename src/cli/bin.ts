import type { WardenPlugin } from '../plugin/plugin.js';
import { runCli } from './main.js';

/**
 * Runs `warden` in this process with the given connectors, setting the exit
 * code. bin/warden.js calls it with connectors/index.ts's list.
 */
export async function main(connectors: readonly WardenPlugin[]): Promise<void> {
  process.exitCode = await runCli(process.argv.slice(2), undefined, connectors);
}
