import { existsSync, readFileSync } from 'node:fs';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { renderConfigDocs } from '../../src/config/render-config-docs.js';
import { openPgliteStore } from '../../src/store/pglite-store.js';
import { cli } from '../helpers/run-cli.js';
import { rawSql } from '../helpers/test-stores.js';
import { tempConfigDir } from '../helpers/temp-config.js';

describe('warden keys and audit (CLI opening the embedded store itself)', () => {
  it('mints, lists and revokes keys, and the audit log verifies, then fails where it was tampered with', async () => {
    const { dir, configFile } = tempConfigDir();
    const created = await cli('--config', configFile, 'keys', 'create', '--tenant', 'acme', '--name', 'okta-workflows');
    expect(created.code).toBe(0);
    expect(created.out).toMatch(/^wdn_[0-9a-f]{12}_[A-Za-z0-9_-]{43}\n$/);
    expect(created.err).toContain('shown only now');
    const id = created.out.split('_')[1]!;

    const listed = await cli('--config', configFile, 'keys', 'list', '--tenant', 'acme');
    expect(listed.out).toContain(`${id}  okta-workflows  decisions:write`);
    // The whole secret, after `wdn_<id>_`: it may itself hold `_`, so splitting on `_` could give an empty string.
    const secret = created.out.trim().slice(`wdn_${id}_`.length);
    expect(secret).toHaveLength(43);
    expect(listed.out).not.toContain(secret);

    expect((await cli('--config', configFile, 'keys', 'revoke', id)).code).toBe(0);
    const again = await cli('--config', configFile, 'keys', 'revoke', id);
    expect([again.code, again.err]).toEqual([1, `no active API key ${id}\n`]);

    const verified = await cli('--config', configFile, 'audit', 'verify');
    expect(verified.code).toBe(0);
    expect(verified.out).toMatch(/^acme: ok, 2 records, head [0-9a-f]{64}\n$/);

    const exported = await cli('--config', configFile, 'audit', 'export', '--format', 'jsonl');
    const lines = exported.out
      .trim()
      .split('\n')
      .map((l) => JSON.parse(l) as { record: { type: string; actor: { type: string } } });
    expect(lines.map((l) => [l.record.type, l.record.actor.type])).toEqual([
      ['apikey.created', 'cli'],
      ['apikey.revoked', 'cli'],
    ]);
    expect((await cli('--config', configFile, 'audit', 'export', '--since', '1h')).out.trim().split('\n')).toHaveLength(2);
    expect((await cli('--config', configFile, 'audit', 'export', '--format', 'xml')).code).toBe(2);

    // Tamper with the first record, as someone with database access could.
    const store = await openPgliteStore({ dataDir: path.join(dir, 'data'), durability: 'relaxed' });
    const db = rawSql(store);
    await db.exec('ALTER TABLE audit DISABLE TRIGGER audit_append_only');
    await db.query(`UPDATE audit SET record = replace(record, 'okta-workflows', 'harmless') WHERE seq = 1`);
    const [row] = await store.readAudit('acme', 0, 1);
    await store.close();

    const broken = await cli('--config', configFile, 'audit', 'verify');
    expect(broken.code).toBe(1);
    expect(broken.out).toMatch(
      new RegExp(
        `^acme: FAILED at record 1 \\(${row!.id}\\): hash mismatch: stored ${row!.hash.slice(0, 12)}…, recomputed [0-9a-f]{12}… \\(record content changed\\)\n$`,
      ),
    );
    const json = await cli('--config', configFile, 'audit', 'verify', '--json');
    expect(JSON.parse(json.out)).toEqual([expect.objectContaining({ tenant: 'acme', ok: false, break: expect.objectContaining({ seq: 1 }) })]);
  }, 120_000); // ten CLI processes, each opening the embedded store: ~15 s alone, over 30 s on a loaded 2-core machine

  it('refuses a tenant that is not configured (exit 2)', async () => {
    const { configFile } = tempConfigDir();
    const r = await cli('--config', configFile, 'keys', 'create', '--tenant', 'globex');
    expect(r.code).toBe(2);
    expect(r.err).toContain('tenant "globex" is not in');
  });
});

describe('warden holds', () => {
  it('lists unreleased holds and releases one, with a reason', async () => {
    const { dir, configFile } = tempConfigDir();
    const store = await openPgliteStore({ dataDir: path.join(dir, 'data'), durability: 'relaxed' });
    await store.ensureTenants(['acme']);
    const { decideChange } = await import('../../src/engine/decide-change.js');
    const { examplePolicy } = await import('../helpers/policies.js');
    const { makeChange } = await import('../helpers/changes.js');
    const { decision } = await decideChange(
      { store, policies: { get: examplePolicy } },
      { change: makeChange(), actor: { type: 'idp', id: 'okta' }, observed: true },
    );
    await store.close();

    const listed = await cli('--config', configFile, 'holds', 'list', '--tenant', 'acme');
    expect(listed.out).toMatch(
      new RegExp(`^${decision.id}  HOLD  .*factor\\.reset_all on alice@example\\.com by agent@example\\.com  \\[assisted-reset-standard\\]\\n$`),
    );
    expect((await cli('--config', configFile, 'holds', 'release', decision.id, '--tenant', 'acme')).code).toBe(2); // --reason is required
    const released = await cli('--config', configFile, 'holds', 'release', decision.id, '--tenant', 'acme', '--reason', 'REQ-9 approved');
    expect([released.code, released.out]).toEqual([0, `released ${decision.id}: nothing to undo; cancelled 3 pending action(s)\n`]);
    expect((await cli('--config', configFile, 'holds', 'list', '--tenant', 'acme')).out).toBe('no unreleased holds in tenant acme\n');
    expect((await cli('--config', configFile, 'holds', 'release', decision.id, '--tenant', 'acme', '--reason', 'again')).out).toMatch(
      /already released at .* by .*@/,
    );
  }, 120_000); // five CLI processes, each opening the embedded store: timed out at 30 s beside another suite (load 8)
});

