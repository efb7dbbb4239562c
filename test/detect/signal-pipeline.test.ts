import { randomUUID } from 'node:crypto';
import { readFileSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import { oktaConnector } from '../../connectors/okta/index.js';
import { canonicalLogEvent } from '../../connectors/okta/log-event.js';
import { loadConfig } from '../../src/config/load-config.js';
import type { Alert } from '../../src/core/alert.js';
import { observeSignals } from '../../src/engine/observe-signal.js';
import type { Connector } from '../../src/connector/contract.js';
import { createLogger } from '../../src/runtime/logger.js';
import { startServer, type RunningServer } from '../../src/app/start-server.js';
import { packageRoot } from '../../src/package-root.js';
import { HOOK_SECRET } from '../helpers/okta-setup.js';
import { rawSql } from '../helpers/test-stores.js';
import { tempConfigDir } from '../helpers/temp-config.js';

/**
 * Signals through the real server: Okta event hook deliveries of MFA
 * challenge outcomes → inbox → the Okta connector's normalizer → the signal
 * path (src/engine/observe-signal.ts) → detection in the store → one
 * push-fatigue alert. No policy decision, no change row, no outbox action and
 * no audit record is written for a signal; the alert is audited. Events are
 * the Panther corpus' Okta MFA samples (test/fixtures/okta/panther), with
 * the factor, times, ids and the person varied in code.
 */

const FIXTURES = path.join(packageRoot(), 'test', 'fixtures', 'okta');
const read = (file: string) => JSON.parse(readFileSync(path.join(FIXTURES, file), 'utf8')) as unknown;
const sample = (file: string, name: string) =>
  canonicalLogEvent((read(path.join('panther', file)) as Array<{ name: string; log: unknown }>).find((t) => t.name === name)!.log);
/** Okta's own event hook delivery sample: the envelope. */
const ENVELOPE = read('event-hook-delivery-user-session-start.json') as Record<string, unknown>;
/** An Identity Engine MFA failure (INVALID_CREDENTIALS) and an MFA success. */
const FAILURE = sample('Okta.Identity.Provider.SignIn.json', 'Other Event');
const SUCCESS = sample('Okta.Identity.Provider.Created.Modified.json', 'Other Event');

const T0 = Date.parse('2026-03-02T09:00:00.000Z');
const MIN = 60_000;

/** A person's MFA outcome at `minutes` after T0: the sample with its factor, time, uuid and actor set. */
function outcome(base: typeof FAILURE, person: { id: string; login: string }, minutes: number, factor: string) {
  const debug = base.debugContext?.debugData ?? {};
  return {
    ...base,
    uuid: randomUUID(),
    published: new Date(T0 + minutes * MIN).toISOString(),
    actor: { ...base.actor, id: person.id, alternateId: person.login, displayName: person.login },
    debugContext: { debugData: { ...debug, factor } },
  };
}
const denied = (person: { id: string; login: string }, minutes: number) => outcome(FAILURE, person, minutes, 'OKTA_VERIFY_PUSH');
const approved = (person: { id: string; login: string }, minutes: number) => outcome(SUCCESS, person, minutes, 'OKTA_VERIFY_PUSH');

describe('MFA challenge outcomes take the signal path: detection only, never a decision', () => {
  let server: RunningServer;
  let connector: Connector;
  const clock = { now: new Date(T0) };
  const kim = { id: '00ukim0lee', login: 'kim.lee@acme.example' };

  const deliver = async (tenant: string, ...events: unknown[]) => {
    const res = await fetch(`${server.url}/hooks/okta/${tenant}/events`, {
      method: 'POST',
      headers: { 'content-type': 'application/json', authorization: HOOK_SECRET },
      body: JSON.stringify({ ...ENVELOPE, eventId: randomUUID(), data: { events } }),
    });
    expect(res.status).toBe(200);
  };
  const drain = async () => {
    let n = 0;
    for (let got; (got = await server.inbox.runOnce()) > 0; ) n += got;
    return n;
  };
  const count = async (table: string, tenant: string) =>
    Number((await rawSql(server.store).query<{ n: unknown }>(`SELECT count(*) AS n FROM ${table} WHERE tenant = $1`, [tenant]))[0]!.n);
  /** A tenant's audit records since the server started (`policy.loaded` is written at start). */
  const audit = async (tenant: string) =>
    (await server.store.readAudit(tenant, 0, 10_000))
      .map((r) => JSON.parse(r.record) as { type: string; subject: Record<string, string>; data: Record<string, unknown> })
      .filter((r) => r.type !== 'policy.loaded');
  const metric = async (labels: string) => {
    const text = await (await fetch(`${server.url}/metrics`)).text();
    const line = text.split('\n').find((l) => l.startsWith(`warden_signals_total{${labels}}`));
    return line ? Number(line.split(' ').at(-1)) : 0;
  };

  beforeAll(async () => {
    const { configFile, dir } = tempConfigDir();
    const okta = `    secrets:\n      oktaToken: { env: OKTA_TOKEN }\n      oktaHook: { env: OKTA_HOOK_SECRET }\n    okta:\n      orgUrl: https://acme.okta.example\n      auth: { type: api_token, token: oktaToken }\n      eventHook: { secret: oktaHook }\n      poller: { enabled: false }\n`;
    writeFileSync(
      path.join(dir, 'policies', 'quiet.yaml'),
      readFileSync(path.join(dir, 'policies', 'acme.yaml'), 'utf8').replace(/^tenant: acme$/m, 'tenant: quiet'),
    );
    writeFileSync(
      configFile,
      'listen: { host: 127.0.0.1, port: 0 }\ndataDir: data\ndurability: relaxed\ntenants:\n' +
        `  - id: acme\n    policy: policies/acme.yaml\n${okta}` +
        `  - id: quiet\n    policy: policies/quiet.yaml\n    detection: { enabled: false }\n${okta}`,
    );
    connector = oktaConnector();
    const env = { OKTA_TOKEN: '00okta-token-never-used', OKTA_HOOK_SECRET: HOOK_SECRET };
    const config = loadConfig({ path: configFile, env, connectors: [connector], resolveSecrets: true });
    server = await startServer({ config, connectors: [connector], log: createLogger('silent'), watchPolicies: false, workers: false, clock: () => clock.now });
  });
  afterAll(() => server?.close());

  it("raises exactly one push-fatigue alert from five denied pushes and an approval, writing no decision, change, action or audit record but the alert's", async () => {
    const events = [0, 1, 2, 3, 4].map((m) => denied(kim, m));
    const approval = approved(kim, 6);
    clock.now = new Date(T0 + 7 * MIN);
    await deliver('acme', ...events.slice(0, 3));
    await deliver('acme', ...events.slice(3), approval);
    expect(await drain()).toBe(6);

    const alerts = await server.store.listAlerts('acme', { limit: 10 });
    expect(alerts).toHaveLength(1);
    const alert = alerts[0]!;
    expect(alert).toMatchObject({ rule: 'mfa-push-fatigue', severity: 'high', key: kim.login, status: 'open' });
    expect(alert.changes.map((c) => c.kind)).toEqual(['mfa.denied', 'mfa.denied', 'mfa.denied', 'mfa.denied', 'mfa.denied', 'mfa.verified']);
    // The alert names each signal by its own id, time and the Okta event it came from.
    expect(alert.changes.map((c) => c.eventIds)).toEqual([...events, approval].map((e) => [e.uuid]));
    expect(alert.changes.map((c) => c.occurredAt)).toEqual([...events, approval].map((e) => e.published));
    expect(alert.changes.every((c) => c.idp === 'okta' && c.targetId === kim.id && c.rawType === 'user.authentication.auth_via_mfa')).toBe(true);

    // Nothing was decided, stored as a change, queued or audited for the signals themselves.
    expect({ decisions: await count('decisions', 'acme'), changes: await count('changes', 'acme'), actions: await count('actions', 'acme') }).toEqual({
      decisions: 0,
      changes: 0,
      actions: 0,
    });
    const records = await audit('acme');
    expect(records.map((r) => r.type)).toEqual(['alert.raised']);
    expect(records[0]!.subject).toEqual({ alertId: alert.id });
    expect((records[0]!.data.changes as Array<{ id: string; eventIds: string[] }>).map((c) => [c.id, c.eventIds])).toEqual(
      alert.changes.map((c) => [c.id, c.eventIds]),
    );
    expect(await rawSql(server.store).query('SELECT state FROM inbox WHERE tenant = $1 AND state <> $2', ['acme', 'processed'])).toEqual([]);

    expect(await metric('tenant="acme",kind="mfa.denied",result="observed"')).toBe(5);
    expect(await metric('tenant="acme",kind="mfa.verified",result="observed"')).toBe(1);
  });

  it("counts a redelivered push once: Okta's second delivery and the poller's copy of the same event are absorbed by the inbox", async () => {
    const [alert] = await server.store.listAlerts('acme', { limit: 10 });
    const first = (await rawSql(server.store).query<{ payload: unknown }>('SELECT payload FROM inbox WHERE tenant = $1 ORDER BY id LIMIT 1', ['acme']))[0]!
      .payload;
    const again = typeof first === 'string' ? (JSON.parse(first) as { uuid: string }) : (first as { uuid: string });
    await deliver('acme', again);
    expect(
      await server.store.putInbox({
        tenant: 'acme',
        source: 'okta',
        eventId: again.uuid,
        eventType: 'user.authentication.auth_via_mfa',
        via: 'poll',
        payload: again,
        receivedAt: clock.now,
      }),
    ).toMatchObject({ inserted: false });
    expect(await drain()).toBe(0);
    expect(await server.store.listAlerts('acme', { limit: 10 })).toEqual([alert]);
    expect(await metric('tenant="acme",kind="mfa.denied",result="observed"')).toBe(5);
  });

  it('observes an entry once even when two workers hold it (a lease that ran out): the second finds it settled', async () => {
    const sam = { id: '00usam', login: 'sam@acme.example' };
    clock.now = new Date(T0 + 20 * MIN);
    await deliver('acme', denied(sam, 19));
    const [entry] = await server.store.claimInbox(10, clock.now, 60);
    const normalized = await connector.inbox!.toChanges(entry!, server.context);
    if ('ignored' in normalized) throw new Error(normalized.ignored);
    const signals = normalized.changes.map((c) => ({ ...c, source: { ...c.source, eventIds: [entry!.eventId] } }));
    const deps = { store: server.store, detection: server.detection, clock: () => clock.now };
    const results = await Promise.all([observeSignals(deps, { signals, inboxId: entry!.id }), observeSignals(deps, { signals, inboxId: entry!.id })]);
    expect(results.map((r) => r.duplicate).sort()).toEqual([false, true]);
    // Held once in sam's push-fatigue state.
    const [state] = await rawSql(server.store).query<{ events: unknown }>(
      "SELECT events FROM detection_state WHERE tenant = 'acme' AND rule = 'mfa-push-fatigue' AND key = $1",
      [sam.login],
    );
    const events = typeof state!.events === 'string' ? (JSON.parse(state!.events) as unknown[]) : (state!.events as unknown[]);
    expect(events).toHaveLength(1);
    expect(await drain()).toBe(0);
  });

  it('drops the signals of a tenant without detection, counted, without a store transaction', async () => {
    clock.now = new Date(T0 + 30 * MIN);
    await deliver('quiet', denied(kim, 29));
    const transaction = vi.spyOn(server.store, 'transaction');
    try {
      expect(await drain()).toBe(1);
      expect(transaction).not.toHaveBeenCalled();
    } finally {
      transaction.mockRestore();
    }
    const [row] = await rawSql(server.store).query<{ state: string; error: string }>('SELECT state, error FROM inbox WHERE tenant = $1', ['quiet']);
    expect(row).toEqual({ state: 'ignored', error: 'signal mfa.denied: no detection rule of tenant quiet reads it' });
    expect(await metric('tenant="quiet",kind="mfa.denied",result="dropped"')).toBe(1);
    expect(await audit('quiet')).toEqual([]);
    expect(await count('decisions', 'quiet')).toBe(0);
  });

  it("leaves the alert for policy: the person's next change is decided with it in context.alerts", async () => {
    const [alert] = (await server.store.listAlerts('acme', { limit: 10 })) as [Alert];
    clock.now = new Date(T0 + 40 * MIN);
    const result = await server.context.decide(
      {
        id: randomUUID(),
        tenant: 'acme',
        source: { idp: 'okta', eventIds: ['enroll-after-fatigue'], rawType: 'user.mfa.factor.activate', via: 'hook' },
        kind: 'factor.enroll',
        channel: 'self_service',
        factor: { type: 'push' },
        target: {
          id: kim.id,
          login: kim.login,
          groups: [],
          adminRoles: [],
          flags: { shared: false, executive: false, serviceAccount: false, breakGlass: false },
          attributes: {},
        },
        actor: {
          id: kim.id,
          login: kim.login,
          type: 'user',
          groups: [],
          adminRoles: [],
          flags: { shared: false, executive: false, serviceAccount: false, breakGlass: false },
          attributes: {},
        },
        occurredAt: clock.now.toISOString(),
        observedAt: clock.now.toISOString(),
        context: {},
      },
      { type: 'idp', id: 'okta' },
      { observed: true },
    );
    expect(result.decision.outcome).toBe('hold');
    expect(result.decision.rules.map((r) => r.id)).toContain('open-detection-alert');
    expect((await audit('acme')).find((r) => r.type === 'decision.recorded')!.data.alerts).toEqual([
      { id: alert.id, rule: 'mfa-push-fatigue', severity: 'high', on: 'target', covered: false },
    ]);
  });
});
