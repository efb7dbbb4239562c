import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { runCli } from '../../src/app/cli-main.js';
import type { Alert } from '../../src/core/alert.js';
import { uuidv7 } from '../../src/core/ids.js';
import { newAlert } from '../../src/detect/alert.js';
import type { Connector } from '../../src/connector/contract.js';
import { openPgliteStore } from '../../src/store/pglite-store.js';
import { fakeConnector } from '../helpers/fake-connector.js';
import { tempConfigDir } from '../helpers/temp-config.js';

async function warden(args: string[], connectors: Connector[] = []) {
  const out: string[] = [];
  const err: string[] = [];
  const code = await runCli(args, { out: (s) => void out.push(s), err: (s) => void err.push(s) }, connectors);
  return { code, out: out.join(''), err: err.join('') };
}

const dir = mkdtempSync(path.join(tmpdir(), 'warden-detect-'));
const T0 = Date.parse('2026-03-02T09:00:00Z');
const iso = (minutes: number) => new Date(T0 + minutes * 60_000).toISOString();

/** A normalized change as `warden detect replay` reads it (what Warden stores and exports). */
function change(kind: string, minutes: number, channel: string, idp: string, eventId: string, target = 'dana.lee@acme.example', actor = target) {
  return {
    id: uuidv7(T0 + minutes * 60_000),
    tenant: 'acme',
    source: { idp, eventIds: [eventId], rawType: kind, via: 'poll' },
    kind,
    channel,
    target: { id: `${idp}-${target}`, login: target },
    actor: { id: `${idp}-${actor}`, login: actor },
    occurredAt: iso(minutes),
    observedAt: iso(minutes + 1),
  };
}

const SEED = [
  change('factor.reset_all', 0, 'helpdesk', 'okta', 'o-1', 'dana.lee@acme.example', 'sam.agent@acme.example'),
  change('factor.enroll', 10, 'self_service', 'okta', 'o-2'),
  change('password.reset', 20, 'self_service', 'entra', 'e-1', 'Dana.Lee@ACME.example'),
  change('mailbox.rule', 120, 'self_service', 'm365', 'm-1'),
];

function file(name: string, text: string): string {
  const f = path.join(dir, name);
  writeFileSync(f, text);
  return f;
}

describe('warden detect test', () => {
  it('runs the shipped rule cases and passes', async () => {
    const r = await warden(['detect', 'test']);
    expect(r.code).toBe(0);
    expect(r.out).toMatch(/\n(\d+) passed, 0 failed\n$/);
    expect(Number(/(\d+) passed/.exec(r.out)![1])).toBeGreaterThanOrEqual(40);
  });

  it('fails (exit 1) on a case whose alerts differ, saying what is missing and what is unexpected', async () => {
    const cases = file(
      'wrong.yaml',
      `cases:
  - description: wrong expectation
    events:
      - { id: a, at: 0m, kind: factor.enroll, target: x@acme.example }
      - { id: b, at: 5m, kind: password.reset, target: x@acme.example }
    want:
      alerts:
        - { rules: [mfa-push-fatigue], changes: [a, b] }
`,
    );
    const r = await warden(['detect', 'test', cases]);
    expect(r.code).toBe(1);
    expect(r.out).toContain('FAIL  wrong expectation');
    expect(r.out).toContain('missing alert: rules [mfa-push-fatigue] with [a, b]');
    expect(r.out).toContain('unexpected alert: rules [factor-change-and-password-reset] on x@acme.example with [a, b] (high)');
    expect(r.out).toContain('0 passed, 1 failed');
  });

  it("tests a tenant's overrides: a case file naming its rules file", async () => {
    file('widen.yaml', 'apiVersion: warden/v1\nkind: DetectionRules\nrules:\n  - { id: factor-change-and-password-reset, window: 2h, severity: critical }\n');
    const cases = file(
      'widened.yaml',
      `rules: widen.yaml
cases:
  - description: 90 minutes apart matches with the tenant's 2-hour window
    events:
      - { id: a, at: 0m, kind: factor.enroll, target: x@acme.example }
      - { id: b, at: 90m, kind: password.reset, target: x@acme.example }
    want:
      alerts: [{ rules: [factor-change-and-password-reset], severity: critical }]
`,
    );
    expect((await warden(['detect', 'test', cases])).code).toBe(0);
  });

  it('refuses a broken rule file with file:line:column and a caret (exit 1)', async () => {
    const rules = file(
      'broken.yaml',
      'apiVersion: warden/v1\nkind: DetectionRules\nrules:\n  - id: mfa-bypass-attempt\n    when: \'change.kind == "mfa.bypas"\'\n',
    );
    const r = await warden(['detect', 'rules', '--rules', rules]);
    expect(r.code).toBe(1);
    expect(r.err).toContain(`${rules}:5:27: when: unknown change.kind "mfa.bypas"`);
    expect(r.err).toMatch(/\n {6}\| {27}\^\n/);
  });
});

