import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { packageRoot } from '../../src/package-root.js';
import { cli } from '../helpers/run-cli.js';

const root = packageRoot();
const POLICY = path.join(root, 'examples', 'policies', 'acme.yaml');
const CHANGE = path.join(root, 'examples', 'changes', 'helpdesk-factor-reset.json');
const tmp = () => mkdtempSync(path.join(tmpdir(), 'warden-cli-'));

describe('warden policy check', () => {
  it('accepts the example policy (exit 0)', async () => {
    const r = await cli('policy', 'check', POLICY);
    expect(r.code).toBe(0);
    expect(r.out).toMatch(/acme\.yaml: ok \(tenant acme, enforce mode, \d+ rules, 5 tiers, version sha256:[0-9a-f]{16}\)/);
  });

  it('refuses a broken policy with file:line:column, the rule id and a caret (exit 1)', async () => {
    const file = path.join(tmp(), 'broken.yaml');
    writeFileSync(
      file,
      "apiVersion: warden/v1\ntenant: acme\nrules:\n  - id: helpdesk\n    when: 'change.channel == \"helpdesk\" &&'\n    outcome: hold\n  - id: helpdesk\n    when: 'true'\n    outcome: deny\n",
    );
    const r = await cli('policy', 'check', file);
    expect(r.code).toBe(1);
    expect(r.err).toContain(`${file}:5:43: rules[0].when: CEL syntax error`);
    expect(r.err).toContain('[rule helpdesk]');
    expect(r.err).toContain(`${file}:7:9: duplicate rule id "helpdesk" (first defined at line 4)`);
    expect(r.err).toMatch(/\n {4}5 \| {5}when: 'change\.channel == "helpdesk" &&'\n {6}\| {43}\^/);
    expect(r.err).toContain('2 problems');
  });

  it('reports JSON on request', async () => {
    const r = await cli('policy', 'check', '--json', POLICY);
    expect(JSON.parse(r.out)).toEqual([expect.objectContaining({ file: POLICY, ok: true, tenant: 'acme' })]);
  });
});

describe('warden policy explain', () => {
  it('shows every rule, matched or not, and why', async () => {
    const r = await cli('policy', 'explain', '--policy', POLICY, '--change', CHANGE);
    expect(r.code).toBe(0);
    expect(r.out).toMatch(/^Decision: HOLD/);
    expect(r.out).toMatch(/MATCHED +assisted-reset-standard +hold +line \d+: .*no approved change request/);
    expect(r.out).toMatch(/not matched +assisted-reset-privileged +line \d+: `target.tier in \["privileged", "executive"\]` is false/);
    expect(r.out).toMatch(/skipped +mfa-bypass/);
    expect(r.out).toContain('Obligations: an approved change request; proofing ≥ callback');
  });

  it('gives the whole explanation as JSON', async () => {
    const r = await cli('policy', 'explain', '--policy', POLICY, '--change', CHANGE, '--json');
    const e = JSON.parse(r.out) as { verdict: { outcome: string }; rules: Array<{ id: string; status: string }> };
    expect(e.verdict.outcome).toBe('hold');
    expect(e.rules.find((x) => x.id === 'assisted-reset-standard')?.status).toBe('matched');
  });

  it('judges a request given with --request', async () => {
    const dir = tmp();
    const request = path.join(dir, 'request.yaml');
    writeFileSync(
      request,
      [
        'id: REQ-1',
        'tenant: acme',
        'state: approved',
        'kind: factor.reset_all',
        'targetId: 00u1a2b3c4d5e6f7g8h9',
        'requesterId: 00u1a2b3c4d5e6f7g8h9',
        'executorId: 00uhelpdesk0agent01',
        'proofing: { level: callback, method: callback, verifiedAt: "2026-01-05T09:30:00Z" }',
        'ticket: { system: servicenow, id: INC1, state: In Progress }',
        'approvals: [{ approverId: u-approver, groups: [iam-approvers], at: "2026-01-05T09:40:00Z" }]',
        'approvedAt: "2026-01-05T09:40:00Z"',
        '',
      ].join('\n'),
    );
    const change = path.join(dir, 'change.json');
    writeFileSync(change, JSON.stringify({ ...JSON.parse((await import('node:fs')).readFileSync(CHANGE, 'utf8')).change, occurredAt: '2026-01-05T10:00:00Z' }));
    const r = await cli('policy', 'explain', '--policy', POLICY, '--change', change, '--request', request, '--now', '2026-01-05T10:00:00Z');
    expect(r.out).toMatch(/^Decision: ALLOW/);
    expect(r.out).toContain('requirements met by change request REQ-1');
  });

  it('says what is wrong with a change file (exit 2)', async () => {
    const file = path.join(tmp(), 'change.json');
    writeFileSync(file, JSON.stringify({ kind: 'factor.reset_all' }));
    const r = await cli('policy', 'explain', '--policy', POLICY, '--change', file);
    expect(r.code).toBe(2);
    expect(r.err).toMatch(/channel/);
  });
});

describe('warden policy test', () => {
  it('runs the example cases (exit 0)', async () => {
    const r = await cli('policy', 'test', path.join(root, 'examples', 'cases'));
    expect(r.code).toBe(0);
    expect(r.out).toMatch(/\n(\d+) passed, 0 failed\n$/);
    expect(Number(/(\d+) passed/.exec(r.out)![1])).toBeGreaterThanOrEqual(30);
  });

  it('fails (exit 1) and says how when a case does not hold', async () => {
    const file = path.join(tmp(), 'cases.yaml');
    writeFileSync(
      file,
      `policy: ${POLICY}\ncases:\n  - description: wrongly expects allow\n    change: { kind: factor.reset_all, channel: helpdesk, target: { id: u1 }, actor: { id: u2 } }\n    want: { outcome: allow, rules: [] }\n`,
    );
    const r = await cli('policy', 'test', file);
    expect(r.code).toBe(1);
    expect(r.out).toContain('FAIL  wrongly expects allow');
    expect(r.out).toContain('outcome: want allow, got hold');
    expect(r.out).toContain('rules: want [], got [assisted-reset-standard]');
    expect(r.out).toContain('0 passed, 1 failed');
  });

  it('fails on a case file that does not validate', async () => {
    const file = path.join(tmp(), 'cases.yaml');
    writeFileSync(
      file,
      `policy: ${POLICY}\ncases:\n  - description: no want\n    change: { kind: factor.reset_all, channel: helpdesk, target: { id: u1 }, actor: { id: u2 } }\n`,
    );
    const r = await cli('policy', 'test', file);
    expect(r.code).toBe(1);
    expect(r.err).toContain(file);
  });

  it('reports JSON', async () => {
    const r = await cli('policy', 'test', '--json', path.join(root, 'examples', 'cases'));
    const report = JSON.parse(r.out) as { passed: number; failed: number };
    expect(report.failed).toBe(0);
    expect(report.passed).toBeGreaterThanOrEqual(30);
  });
});
