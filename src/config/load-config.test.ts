import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { inspect } from 'node:util';
import { describe, expect, it } from 'vitest';
import { isWardenError } from '../core/errors.js';
import { configPath, loadConfig, Secret } from './load-config.js';

function configDir(yaml: string): string {
  const dir = mkdtempSync(path.join(tmpdir(), 'warden-config-'));
  writeFileSync(path.join(dir, 'warden.yaml'), yaml);
  return dir;
}

const MINIMAL = 'tenants:\n  - id: acme\n    policy: policies/acme.yaml\n';

function errorOf(fn: () => unknown): string {
  try {
    fn();
  } catch (err) {
    if (isWardenError(err, 'ERR_CONFIG_INVALID')) return err.message;
    throw err;
  }
  throw new Error('no error');
}

describe('loadConfig', () => {
  it('applies defaults and resolves paths against the config file', () => {
    const dir = configDir(MINIMAL);
    const cfg = loadConfig({ cwd: dir, env: {} });
    expect(cfg.file).toBe(path.join(dir, 'warden.yaml'));
    expect(cfg.listen).toEqual({ host: '127.0.0.1', port: 8080 });
    expect(cfg.store).toEqual({ driver: 'pglite', dataDir: path.join(dir, '.warden'), durability: 'full' });
    expect(cfg.tenants[0]).toMatchObject({ id: 'acme', policyFile: path.join(dir, 'policies', 'acme.yaml') });
    expect(cfg.logLevel).toBe('info');
    expect(Object.isFrozen(cfg)).toBe(true);
  });

  it('honours PORT, DATABASE_URL, WARDEN_DATA_DIR, LOG_LEVEL and WARDEN_CONFIG', () => {
    const dir = configDir(MINIMAL);
    const elsewhere = mkdtempSync(path.join(tmpdir(), 'warden-cwd-'));
    const cfg = loadConfig({
      cwd: elsewhere,
      env: { WARDEN_CONFIG: path.join(dir, 'warden.yaml'), PORT: '9090', LOG_LEVEL: 'debug', WARDEN_DATA_DIR: 'data' },
    });
    expect(cfg.listen.port).toBe(9090);
    expect(cfg.logLevel).toBe('debug');
    expect(cfg.store).toMatchObject({ driver: 'pglite', dataDir: path.join(elsewhere, 'data') });
    const pg = loadConfig({ cwd: dir, env: { DATABASE_URL: 'postgres://u:secret@db:5432/warden' } });
    expect(pg.store.driver).toBe('postgres');
    expect(pg.store.driver === 'postgres' && pg.store.url.reveal()).toBe('postgres://u:secret@db:5432/warden');
    expect(JSON.stringify(pg)).not.toContain('secret@');
  });

  it('takes --config over WARDEN_CONFIG over ./warden.yaml', () => {
    expect(configPath({ cwd: '/w', env: {} })).toBe('/w/warden.yaml');
    expect(configPath({ cwd: '/w', env: { WARDEN_CONFIG: 'x.yaml' } })).toBe('/w/x.yaml');
    expect(configPath({ cwd: '/w', env: { WARDEN_CONFIG: 'x.yaml' }, path: '/etc/warden.yaml' })).toBe('/etc/warden.yaml');
  });

  it('says how to get a config file when there is none', () => {
    expect(errorOf(() => loadConfig({ cwd: mkdtempSync(path.join(tmpdir(), 'warden-none-')), env: {} }))).toMatch(/no config file at .*warden init/);
  });

  it('names file:line:column of a bad value', () => {
    const dir = configDir('listen:\n  port: http\n' + MINIMAL);
    expect(errorOf(() => loadConfig({ cwd: dir, env: {} }))).toContain(`${path.join(dir, 'warden.yaml')}:2:9: listen.port:`);
  });

  it('keeps raw payloads, own changes and sent events 30 days by default, and refuses less than a day', () => {
    const day = 86_400_000;
    const month = { notMeLinksMs: 30 * day, ssfSetsMs: 30 * day, ssfReceivedMs: 30 * day };
    expect(loadConfig({ cwd: configDir(MINIMAL), env: {} }).retention).toEqual({ inboxMs: 30 * day, ownChangesMs: 30 * day, eventsMs: 30 * day, ...month });
    expect(loadConfig({ cwd: configDir('retention:\n  inbox: 7d\n  events: 90d\n  ssfSets: 2d\n' + MINIMAL), env: {} }).retention).toEqual({
      inboxMs: 7 * day,
      ownChangesMs: 30 * day,
      eventsMs: 90 * day,
      ...month,
      ssfSetsMs: 2 * day,
    });
    // A received SET's jti must outlive the longest SSF maxAgeSeconds (7 days), or a replay could pass.
    expect(errorOf(() => loadConfig({ cwd: configDir('retention:\n  ssfReceived: 7d\n' + MINIMAL), env: {} }))).toMatch(/retention\.ssfReceived: at least 8d/);
    expect(errorOf(() => loadConfig({ cwd: configDir('retention:\n  ownChanges: 12h\n' + MINIMAL), env: {} }))).toMatch(
      /:2:15: retention\.ownChanges: at least 1d/,
    );
    expect(errorOf(() => loadConfig({ cwd: configDir('retention:\n  inbox: forever\n' + MINIMAL), env: {} }))).toMatch(/retention\.inbox: a duration/);
  });

  it('gives up after 10 inbox and 8 outbox attempts by default, or as many as `retries` says', () => {
    expect(loadConfig({ cwd: configDir(MINIMAL), env: {} }).retries).toEqual({ inbox: 10, outbox: 8 });
    expect(loadConfig({ cwd: configDir('retries:\n  outbox: 3\n' + MINIMAL), env: {} }).retries).toEqual({ inbox: 10, outbox: 3 });
    expect(errorOf(() => loadConfig({ cwd: configDir('retries:\n  inbox: 0\n' + MINIMAL), env: {} }))).toMatch(/retries\.inbox/);
  });

  it('refuses unknown keys, duplicate tenants and no tenants', () => {
    expect(errorOf(() => loadConfig({ cwd: configDir('lisen: {}\n' + MINIMAL), env: {} }))).toMatch(/Unrecognized key.*lisen/);
    expect(errorOf(() => loadConfig({ cwd: configDir(MINIMAL + '  - id: acme\n    policy: other.yaml\n'), env: {} }))).toMatch(
      /:4:9: tenants\.1\.id: tenant "acme" is configured twice/,
    );
    expect(errorOf(() => loadConfig({ cwd: configDir('tenants: []\n'), env: {} }))).toMatch(/at least one tenant/);
  });

  it('refuses a database password written in the file', () => {
    expect(errorOf(() => loadConfig({ cwd: configDir('database:\n  url: postgres://u:pw@db/w\n' + MINIMAL), env: {} }))).toMatch(/holds a password/);
    expect(loadConfig({ cwd: configDir('database:\n  url: postgres://u@db/w\n' + MINIMAL), env: {} }).store.driver).toBe('postgres');
  });

  it('resolves secrets from the environment and from files, and refuses a missing one', () => {
    const dir = configDir('tenants:\n  - id: acme\n    policy: p.yaml\n    secrets:\n      hook: { env: ACME_HOOK }\n      token: { file: token.txt }\n');
    writeFileSync(path.join(dir, 'token.txt'), 'ssws-token\n');
    const cfg = loadConfig({ cwd: dir, env: { ACME_HOOK: 'hook-secret' }, resolveSecrets: true });
    expect(cfg.tenants[0]!.secrets.hook!.reveal()).toBe('hook-secret');
    expect(cfg.tenants[0]!.secrets.token!.reveal()).toBe('ssws-token');
    expect(errorOf(() => loadConfig({ cwd: dir, env: {}, resolveSecrets: true }))).toMatch(
      /tenant acme secret hook: environment variable ACME_HOOK is not set/,
    );
    // The CLI does not need tenant secrets and does not resolve them.
    expect(loadConfig({ cwd: dir, env: {} }).tenants[0]!.secrets).toEqual({});
  });

  it('refuses a PORT that is not a port', () => {
    expect(errorOf(() => loadConfig({ cwd: configDir(MINIMAL), env: { PORT: 'eighty' } }))).toMatch(/PORT=eighty/);
  });
});

describe('Secret', () => {
  it('never prints its value', () => {
    const s = new Secret('hunter2');
    expect([JSON.stringify({ s }), String(s), `${s}`, inspect(s)].join(' ')).not.toContain('hunter2');
    expect(s.reveal()).toBe('hunter2');
  });
});