describe('warden detect rules', () => {
  it('lists the rules in force with type, severity, window and ATT&CK techniques', async () => {
    const r = await warden(['detect', 'rules']);
    expect(r.code).toBe(0);
    expect(r.out).toMatch(/^helpdesk-takeover-chain +sequence +critical +24h +T1656,T1098\.005,T1114\.003$/m);
    const json = JSON.parse((await warden(['detect', 'rules', '--json'])).out) as { rules: Array<{ id: string; intent: string; falsePositives: string }> };
    expect(json.rules.every((rule) => rule.intent && rule.falsePositives)).toBe(true);
  });
});

describe('warden detect replay', () => {
  it('replays NDJSON normalized changes and prints the alerts as a table', async () => {
    const f = file('seed.ndjson', SEED.map((c) => JSON.stringify(c)).join('\n') + '\n');
    const r = await warden(['detect', 'replay', f]);
    expect(r.code).toBe(0);
    expect(r.out).toMatch(
      /^FIRST CHANGE +SEVERITY +RULE +KEY +CHANGES\n2026-03-02 09:00:00Z +critical +helpdesk-takeover-chain \(\+3\) +dana\.lee@acme\.example +4\n {4}Help-desk takeover chain/,
    );
    expect(r.err).toContain('replayed 4 records from 1 file, 4 changes (4 normalized): 1 alert');
  });

  it('prints JSON with the changes that formed each alert (ids and times)', async () => {
    const f = file('seed.json', JSON.stringify(SEED));
    const r = await warden(['detect', 'replay', '--json', f]);
    const alerts = JSON.parse(r.out) as Alert[];
    expect(alerts).toHaveLength(1);
    expect(alerts[0]!.changes.map((c) => [c.id, c.occurredAt])).toEqual(SEED.map((c) => [c.id, c.occurredAt]));
  });

  it('detects the format per record: vendor records go through the connector that recognizes them', async () => {
    const okta = fakeConnector({ name: 'okta' });
    // Vendor-shaped records of the fake connector ({ id, type, change }) mixed with normalized changes, in a JSON array.
    const vendor = SEED.slice(0, 2).map((c) => ({
      id: c.source.eventIds[0],
      type: c.kind,
      change: { kind: c.kind, channel: c.channel, target: c.target, actor: c.actor, occurredAt: c.occurredAt },
    }));
    const f = file('mixed.json', JSON.stringify([...vendor, ...SEED.slice(2), { id: 'n-1', type: 'noise' }, { something: 'else' }]));
    const r = await warden(['detect', 'replay', '--json', f], [okta.connector]);
    const [alert] = JSON.parse(r.out) as Alert[];
    expect(alert!.changes.map((c) => [c.idp, c.eventIds[0]])).toEqual([
      ['okta', 'o-1'],
      ['okta', 'o-2'],
      ['entra', 'e-1'],
      ['m365', 'm-1'],
    ]);
    expect(r.err).toContain('6 records from 1 file, 4 changes (2 via okta, 2 normalized), 1 not governed (ignored by okta), 1 UNRECOGNIZED: 1 alert');
    expect(r.err).toContain(`${f}:6: not a normalized change, and no connector recognizes it`);
    expect(r.code).toBe(1);
  });

  it('says loudly when no connector can read vendor records', async () => {
    const f = file('okta-only.ndjson', JSON.stringify({ uuid: 'x', eventType: 'user.mfa.factor.reset_all', published: iso(0) }) + '\n');
    const r = await warden(['detect', 'replay', f]);
    expect(r.code).toBe(1);
    expect(r.err).toContain('No connector with a record normalizer is installed');
  });

  it('reports invalid lines and changes with file and line, and keeps going', async () => {
    const { occurredAt: _o, ...noTime } = SEED[1]!;
    const f = file('bad.ndjson', [JSON.stringify(SEED[0]), '{not json', JSON.stringify(noTime), JSON.stringify({ ...SEED[1], channel: 'phone' })].join('\n'));
    const r = await warden(['detect', 'replay', f]);
    expect(r.code).toBe(1);
    expect(r.err).toContain(`${f}:2: not JSON`);
    expect(r.err).toContain(`${f}:3: a change needs occurredAt`);
    expect(r.err).toContain(`${f}:4: not a valid IdentityChange: channel`);
  });

  it('counts duplicates once, and with --flush lets absence windows pass', async () => {
    const removed = change('factor.remove', 0, 'self_service', 'okta', 'o-9', 'lee@acme.example');
    const f = file('absence.ndjson', [removed, removed].map((c) => JSON.stringify(c)).join('\n'));
    const open = await warden(['detect', 'replay', f]);
    expect(open.out).toBe('no alerts\n');
    expect(open.err).toContain('1 duplicate');
    expect(open.err).toContain('1 absence check still open at the end of the input (pass --flush');
    const flushed = await warden(['detect', 'replay', '--flush', '--json', f]);
    expect((JSON.parse(flushed.out) as Alert[]).map((a) => a.rule)).toEqual(['factor-removed-not-reenrolled']);
  });

  it('shows a progress bar when asked', async () => {
    const f = file('progress.ndjson', SEED.map((c) => JSON.stringify(c)).join('\n'));
    const r = await warden(['detect', 'replay', '--progress', f]);
    expect(r.err).toMatch(/\r\[#{30}\] 100% {2}0\.0\/0\.0 MB {2}4 records {2}1 alerts/);
  });

  it("uses a configured tenant's identity aliases, rule overrides and policy tiers", async () => {
    const { dir: cfgDir, configFile } = tempConfigDir();
    writeFileSync(
      path.join(cfgDir, 'rules.yaml'),
      'apiVersion: warden/v1\nkind: DetectionRules\nrules:\n  - { id: helpdesk-takeover-chain, enabled: false }\n',
    );
    writeFileSync(
      configFile,
      `dataDir: data\ntenants:\n  - id: acme\n    policy: policies/acme.yaml\n    detection:\n      rules: rules.yaml\n      identities:\n        domains: { acme.onmicrosoft.com: acme.example }\n`,
    );
    const cross = [
      change('factor.enroll', 0, 'self_service', 'okta', 'a-1', 'max@acme.example'),
      change('password.reset', 5, 'self_service', 'entra', 'a-2', 'Max@acme.onmicrosoft.com'),
    ];
    const exec = change('password.reset', 30, 'admin', 'okta', 'a-3', 'ceo@acme.example', 'admin@acme.example');
    const f = file(
      'tenant.ndjson',
      [...cross, exec, ...SEED]
        .map((c) => JSON.stringify({ ...c, target: c.target.login === 'ceo@acme.example' ? { ...c.target, groups: ['Executives'] } : c.target }))
        .join('\n'),
    );
    const r = await warden(['--config', configFile, 'detect', 'replay', '--tenant', 'acme', '--json', f]);
    const alerts = JSON.parse(r.out) as Alert[];
    expect(alerts.find((a) => a.key === 'max@acme.example')?.rule).toBe('factor-change-and-password-reset');
    expect(alerts.find((a) => a.key === 'ceo@acme.example')?.matches.map((m) => m.rule)).toContain('assisted-reset-privileged-target');
    expect(alerts.flatMap((a) => a.matches.map((m) => m.rule))).not.toContain('helpdesk-takeover-chain');
    expect(alerts.every((a) => a.tenant === 'acme')).toBe(true);
  });

  it('refuses an unknown tenant and a missing file (exit 2)', async () => {
    const { configFile } = tempConfigDir();
    expect((await warden(['--config', configFile, 'detect', 'replay', '--tenant', 'initech', path.join(dir, 'seed.ndjson')])).code).toBe(2);
    expect((await warden(['detect', 'replay', path.join(dir, 'nope.ndjson')])).code).toBe(2);
  });
});

describe('warden alerts list and close', () => {
  it("lists a tenant's alerts and closes one with a reason, audited", async () => {
    const { configFile, dir: cfgDir } = tempConfigDir();
    const store = await openPgliteStore({ dataDir: path.join(cfgDir, 'data'), durability: 'relaxed' });
    const alert = newAlert({
      id: uuidv7(),
      tenant: 'acme',
      now: new Date(T0),
      rulesVersion: 'sha256:0000000000000000',
      match: {
        rule: { id: 'vendor-support-access', title: 'IdP vendor support access', severity: 'high', attack: ['T1199'] },
        key: 'admin@acme.example',
        changes: [
          {
            id: uuidv7(),
            kind: 'support.access',
            channel: 'support',
            occurredAt: iso(0),
            idp: 'okta',
            eventIds: ['x'],
            rawType: 'user.session.impersonation.grant',
            targetId: 'u',
            target: 'admin@acme.example',
            actor: 'system@okta.com',
          },
        ],
      },
    });
    await store.ensureTenants(['acme']);
    await store.putAlert(alert);
    await store.close();

    const listed = await warden(['--config', configFile, 'alerts', 'list', '--tenant', 'acme']);
    expect(listed.out).toContain(`${alert.id}  OPEN    high      ${alert.raisedAt}  admin@acme.example  [vendor-support-access]`);
    expect((await warden(['--config', configFile, 'alerts', 'list', '--tenant', 'acme', '--status', 'open'])).out).toContain(`${alert.id}  OPEN`);
    expect((await warden(['--config', configFile, 'alerts', 'list', '--tenant', 'acme', '--status', 'closed'])).out).toBe('no alerts in tenant acme\n');
    const closed = await warden([
      '--config',
      configFile,
      'alerts',
      'close',
      alert.id,
      '--tenant',
      'acme',
      '--reason',
      'Okta support case 01234, granted on purpose',
    ]);
    expect([closed.code, closed.out]).toEqual([0, expect.stringContaining(`closed ${alert.id}`)]);
    const again = await warden(['--config', configFile, 'alerts', 'close', alert.id, '--tenant', 'acme', '--reason', 'x']);
    expect([again.code, again.err]).toEqual([1, expect.stringContaining(`alert ${alert.id} was closed before, at `)]);
    expect(again.err).toContain('Okta support case 01234');
    expect((await warden(['--config', configFile, 'alerts', 'list', '--tenant', 'acme', '--status', 'open'])).out).toBe('no alerts in tenant acme\n');
    const audit = await warden(['--config', configFile, 'audit', 'export', '--tenant', 'acme']);
    expect(audit.out).toContain('"type":"alert.closed"');
    expect(audit.out).toContain('Okta support case 01234');
  }, 120_000); // seven CLI processes, each opening the embedded store
});

describe("a tenant's detection rules are checked before Warden runs", () => {
  const broken = (dir: string) => {
    writeFileSync(
      path.join(dir, 'rules.yaml'),
      "apiVersion: warden/v1\nkind: DetectionRules\nrules:\n  - { id: mfa-bypass-attempt, when: 'change.kind ==' }\n",
    );
    return `dataDir: data\nlisten: { port: 0 }\nlog: { level: silent }\ntenants:\n  - id: acme\n    policy: policies/acme.yaml\n    detection: { rules: rules.yaml }\n`;
  };

  it('warden config check shows the rules in force, and refuses a broken rule file with file:line:column', async () => {
    const { configFile } = tempConfigDir();
    const ok = await warden(['--config', configFile, 'config', 'check']);
    expect(ok.out).toMatch(/detection: 13 rules \(sha256:[0-9a-f]{16}\)\n/);
    const { dir, configFile: bad } = tempConfigDir();
    writeFileSync(bad, broken(dir));
    const r = await warden(['--config', bad, 'config', 'check']);
    expect(r.code).toBe(1);
    expect(r.err).toContain(`${path.join(dir, 'rules.yaml')}:4:52: when: CEL syntax error`);
  });

  it('the server does not start with a broken rule file', async () => {
    const { dir, configFile } = tempConfigDir();
    writeFileSync(configFile, broken(dir));
    const { loadConfig } = await import('../../src/config/load-config.js');
    const { startServer } = await import('../../src/app/start-server.js');
    const { createLogger } = await import('../../src/runtime/logger.js');
    await expect(
      startServer({ config: loadConfig({ path: configFile, env: {} }), log: createLogger('silent'), watchPolicies: false, workers: false }),
    ).rejects.toMatchObject({
      code: 'ERR_RULES_INVALID',
      message: expect.stringContaining(`${path.join(dir, 'rules.yaml')}:4:52`),
    });
  });

  for (const command of [['detect'], ['detect', 'replay'], ['detect', 'test'], ['detect', 'rules'], ['alerts'], ['alerts', 'list'], ['alerts', 'close']])
    it(`documents \`warden ${command.join(' ')}\``, async () => {
      const r = await warden([...command, '--help']);
      expect([r.code, r.out]).toEqual([0, expect.stringMatching(/^Usage: warden/)]);
    });
});
