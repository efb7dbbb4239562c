import { writeFileSync } from 'node:fs';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { verifyAudit } from '../../src/audit/verify-audit.js';
import { loadConfig } from '../../src/config/load-config.js';
import type { Alert } from '../../src/core/alert.js';
import { createApiKey } from '../../src/access/api-keys.js';
import type { AlertList } from '../../src/server/api-schemas.js';
import { createLogger } from '../../src/runtime/logger.js';
import { startServer, type RunningServer } from '../../src/app/start-server.js';
import { fakeConnector, type FakeConnector } from '../helpers/fake-connector.js';
import { tempConfigDir } from '../helpers/temp-config.js';

/**
 * Detection through the real server and pipeline: hooks → inbox → decision
 * with correlation in the store → alerts → policy (context.alerts) →
 * containment actions → outbox → enforcers, with a restart in the middle of
 * the chain. Three fake connectors named okta, entra and m365 stand in for
 * the real ones (their normalizers arrive with the Okta and Entra
 * connectors): they deliver changes already normalized, so this exercises
 * Warden's side only. The same chain on the vendors' simulators comes with
 * those connectors.
 */

const T0 = Date.parse('2026-03-02T09:00:00Z');
const MIN = 60_000;

const DANA = { okta: '00u1dana0lee', entra: '5f1c2d3e-entra-dana', m365: 'dana.lee@acme.example' };

/** The seed chain: the help desk resets Dana's factors (Okta), a new factor is enrolled (Okta), the password is reset (Entra), a forwarding rule appears (M365). */
const CHAIN = [
  {
    idp: 'okta',
    id: 'evt-reset',
    at: 0,
    change: {
      kind: 'factor.reset_all',
      channel: 'helpdesk',
      target: { id: DANA.okta, login: 'dana.lee@acme.example' },
      actor: { id: '00u9sam', login: 'sam.agent@acme.example' },
    },
  },
  {
    idp: 'okta',
    id: 'evt-enroll',
    at: 10,
    change: {
      kind: 'factor.enroll',
      channel: 'self_service',
      factor: { type: 'push', id: 'opf-new' },
      target: { id: DANA.okta, login: 'dana.lee@acme.example' },
      actor: { id: DANA.okta, login: 'dana.lee@acme.example', ip: '203.0.113.9' },
    },
  },
  {
    idp: 'entra',
    id: 'evt-password',
    at: 20,
    change: {
      kind: 'password.reset',
      channel: 'self_service',
      target: { id: DANA.entra, login: 'Dana.Lee@ACME.example' },
      actor: { id: DANA.entra, login: 'Dana.Lee@ACME.example' },
    },
  },
  {
    idp: 'm365',
    id: 'evt-forward',
    at: 120,
    change: {
      kind: 'mailbox.rule',
      channel: 'self_service',
      target: { id: DANA.m365, login: 'dana.lee@acme.example' },
      actor: { id: DANA.m365, login: 'dana.lee@acme.example' },
    },
  },
] as const;

