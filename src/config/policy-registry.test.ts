import { mkdtempSync, readFileSync, renameSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterEach, describe, expect, it, vi } from 'vitest';
import { isWardenError } from '../core/errors.js';
import { PolicyRegistry, type ReloadResult } from './policy-registry.js';

const GOOD = (outcome = 'hold') =>
  `apiVersion: warden/v1\ntenant: acme\nmode: enforce\nrules:\n  - id: r\n    when: 'change.channel == "helpdesk"'\n    outcome: ${outcome}\n`;
const BAD = `apiVersion: warden/v1\ntenant: acme\nrules:\n  - id: r\n    when: 'change.channel =='\n    outcome: hold\n`;

function setup(text = GOOD()) {
  const dir = mkdtempSync(path.join(tmpdir(), 'warden-policies-'));
  const file = path.join(dir, 'acme.yaml');
  writeFileSync(file, text);
  return { dir, file, registry: new PolicyRegistry([{ id: 'acme', policyFile: file }]) };
}

let registries: PolicyRegistry[] = [];
afterEach(() => {
  for (const r of registries) r.close();
  registries = [];
});

describe('PolicyRegistry', () => {
  it('loads every tenant at start and refuses to start with a bad one, naming file:line:column', () => {
    const { registry } = setup();
    expect(registry.get('acme').rules.map((r) => r.id)).toEqual(['r']);
    try {
      setup(BAD);
      expect.unreachable();
    } catch (err) {
      expect(isWardenError(err, 'ERR_POLICY_INVALID')).toBe(true);
      expect((err as Error).message).toMatch(/acme\.yaml:5:\d+: rules\[0\]\.when: CEL syntax error: .*\[rule r\]/);
    }
  });

  it('refuses a policy written for another tenant', () => {
    expect(() => setup(GOOD().replace('tenant: acme', 'tenant: globex'))).toThrow(/for tenant "globex", but it is configured for tenant "acme"/);
  });

  it('swaps in a valid new version on reload', () => {
    const { file, registry } = setup();
    const before = registry.get('acme').version;
    expect(registry.reload('acme')).toMatchObject({ status: 'unchanged' });
    writeFileSync(file, GOOD('deny'));
    const result = registry.reload('acme');
    expect(result).toMatchObject({ status: 'loaded', previous: before });
    expect(registry.get('acme').rules[0]!.outcome).toBe('deny');
  });

  it('keeps the last good policy when the new file is invalid, and says why', () => {
    const { file, registry } = setup();
    const good = registry.get('acme');
    writeFileSync(file, BAD);
    const result = registry.reload('acme') as Extract<ReloadResult, { status: 'rejected' }>;
    expect(result.status).toBe('rejected');
    expect(result.kept).toBe(good.version);
    expect(result.issues[0]).toMatchObject({ line: 5, ruleId: 'r', kind: 'cel' });
    expect(registry.get('acme')).toBe(good);
  });

  it('keeps the last good policy when the file disappears', () => {
    const { file, registry } = setup();
    const good = registry.get('acme');
    renameSync(file, file + '.bak');
    expect(registry.reload('acme').status).toBe('rejected');
    expect(registry.get('acme')).toBe(good);
  });

  it('reloads by itself when the file changes, also when an editor saves by rename', async () => {
    const { dir, file, registry } = setup();
    registries.push(registry);
    const seen: ReloadResult[] = [];
    registry.watch((r) => seen.push(r), 20);
    writeFileSync(file, GOOD('deny'));
    await vi.waitFor(() => expect(seen.map((r) => r.status)).toContain('loaded'), { timeout: 5000, interval: 20 });
    expect(registry.get('acme').rules[0]!.outcome).toBe('deny');

    const tmp = path.join(dir, '.acme.yaml.swp');
    writeFileSync(tmp, BAD);
    renameSync(tmp, file);
    await vi.waitFor(() => expect(seen.map((r) => r.status)).toContain('rejected'), { timeout: 5000, interval: 20 });
    expect(registry.get('acme').rules[0]!.outcome).toBe('deny');
    expect(readFileSync(file, 'utf8')).toBe(BAD);
  });

  it('says for the console which version is in force, since when, and how the last reload went, with its load errors', () => {
    const dir = mkdtempSync(path.join(tmpdir(), 'warden-policies-'));
    const file = path.join(dir, 'acme.yaml');
    writeFileSync(file, GOOD());
    let now = new Date('2026-03-02T09:00:00.000Z');
    const registry = new PolicyRegistry([{ id: 'acme', policyFile: file }], () => now);
    const first = registry.status('acme');
    expect(first).toEqual({ tenant: 'acme', file, version: registry.get('acme').version, mode: 'enforce', rules: 1, loadedAt: '2026-03-02T09:00:00.000Z' });
    now = new Date('2026-03-02T10:00:00.000Z');
    writeFileSync(file, BAD);
    registry.reload('acme');
    const rejected = registry.status('acme');
    expect(rejected).toMatchObject({
      version: first.version,
      loadedAt: '2026-03-02T09:00:00.000Z',
      lastReload: { at: '2026-03-02T10:00:00.000Z', status: 'rejected' },
    });
    expect(rejected.lastReload?.issues?.[0]).toMatchObject({ file, line: 5 });
    now = new Date('2026-03-02T11:00:00.000Z');
    writeFileSync(file, GOOD('deny'));
    registry.reload('acme');
    expect(registry.status('acme')).toMatchObject({ loadedAt: '2026-03-02T11:00:00.000Z', lastReload: { at: '2026-03-02T11:00:00.000Z', status: 'loaded' } });
    expect(registry.status('acme').version).not.toBe(first.version);
    expect(registry.status('acme').lastReload).not.toHaveProperty('issues');
  });

  it('gives no times without a clock (the CLI reads no time it was not given)', () => {
    const { registry } = setup();
    registry.reload('acme');
    expect(registry.status('acme')).not.toHaveProperty('loadedAt');
    expect(registry.status('acme').lastReload).toEqual({ status: 'unchanged' });
  });

  it('throws ERR_TENANT_UNKNOWN for a tenant it does not have', () => {
    const { registry } = setup();
    expect(() => registry.get('globex')).toThrow(/unknown tenant "globex"/);
    expect(registry.has('globex')).toBe(false);
  });
});