describe('warden init', () => {
  it('writes a working example that checks and tests clean, and will not overwrite it', async () => {
    const { dir } = tempConfigDir();
    const target = path.join(dir, 'fresh');
    const r = await cli('init', target, '--tenant', 'initech');
    expect(r.code).toBe(0);
    for (const f of ['warden.yaml', 'policies/initech.yaml', 'examples/changes/helpdesk-factor-reset.json'])
      expect(existsSync(path.join(target, f))).toBe(true);
    expect(readFileSync(path.join(target, 'policies/initech.yaml'), 'utf8')).toMatch(/^tenant: initech$/m);
    expect((await cli('policy', 'check', path.join(target, 'policies/initech.yaml'))).code).toBe(0);
    const tested = await cli('policy', 'test', path.join(target, 'cases'));
    expect(tested.code).toBe(0);
    expect(tested.out).toMatch(/[3-9]\d passed, 0 failed/);
    expect((await cli('--config', path.join(target, 'warden.yaml'), 'config', 'check')).code).toBe(0);
    const again = await cli('init', target, '--tenant', 'initech');
    expect(again.code).toBe(2);
    expect(again.err).toContain('would overwrite');
    expect((await cli('init', target, '--tenant', 'initech', '--force')).code).toBe(0);
    expect((await cli('init', target, '--tenant', 'Not Valid')).code).toBe(2);
  });

  it('keeps the foreign tenant of the example cases foreign when the new tenant has its name, and points its comments at the files it wrote', async () => {
    const { dir } = tempConfigDir();
    const target = path.join(dir, 'globex');
    expect((await cli('init', target, '--tenant', 'globex')).code).toBe(0);
    const tested = await cli('policy', 'test', path.join(target, 'cases'));
    expect(tested.out).toMatch(/\d+ passed, 0 failed/);
    expect(tested.code).toBe(0);
    const cases = readFileSync(path.join(target, 'cases/assisted-resets.yaml'), 'utf8');
    expect(cases).toMatch(/^ {6}tenant: initech$/m);
    expect(cases).toContain('reason: belongs to tenant initech');
    const policy = readFileSync(path.join(target, 'policies/globex.yaml'), 'utf8');
    expect(policy).not.toContain('examples/policies/acme.yaml');
    expect(policy).toContain('policy check policies/globex.yaml');
    expect(policy).toContain('policy test cases\n');
  });
});

describe('warden config', () => {
  it('checks the quickstart config', async () => {
    const r = await cli('config', 'check');
    expect(r.code).toBe(0);
    expect(r.out).toMatch(/warden\.yaml: ok\n/);
    expect(r.out).toContain('tenant  acme');
  });

  it('prints the configuration reference', async () => {
    expect((await cli('config', 'docs')).out).toBe(renderConfigDocs());
  });

  it('says where the config file should be (exit 2)', async () => {
    const r = await cli('--config', '/nonexistent/warden.yaml', 'audit', 'verify');
    expect(r.code).toBe(2);
    expect(r.err).toContain('no config file at /nonexistent/warden.yaml');
  });
});

describe('warden --help', () => {
  const commands = [
    [],
    ['serve'],
    ['init'],
    ['policy'],
    ['policy', 'check'],
    ['policy', 'explain'],
    ['policy', 'test'],
    ['audit'],
    ['audit', 'verify'],
    ['audit', 'export'],
    ['keys'],
    ['keys', 'create'],
    ['keys', 'list'],
    ['keys', 'revoke'],
    ['holds'],
    ['holds', 'list'],
    ['holds', 'release'],
    ['config'],
    ['config', 'check'],
    ['config', 'docs'],
  ];
  for (const command of commands)
    it(`documents \`warden ${command.join(' ')}\``, async () => {
      const r = await cli(...command, '--help');
      expect(r.code).toBe(0);
      expect(r.out).toMatch(/^Usage: warden/);
    });

  it('exits 2 on an unknown command or a missing argument', async () => {
    expect((await cli('frobnicate')).code).toBe(2);
    expect((await cli('policy', 'check')).code).toBe(2);
    expect((await cli()).code).toBe(2);
  });

  it('prints its version', async () => {
    const r = await cli('--version');
    expect([r.code, r.out.trim()]).toEqual([0, (JSON.parse(readFileSync(path.join(__dirname, '../../package.json'), 'utf8')) as { version: string }).version]);
  });
});
