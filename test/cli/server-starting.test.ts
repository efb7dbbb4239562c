import { mkdirSync, unlinkSync, writeFileSync } from 'node:fs';
import { hostname } from 'node:os';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { LOCK_FILE } from '../../src/store/data-dir-lock.js';
import { cli } from '../helpers/run-cli.js';
import { tempConfigDir } from '../helpers/temp-config.js';

describe('a CLI command while the server is starting', () => {
  it('says the server is starting and waits for it, instead of telling the operator to stop it', async () => {
    const { dir, configFile } = tempConfigDir();
    const dataDir = path.join(dir, 'data');
    mkdirSync(dataDir, { recursive: true });
    // A live server that has taken the store and not yet opened its admin socket (this process stands in for it).
    writeFileSync(
      path.join(dataDir, LOCK_FILE),
      JSON.stringify({ pid: process.pid, hostname: hostname(), startedAt: '2026-03-02T09:00:00.000Z', command: 'serve' }),
    );
    const err: string[] = [];
    const out: string[] = [];
    const { runCli } = await import('../../src/app/cli-main.js');
    const running = runCli(['--config', configFile, 'keys', 'list', '--tenant', 'acme'], { out: (s) => void out.push(s), err: (s) => void err.push(s) });
    for (let i = 0; !err.join('').includes('is starting'); i++) {
      expect(i, 'the command should say the server is starting').toBeLessThan(300);
      await new Promise((resolve) => setTimeout(resolve, 100));
    }
    expect(err.join('')).toContain(`A Warden server (pid ${process.pid}) is starting on ${dataDir}; waiting for it to take commands`);
    expect(err.join('')).not.toContain('stop it');
    // The "server" lets go of the store (here: stops); the command then runs on its own.
    unlinkSync(path.join(dataDir, LOCK_FILE));
    expect(await running).toBe(0);
    expect(out.join('')).toContain('no API keys');
  }, 60_000);

  it('still says "stop it" when another command, not a server, holds the store', async () => {
    const { dir, configFile } = tempConfigDir();
    const dataDir = path.join(dir, 'data');
    mkdirSync(dataDir, { recursive: true });
    writeFileSync(
      path.join(dataDir, LOCK_FILE),
      JSON.stringify({ pid: process.pid, hostname: hostname(), startedAt: '2026-03-02T09:00:00.000Z', command: 'warden audit verify' }),
    );
    const r = await cli('--config', configFile, 'keys', 'list', '--tenant', 'acme');
    expect(r.err).toContain('in use by another Warden process');
    expect(r.err).toContain('Wait for it to finish, or stop it.');
  });
});
