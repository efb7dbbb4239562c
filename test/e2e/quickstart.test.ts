import { spawn, type ChildProcess } from 'node:child_process';
import { existsSync, readFileSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { packageRoot } from '../../src/package-root.js';
import { tempConfigDir } from '../helpers/temp-config.js';
import { useWardenProcess, wardenEnv, wardenNodeArgs } from '../helpers/warden-process.js';

useWardenProcess();

/**
 * The README's promise, end to end with real processes: `warden serve
 * --quickstart` serves, the printed curl gets a decision with reasons, and
 * `warden audit verify` passes while the server runs (through its admin
 * socket) and after it stops.
 */
const root = packageRoot();
const { dir, configFile, policyFile } = tempConfigDir();
const children: ChildProcess[] = [];

function warden(args: string[]): ChildProcess {
  const child = spawn(process.execPath, wardenNodeArgs('--config', configFile, ...args), {
    cwd: dir,
    env: { ...process.env, ...wardenEnv(), LOG_LEVEL: 'warn' },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  children.push(child);
  return child;
}

async function run(args: string[]): Promise<{ code: number | null; out: string; err: string }> {
  const child = warden(args);
  let out = '';
  let err = '';
  child.stdout!.on('data', (d: Buffer) => (out += d.toString()));
  child.stderr!.on('data', (d: Buffer) => (err += d.toString()));
  const code = await new Promise<number | null>((resolve) => child.on('exit', resolve));
  return { code, out, err };
}

afterAll(() => {
  for (const c of children) if (c.exitCode === null) c.kill('SIGKILL');
});

describe('quickstart, as the README shows it', () => {
  it('serves, decides the example change, verifies the audit trail, and stops cleanly', async () => {
    const server = warden(['serve', '--quickstart']);
    let banner = '';
    let logs = '';
    server.stdout!.on('data', (d: Buffer) => (banner += d.toString()));
    server.stderr!.on('data', (d: Buffer) => (logs += d.toString()));
    const exited = new Promise<number | null>((resolve) => server.on('exit', resolve));
    const url = await new Promise<string>((resolve, reject) => {
      const timer = setTimeout(() => reject(new Error(`no banner in time:\n${banner}`)), 90_000);
      server.stdout!.on('data', () => {
        const m = /Decisions {2}POST (http:\/\/127\.0\.0\.1:\d+)\/v1\/decisions/.exec(banner);
        if (m && banner.includes('Ctrl-C stops.')) {
          clearTimeout(timer);
          resolve(m[1]!);
        }
      });
    });
    expect(banner).toContain('tenant acme: policies/acme.yaml (enforce mode');
    const keyFile = /\$\(cat ([^)]+)\)/.exec(banner)![1]!;
    const key = readFileSync(path.join(dir, keyFile), 'utf8').trim();

    const res = await fetch(`${url}/v1/decisions`, {
      method: 'POST',
      headers: { authorization: `Bearer ${key}`, 'content-type': 'application/json' },
      body: readFileSync(path.join(root, 'examples', 'changes', 'helpdesk-factor-reset.json')),
    });
    const decision = (await res.json()) as { outcome: string; rules: Array<{ id: string; reason: string }> };
    expect(res.status).toBe(200);
    expect(decision.outcome).toBe('hold');
    expect(decision.rules[0]!.reason).toContain('no approved change request covers this change');

    const whileRunning = await run(['audit', 'verify']);
    expect(whileRunning.code).toBe(0);
    expect(whileRunning.out).toMatch(/^acme: ok, 3 records, head [0-9a-f]{64}\n$/);

    // A broken policy written while the server runs is refused (SIGHUP or the file watcher) and the old one keeps deciding.
    const good = readFileSync(policyFile, 'utf8');
    writeFileSync(policyFile, good.replace('when: \'change.kind == "mfa.bypass"\'', "when: 'change.kind == '"));
    server.kill('SIGHUP');
    await new Promise<void>((resolve, reject) => {
      const timer = setTimeout(() => reject(new Error(`no refusal logged:\n${banner}${logs}`)), 10_000);
      const check = setInterval(() => {
        if (/policy change refused/.test(banner + logs)) {
          clearTimeout(timer);
          clearInterval(check);
          resolve();
        }
      }, 50);
    });
    expect(banner + logs).toMatch(/policies\/acme\.yaml:\d+:\d+: rules\[\d+\]\.when: CEL syntax error/);
    const still = await fetch(`${url}/v1/decisions`, {
      method: 'POST',
      headers: { authorization: `Bearer ${key}`, 'content-type': 'application/json' },
      body: readFileSync(path.join(root, 'examples', 'changes', 'helpdesk-factor-reset.json')),
    });
    expect(((await still.json()) as { outcome: string }).outcome).toBe('hold');

    server.kill('SIGTERM');
    expect(await exited).toBe(0);
    expect(existsSync(path.join(dir, 'data', 'warden.lock'))).toBe(false);

    const afterwards = await run(['audit', 'verify']);
    expect(afterwards.code).toBe(0);
    expect(afterwards.out).toMatch(/^acme: ok, 4 records, head [0-9a-f]{64}\n$/);
  }, 150_000);
});
