import { readFileSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { loadConfig, type WardenConfig } from '../../src/config/load-config.js';
import { isWardenError } from '../../src/core/errors.js';
import { createLogger } from '../../src/runtime/logger.js';
import { startServer, type RunningServer } from '../../src/app/start-server.js';
import { readLock } from '../../src/store/data-dir-lock.js';
import { runStoreOperation } from '../../src/cli/store-operation.js';
import { operationRegistry } from '../../src/admin/operations.js';

const registry = operationRegistry();
import { packageRoot } from '../../src/package-root.js';
import { tempConfigDir } from '../helpers/temp-config.js';

const BODY = readFileSync(path.join(packageRoot(), 'examples', 'changes', 'helpdesk-factor-reset.json'), 'utf8');

function capture() {
  const out: string[] = [];
  const err: string[] = [];
  return { io: { out: (s: string) => void out.push(s), err: (s: string) => void err.push(s) }, out, err, text: () => out.join('') };
}

let server: RunningServer;
let config: WardenConfig;
let dirs: ReturnType<typeof tempConfigDir>;

beforeAll(async () => {
  dirs = tempConfigDir();
  config = loadConfig({ path: dirs.configFile, env: {}, resolveSecrets: true });
  server = await startServer({ config, log: createLogger('silent'), watchPolicies: false });
});
afterAll(() => server?.close());

async function decide(key: string) {
  return fetch(`${server.url}/v1/decisions`, { method: 'POST', headers: { 'content-type': 'application/json', authorization: `Bearer ${key}` }, body: BODY });
}

describe('startServer', () => {
  it('serves, is ready, and audits the policy it loaded', async () => {
    expect((await fetch(`${server.url}/readyz`)).status).toBe(200);
    const records = (await server.store.readAudit('acme', 0, 10)).map((r) => JSON.parse(r.record));
    expect(records[0]).toMatchObject({ type: 'policy.loaded', subject: { policyVersion: server.policies.get('acme').version } });
  });

  it('holds the embedded store: a second process (or server) is refused, naming the holder', async () => {
    try {
      await startServer({ config, log: createLogger('silent'), watchPolicies: false });
      expect.unreachable();
    } catch (err) {
      expect(isWardenError(err, 'ERR_STORE_LOCKED')).toBe(true);
      expect((err as Error).message).toContain(`pid ${process.pid}`);
    }
    expect(readLock(config.store.driver === 'pglite' ? config.store.dataDir : '')).toMatchObject({
      pid: process.pid,
      command: 'serve',
      adminSocket: expect.stringContaining('admin.sock'),
    });
  });

  it('runs CLI operations through its admin socket meanwhile: keys work and stop working at once', async () => {
    const created = capture();
    expect(await runStoreOperation(registry, 'keys.create', { tenant: 'acme', name: 'ops', json: true }, dirs.configFile, created.io)).toBe(0);
    const { key, id } = JSON.parse(created.text()) as { key: string; id: string };
    expect((await decide(key)).status).toBe(200);

    const verified = capture();
    expect(await runStoreOperation(registry, 'audit.verify', {}, dirs.configFile, verified.io)).toBe(0);
    expect(verified.text()).toMatch(/^acme: ok, \d+ records, head [0-9a-f]{64}\n$/);

    expect(await runStoreOperation(registry, 'keys.revoke', { id }, dirs.configFile, capture().io)).toBe(0);
    expect((await decide(key)).status).toBe(401);

    const records = (await server.store.readAudit('acme', 0, 100)).map((r) => JSON.parse(r.record));
    expect(records.filter((r) => r.type.startsWith('apikey.')).map((r) => [r.type, r.actor.type])).toEqual([
      ['apikey.created', 'cli'],
      ['apikey.revoked', 'cli'],
    ]);
  });

  it('keeps the last good policy on a bad reload (SIGHUP) and takes a good one, auditing it', async () => {
    const good = server.policies.get('acme').version;
    const text = readFileSync(dirs.policyFile, 'utf8');
    writeFileSync(dirs.policyFile, text.replace('when: \'change.kind == "mfa.bypass"\'', "when: 'change.kind == '"));
    const [rejected] = await server.reload();
    expect(rejected).toMatchObject({ status: 'rejected', kept: good });
    expect(server.policies.get('acme').version).toBe(good);
    const metrics = await (await fetch(`${server.url}/metrics`)).text();
    expect(metrics).toMatch(/warden_policy_reloads_total\{tenant="acme",result="rejected"\} 1/);
    expect(metrics).toContain(`warden_policy_info{tenant="acme",version="${good}",mode="enforce"} 1`);

    writeFileSync(dirs.policyFile, text.replace('mode: enforce', 'mode: monitor'));
    const [loaded] = await server.reload();
    expect(loaded).toMatchObject({ status: 'loaded', previous: good });
    const now = server.policies.get('acme').version;
    const records = (await server.store.readAudit('acme', 0, 100)).map((r) => JSON.parse(r.record)).filter((r) => r.type === 'policy.loaded');
    expect(records.at(-1)).toMatchObject({ subject: { policyVersion: now }, data: { previous: good, mode: 'monitor' } });
  });

  it('releases the store when it stops, so the CLI opens it directly', async () => {
    await server.close();
    expect(readLock(config.store.driver === 'pglite' ? config.store.dataDir : '')).toBeUndefined();
    const verified = capture();
    expect(await runStoreOperation(registry, 'audit.verify', { tenant: 'acme' }, dirs.configFile, verified.io)).toBe(0);
    expect(verified.text()).toMatch(/^acme: ok/);
  });
});
