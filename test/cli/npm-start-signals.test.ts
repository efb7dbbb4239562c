import { spawn } from 'node:child_process';
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { packageRoot } from '../../src/package-root.js';
import { readLock } from '../../src/store/data-dir-lock.js';
import { tempConfigDir } from '../helpers/temp-config.js';
import { useWardenProcess, wardenEnv } from '../helpers/warden-process.js';

useWardenProcess();

const root = packageRoot();
const alive = (pid: number) => {
  try {
    process.kill(pid, 0);
    return true;
  } catch {
    return false;
  }
};

/** Resolves when `check` holds, polling on the event loop; rejects after `limitMs` so a failure is reported, not hung. */
async function until<T>(check: () => T | undefined, limitMs: number, what: string): Promise<T> {
  for (const started = performance.now(); ; ) {
    const value = check();
    if (value !== undefined) return value;
    if (performance.now() - started > limitMs) throw new Error(`timed out waiting for ${what}`);
    await new Promise((resolve) => setTimeout(resolve, 100));
  }
}

describe('npm start', () => {
  it('stops the server when the npm process is sent SIGTERM (the shell execs node, npm forwards the signal)', async () => {
    const start = (JSON.parse(readFileSync(path.join(root, 'package.json'), 'utf8')) as { scripts: { start: string } }).scripts.start;
    const [build, run] = start.split(' && ');
    expect(build).toBe('npm run build --silent');
    // The start script without its build step (the test helper has built dist/ already), run as npm runs a script: npm → sh -c → …
    const { dir, configFile } = tempConfigDir();
    const npm = spawn('npm', ['exec', '--no', '-c', run!], {
      cwd: root,
      env: { ...process.env, WARDEN_CONFIG: configFile, ...wardenEnv() },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let out = '';
    npm.stdout.setEncoding('utf8').on('data', (c: string) => (out += c));
    npm.stderr.resume();
    const npmExited = new Promise<void>((resolve) => npm.on('exit', () => resolve()));
    let server: number | undefined;
    try {
      await until(() => (out.includes('Warden is running') ? true : undefined), 200_000, 'the server to start');
      server = readLock(path.join(dir, 'data'))!.pid;
      expect(server).not.toBe(npm.pid);
      npm.kill('SIGTERM');
      await npmExited;
      await until(() => (alive(server!) ? undefined : true), 30_000, `the server (pid ${server}) to stop after npm was sent SIGTERM`);
    } finally {
      if (server && alive(server)) process.kill(server, 'SIGKILL');
      if (npm.exitCode === null) npm.kill('SIGKILL');
    }
  }, 300_000);
});