describe('the seed chain end to end on normalized changes (restart in the middle)', () => {
  let configFile: string;
  let server: RunningServer;
  let fakes: Record<'okta' | 'entra' | 'm365', FakeConnector>;
  const clock = { now: new Date(T0) };

  const start = async () => {
    fakes = { okta: fakeConnector({ name: 'okta' }), entra: fakeConnector({ name: 'entra' }), m365: fakeConnector({ name: 'm365' }) };
    const connectors = Object.values(fakes).map((f) => f.connector);
    const config = loadConfig({ path: configFile, env: {}, connectors, resolveSecrets: true });
    server = await startServer({ config, connectors, log: createLogger('silent'), watchPolicies: false, workers: false, clock: () => clock.now });
  };

  /** Delivers one step of the chain through its connector's hook, a minute after it happened, and runs the workers. */
  const deliver = async (step: (typeof CHAIN)[number]) => {
    clock.now = new Date(T0 + (step.at + 1) * MIN);
    const res = await fetch(`${server.url}/hooks/${step.idp}/acme`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ id: step.id, type: step.change.kind, change: { ...step.change, occurredAt: new Date(T0 + step.at * MIN).toISOString() } }),
    });
    expect(res.status).toBe(202);
    expect(await server.inbox.runOnce()).toBe(1);
    while ((await server.outbox.runOnce()) > 0);
  };

  const records = async () =>
    (await server.store.readAudit('acme', 0, 10_000)).map(
      (r) => JSON.parse(r.record) as { type: string; subject: Record<string, string>; data: Record<string, unknown> },
    );

  beforeAll(async () => {
    const dirs = tempConfigDir();
    configFile = dirs.configFile;
    writeFileSync(
      configFile,
      'listen: { host: 127.0.0.1, port: 0 }\ndataDir: data\ndurability: relaxed\ntenants:\n  - id: acme\n    policy: policies/acme.yaml\n    okta: { org: demo }\n    entra: { org: demo }\n    m365: { org: demo }\n',
    );
    await start();
  });
  afterAll(() => server?.close());

  it('gives one critical alert with all four changes, and contains the user in every IdP per policy', async () => {
    await deliver(CHAIN[0]);
    await deliver(CHAIN[1]);
    // Two of four steps are in the store's correlation state; the process goes away.
    expect(await server.store.countDetectionStates('acme')).toBeGreaterThan(0);
    await server.close();
    await start();
    await deliver(CHAIN[2]);
    await deliver(CHAIN[3]);

    const alerts = (await server.store.listAlerts('acme', { limit: 10 })) as Alert[];
    expect(alerts).toHaveLength(1);
    const [alert] = alerts;
    expect(alert).toMatchObject({ key: 'dana.lee@acme.example', severity: 'critical', rule: 'helpdesk-takeover-chain', status: 'open' });
    expect(alert!.changes.map((c) => [c.idp, c.eventIds[0], c.kind, c.occurredAt])).toEqual(
      CHAIN.map((s) => [s.idp, s.id, s.change.kind, new Date(T0 + s.at * MIN).toISOString()]),
    );
    expect(new Set(alert!.matches.map((m) => m.rule))).toEqual(
      new Set(['assisted-reset-without-request', 'factor-change-and-password-reset', 'new-credential-then-mailbox-rule', 'helpdesk-takeover-chain']),
    );
    expect(alert!.summary).toContain('Help-desk takeover chain');

    // The change that completed the chain was decided with the alert in context.alerts: held per policy.
    const decided = (await records()).filter((r) => r.type === 'decision.recorded');
    const last = decided[decided.length - 1]!;
    expect(last.data).toMatchObject({ outcome: 'hold', alerts: [{ id: alert!.id, rule: 'helpdesk-takeover-chain', severity: 'critical', on: 'target' }] });
    expect((last.data.rules as Array<{ id: string }>).map((r) => r.id)).toEqual(['open-detection-alert']);

    // Containment reached Dana in all three IdPs, each by its own id there.
    expect(fakes.m365.executed.filter((a) => a.kind === 'hold_group').map((a) => a.targetId)).toEqual([DANA.m365]);
    expect(fakes.okta.executed.filter((a) => a.kind === 'hold_group').map((a) => a.targetId)).toContain(DANA.okta);
    expect(fakes.entra.executed.filter((a) => a.kind === 'hold_group').map((a) => a.targetId)).toContain(DANA.entra);
    expect(fakes.okta.executed.filter((a) => a.kind === 'revoke_sessions').map((a) => a.targetId)).toContain(DANA.okta);

    // Stored, audited (one raise, three groupings), and the chain verifies.
    const audit = await records();
    expect(audit.filter((r) => r.type === 'alert.raised').map((r) => r.subject.alertId)).toEqual([alert!.id]);
    expect(audit.filter((r) => r.type === 'alert.grouped')).toHaveLength(3);
    expect((await verifyAudit(server.store, 'acme')).ok).toBe(true);
  });

  it('a duplicate delivery of a step changes nothing', async () => {
    const before = (await server.store.listAlerts('acme', { limit: 10 }))[0]!;
    const res = await fetch(`${server.url}/hooks/entra/acme`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ id: 'evt-password', type: 'password.reset', change: { ...CHAIN[2].change, occurredAt: new Date(T0 + 20 * MIN).toISOString() } }),
    });
    expect(res.status).toBe(202);
    await server.inbox.runOnce();
    expect(await server.store.listAlerts('acme', { limit: 10 })).toEqual([before]);
  });

  it('raises a later proposed decision on the same person (POST /v1/decisions sees context.alerts)', async () => {
    const key = (await createApiKey(server.store, { tenant: 'acme', name: 't', actor: { type: 'cli', id: 'test' } })).key;
    const res = await fetch(`${server.url}/v1/decisions`, {
      method: 'POST',
      headers: { 'content-type': 'application/json', authorization: `Bearer ${key}` },
      body: JSON.stringify({
        tenant: 'acme',
        change: {
          kind: 'factor.enroll',
          channel: 'self_service',
          factor: { type: 'push' },
          target: { id: DANA.okta, login: 'DANA.LEE@acme.example' },
          actor: { id: DANA.okta },
          context: { deviceTrusted: true },
        },
      }),
    });
    const body = (await res.json()) as { outcome: string; rules: Array<{ id: string }> };
    expect([res.status, body.outcome, body.rules.map((r) => r.id)]).toEqual([200, 'hold', ['open-detection-alert']]);

    // The same proposal for someone else is allowed: the alert is about Dana.
    const other = await fetch(`${server.url}/v1/decisions`, {
      method: 'POST',
      headers: { 'content-type': 'application/json', authorization: `Bearer ${key}` },
      body: JSON.stringify({
        tenant: 'acme',
        change: {
          kind: 'factor.enroll',
          channel: 'self_service',
          factor: { type: 'push' },
          target: { id: 'u-erin', login: 'erin@acme.example' },
          actor: { id: 'u-erin' },
        },
      }),
    });
    expect(((await other.json()) as { outcome: string }).outcome).toBe('allow');
  });

  it('lists the alert at GET /v1/alerts for a key with the alerts:read scope', async () => {
    const reader = (await createApiKey(server.store, { tenant: 'acme', name: 'siem', scopes: ['alerts:read'], actor: { type: 'cli', id: 'test' } })).key;
    const res = await fetch(`${server.url}/v1/alerts?severity=high`, { headers: { authorization: `Bearer ${reader}` } });
    const body = (await res.json()) as AlertList;
    expect(res.status).toBe(200);
    expect(body.alerts.map((a) => [a.key, a.severity, a.changes.length])).toEqual([['dana.lee@acme.example', 'critical', 4]]);
    const one = await fetch(`${server.url}/v1/alerts/${body.alerts[0]!.id}`, { headers: { authorization: `Bearer ${reader}` } });
    expect(((await one.json()) as Alert).id).toBe(body.alerts[0]!.id);
  });
});
