/**
 * The short-lived process that creates a new embedded store (see pglite-init.ts): forked with
 * `<dataDir> <durability> <command>`, reports an InitResult over IPC and exits.
 */
import { isWardenError } from '../core/errors.js';
import type { PgliteDurability } from './pglite-cluster.js';
import { type InitResult, initDataDir } from './pglite-init.js';

const [dataDir, durability, command] = process.argv.slice(2) as [string, PgliteDurability, string];

function report(result: InitResult): void {
  if (!process.send) {
    process.stderr.write(`${JSON.stringify(result)}\n`);
    process.exitCode = result.ok ? 0 : 1;
    return;
  }
  process.send(result, () => {
    process.exitCode = result.ok ? 0 : 1;
    if (process.connected) process.disconnect();
  });
}

try {
  const done = await initDataDir(dataDir, durability, command);
  report({ ok: true, pid: process.pid, ...done });
} catch (err) {
  const wardenError = isWardenError(err) ? err : undefined;
  report({
    ok: false,
    pid: process.pid,
    code: wardenError?.code ?? 'ERR_STORE',
    message: wardenError?.message ?? `cannot open the embedded store in ${dataDir}: ${(err as Error).message}`,
    details: wardenError?.details,
  });
}
