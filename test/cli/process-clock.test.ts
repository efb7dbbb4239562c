import { spawn } from 'node:child_process';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { loadConfig } from '../../src/config/load-config.js';
import { CLOCK_START_ENV } from '../../src/core/clock.js';
import { openStore } from '../../src/store/open-store.js';
import { tempConfigDir } from '../helpers/temp-config.js';
import { useWardenProcess, wardenEnv, wardenNodeArgs } from '../helpers/warden-process.js';

useWardenProcess();

/**
 * The test-only process clock (`WARDEN_CLOCK_START`, docs/operations.md):
 * a spawned `warden` reads the time from the instant it names, so suites
 * that spawn processes (this one, the fault suite) run them on their
 * simulated date, never on the machine's.
 */

function warden(configFile: string, args: string[], clockStart: string): Promise<{ code: number | null; out: string; err: string }> {
  const child = spawn(process.execPath, wardenNodeArgs('--config', configFile, ...args), {
    cwd: path.dirname(configFile),
    env: { ...process.env, ...wardenEnv(), LOG_LEVEL: 'warn', [CLOCK_START_ENV]: clockStart },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let out = '';
  let err = '';
  child.stdout.on('data', (d: Buffer) => (out += d.toString()));
  child.stderr.on('data', (d: Buffer) => (err += d.toString()));
  return new Promise((resolve) => child.on('exit', (code) => resolve({ code, out, err })));
}

describe(`${CLOCK_START_ENV}: the clock of a spawned warden`, () => {
  it('dates what the process records from the instant it names', async () => {
    const { configFile } = tempConfigDir();
    const created = await warden(configFile, ['keys', 'create', '--tenant', 'acme', '--name', 'clocked', '--json'], '2031-01-02T03:04:05Z');
    expect(created.err).toBe('');
    expect(created.code).toBe(0);
    const store = await openStore(loadConfig({ path: configFile }).store, 'test');
    const [key] = await store.listApiKeys('acme').finally(() => store.close());
    expect(key!.name).toBe('clocked');
    // The clock ticks from the start at the real rate: seconds later, never the machine's date.
    expect(key!.createdAt.slice(0, 15)).toBe('2031-01-02T03:0');
  }, 120_000);
});
