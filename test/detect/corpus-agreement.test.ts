import { readFileSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { connectors } from '../../connectors/index.js';
import { ChangeInput, completeChange } from '../../src/core/identity-change.js';
import { compileRulePack } from '../../src/detect/compile-rule-pack.js';
import { corpusAgreement, formatAgreement, judgeAgreement, type AgreementBaseline } from '../../src/detect/corpus-agreement.js';
import { DEFAULT_SETTINGS } from '../../src/detect/detection-registry.js';
import type { NamedNormalizer } from '../../src/detect/replay-records.js';
import { shippedRuleSources } from '../../src/detect/rule-sources.js';
import { packageRoot } from '../../src/package-root.js';
import type { RecordNormalizer } from '../../src/connector/contract.js';

/**
 * Agreement of the shipped rules with Panther's expected results on the
 * public corpus (test/fixtures/corpus), through whatever record normalizers
 * the shipped connectors register. The measured agreement is printed and
 * must not fall below the recorded baseline.
 */

const CORPUS = path.join(packageRoot(), 'test', 'fixtures', 'corpus');
const BASELINE_FILE = path.join(CORPUS, 'agreement-baseline.json');
const pack = compileRulePack(shippedRuleSources());
const settings = { latenessMs: DEFAULT_SETTINGS.latenessMs, groupForMs: DEFAULT_SETTINGS.groupForMs };
const registered: NamedNormalizer[] = connectors.filter((p) => p.records).map((p) => ({ name: p.name, records: p.records! }));

describe('corpus agreement with Panther (shipped connectors)', () => {
  it('measures agreement with Panther and keeps it at or above the baseline', () => {
    // The Okta and Entra connectors read the corpus; without a normalizer nothing is measured, which fails.
    expect(registered.map((r) => r.name)).toEqual(expect.arrayContaining(['okta', 'entra']));
    const report = corpusAgreement(CORPUS, pack, registered, settings);
    console.log(`\n${formatAgreement(report)}\n`);
    const baseline = JSON.parse(readFileSync(BASELINE_FILE, 'utf8')) as AgreementBaseline & { note: string };
    if (process.env.WARDEN_RECORD_CORPUS_BASELINE === '1' && report.compared > 0) {
      writeFileSync(BASELINE_FILE, JSON.stringify({ ...baseline, compared: report.compared, agreed: report.agreed }, null, 2) + '\n');
      return;
    }
    expect(judgeAgreement(report, baseline)).toEqual([]);
  });
});

/**
 * A stand-in record normalizer for the harness's own test: it reads the few
 * Okta System Log event types the mapped Panther rules use (keys
 * case-insensitive, as Panther's test logs need) and nothing else. Not the
 * Okta connector: that one arrives with its own normalizer and tests.
 */
function oktaStandIn(): RecordNormalizer {
  const lower = (r: unknown) => Object.fromEntries(Object.entries(r as Record<string, unknown>).map(([k, v]) => [k.toLowerCase(), v]));
  return {
    recognizes: (record) =>
      typeof record === 'object' && record !== null && typeof lower(record).eventtype === 'string' && typeof lower(record).actor === 'object',
    normalize(record, tenant) {
      const r = lower(record) as {
        uuid?: string;
        eventtype: string;
        published?: string;
        actor?: { id: string; alternateId?: string; type?: string };
        target?: Array<{ id: string; alternateId?: string; type: string }>;
        outcome?: { result?: string };
        transaction?: { id?: string };
      };
      if (r.outcome?.result && r.outcome.result !== 'SUCCESS') return { ignored: 'not successful' };
      const kind = (
        {
          'user.session.impersonation.grant': 'support.access',
          'user.account.reset_password': 'password.reset',
          'user.mfa.factor.deactivate': 'factor.remove',
          'user.mfa.factor.reset_all': 'factor.reset_all',
        } as Record<string, string>
      )[r.eventtype];
      if (!kind) return { ignored: `event type ${r.eventtype} is not governed` };
      const actor = r.actor ?? { id: 'unknown' };
      const target = r.target?.find((t) => t.type === 'User') ?? { id: actor.id, alternateId: actor.alternateId };
      const support = actor.alternateId === 'system@okta.com' && r.transaction?.id === 'unknown';
      const channel =
        kind === 'support.access' || support ? 'support' : actor.type === 'PublicClientAppEntity' ? 'api' : actor.id === target.id ? 'self_service' : 'admin';
      const published =
        r.published && !Number.isNaN(Date.parse(`${r.published.replace(' ', 'T')}Z`))
          ? new Date(`${r.published.replace(' ', 'T')}Z`).toISOString()
          : '2026-01-01T00:00:00.000Z';
      const change = completeChange(
        ChangeInput.parse({
          kind,
          channel,
          target: { id: target.id, login: target.alternateId },
          actor: { id: actor.id, login: actor.alternateId },
          occurredAt: published,
          observedAt: published,
        }),
        tenant,
      );
      return { changes: [{ ...change, source: { idp: 'okta', eventIds: [r.uuid ?? change.id], rawType: r.eventtype, via: 'poll' } }] };
    },
  };
}

describe('the corpus agreement harness', () => {
  it('compares every mapped case, counts what no normalizer reads, and prints the table', () => {
    const report = corpusAgreement(CORPUS, pack, [{ name: 'okta-stand-in', records: oktaStandIn() }], settings);
    const verdict = (panther: string, name: string) => report.cases.find((c) => c.panther === panther && c.name === name);
    expect(verdict('Okta.Support.Access', 'Support Access Granted')).toMatchObject({ expected: true, got: true, via: 'okta-stand-in' });
    expect(verdict('Okta.Support.Access', 'Login Event')).toMatchObject({ expected: false, got: false });
    expect(verdict('Okta.Support.Reset', 'Support Reset Credential')).toMatchObject({ expected: true, got: true });
    expect(verdict('Okta.Support.Reset', 'Reset by Company Admin')).toMatchObject({ expected: false, got: false });
    expect(verdict('Okta.User.MFA.Reset.All', 'Reset All Event')).toMatchObject({ expected: true, got: true });
    // The documented difference: a user's own "User reset…" deactivation, which Panther skips and we report when nothing follows.
    expect(verdict('Standard.MFADisabled', 'Okta - User resets own MFA ( INFO severity detection for this in Okta rules )')).toMatchObject({
      expected: false,
      got: true,
    });
    // The M365 records are not Okta's: nothing registered here reads them.
    expect(report.cases.filter((c) => c.panther === 'Microsoft365.MFA.Disabled').map((c) => c.got)).toEqual(['unrecognized', 'unrecognized']);
    expect(report.compared + report.unrecognized + report.invalid).toBe(report.cases.length);
    expect(report.agreed).toBe(report.cases.filter((c) => c.got === c.expected).length);
    const table = formatAgreement(report);
    expect(table).toContain(`agreement: ${report.agreed}/${report.compared} compared cases`);
    expect(table).toMatch(/^DIFFER +Standard\.MFADisabled/m);
  });

  it('reads nothing with no normalizer: every case unrecognized, none compared, and that never passes', () => {
    const report = corpusAgreement(CORPUS, pack, [], settings);
    expect([report.compared, report.unrecognized]).toEqual([0, report.cases.length]);
    expect(report.cases.length).toBe(17);
    expect(judgeAgreement(report, { compared: 1, agreed: 1 })).toEqual(['no registered normalizer recognizes any corpus record: nothing was compared']);
  });

  it('holds a measurement to the baseline: recorded, not fewer cases, not less agreement', () => {
    const report = corpusAgreement(CORPUS, pack, [{ name: 'okta-stand-in', records: oktaStandIn() }], settings);
    expect(judgeAgreement(report, { compared: null, agreed: null })[0]).toMatch(/^no baseline recorded yet/);
    expect(judgeAgreement(report, { compared: report.compared, agreed: report.agreed })).toEqual([]);
    expect(judgeAgreement(report, { compared: report.compared, agreed: report.agreed - 1 })).toEqual([]);
    expect(judgeAgreement(report, { compared: report.compared, agreed: report.agreed + 1 })).toEqual([
      `agreement fell: ${report.agreed}/${report.compared} is below the baseline ${report.agreed + 1}/${report.compared}`,
    ]);
    expect(judgeAgreement(report, { compared: report.compared + 1, agreed: report.agreed })[0]).toMatch(/^fewer corpus cases are read/);
  });
});
