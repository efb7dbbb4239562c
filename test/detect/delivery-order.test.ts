import { writeFileSync } from 'node:fs';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { entraRecordNormalizer } from '../../connectors/entra/record-normalizer.js';
import { startServer, type RunningServer } from '../../src/app/start-server.js';
import { loadConfig } from '../../src/config/load-config.js';
import { ChangeInput, completeChange, type IdentityChange } from '../../src/core/identity-change.js';
import { compileRulePack } from '../../src/detect/compile-rule-pack.js';
import { DetectionEngine } from '../../src/detect/detection-engine.js';
import { IdentityResolver } from '../../src/detect/identity-keys.js';
import { MemoryDetector } from '../../src/detect/memory-detector.js';
import { shippedRuleSources } from '../../src/detect/rule-sources.js';
import { sourceOf } from '../../src/detect/source-watermarks.js';
import { createLogger } from '../../src/runtime/logger.js';
import { exchangeRecord } from '../helpers/exchange-records.js';
import { fakeConnector } from '../helpers/fake-connector.js';
import { tempConfigDir } from '../helpers/temp-config.js';

/**
 * Delivery order in the server (issue 14): every record of a source moves
 * that source's watermark, whether the inbox refuses it as a copy or the
 * connector finds no change in it, and Management Activity records are a
 * source of their own.
 */

const T0 = Date.parse('2026-03-02T09:00:00Z');
const MIN = 60_000;
const HOUR = 60 * MIN;

describe('watermarks in the server, for records that are not new changes', () => {
  let server: RunningServer;
  const clock = { now: new Date(T0) };

  beforeAll(async () => {
    const { configFile } = tempConfigDir();
    writeFileSync(
      configFile,
      'listen: { host: 127.0.0.1, port: 0 }\ndataDir: data\ndurability: relaxed\ntenants:\n  - id: acme\n    policy: policies/acme.yaml\n    okta: { org: demo }\n',
    );
    const fake = fakeConnector({ name: 'okta' });
    const config = loadConfig({ path: configFile, env: {}, connectors: [fake.connector], resolveSecrets: true });
    server = await startServer({
      config,
      connectors: [fake.connector],
      log: createLogger('silent'),
      watchPolicies: false,
      workers: false,
      clock: () => clock.now,
    });
  });
  afterAll(() => server?.close());

  const entry = (id: string, via: 'hook' | 'poll', minutes: number, type = 'factor.enroll') => ({
    tenant: 'acme',
    source: 'okta',
    eventId: id,
    eventType: type,
    via,
    payload: { id, type },
    receivedAt: clock.now,
    occurredAt: new Date(T0 + minutes * MIN),
  });

  it("moves the poller's watermark with its copy of an event the hook already stored (refused by the inbox)", async () => {
    clock.now = new Date(T0 + 10 * MIN);
    expect((await server.context.store.putInbox(entry('evt-1', 'hook', 5))).inserted).toBe(true);
    expect(server.detection.sources('acme')['okta/poll']).toBeUndefined();
    // The System Log poller reads the same event: the inbox keeps the hook's entry only.
    expect((await server.context.store.putInbox(entry('evt-1', 'poll', 5))).inserted).toBe(false);
    expect(server.detection.sources('acme')['okta/poll']).toEqual({ at: T0 + 5 * MIN, seen: T0 + 10 * MIN });
    // The same through a transaction (the poller stores a page in one).
    clock.now = new Date(T0 + 20 * MIN);
    await server.context.store.putInbox(entry('evt-2', 'hook', 15));
    await server.context.store.transaction(async (tx) => {
      expect((await tx.putInbox(entry('evt-2', 'poll', 15))).inserted).toBe(false);
    });
    expect(server.detection.sources('acme')['okta/poll']).toEqual({ at: T0 + 15 * MIN, seen: T0 + 20 * MIN });
  });

  it('moves the watermark of the source of a record that is not a change (ignored by the connector)', async () => {
    clock.now = new Date(T0 + 40 * MIN);
    const before = server.detection.sources('acme')['okta/hook'];
    // A record with no change in it (the fake connector's `noise`: a sign-in, an event Warden does not govern).
    expect((await server.context.store.putInbox(entry('evt-3', 'hook', 35, 'noise'))).inserted).toBe(true);
    expect(await server.inbox.runOnce()).toBeGreaterThanOrEqual(1);
    expect((await server.store.listInbox('acme', 'ignored', 10)).map((e) => e.eventId)).toContain('evt-3');
    expect(before?.at).not.toBe(T0 + 35 * MIN);
    expect(server.detection.sources('acme')['okta/hook']).toEqual({ at: T0 + 35 * MIN, seen: T0 + 40 * MIN });
  });
});

describe('Management Activity records are a source of their own', () => {
  const pack = compileRulePack(shippedRuleSources());
  const upn = 'dana.lee@acme.example';

  /** Dana's inbox rule forwarding outside, as the Management Activity API returns it, normalized by the Entra connector. */
  const inboxRule = (at: number): IdentityChange => {
    const result = entraRecordNormalizer.normalize(
      exchangeRecord('Suspicious Forwarding Pattern', { upn, at: new Date(at), organization: 'acme.example' }),
      'acme',
      new Date(at),
    );
    if ('ignored' in result) throw new Error(result.ignored);
    return result.changes[0]!;
  };
  let n = 0;
  const change = (kind: 'factor.enroll' | 'password.reset', at: number, idp: string, via: 'hook' | 'poll'): IdentityChange =>
    completeChange(
      ChangeInput.parse({
        source: { idp, eventIds: [`${idp}-${++n}`], rawType: kind, via },
        kind,
        channel: 'self_service',
        ...(kind === 'factor.enroll' ? { factor: { type: 'push' } } : {}),
        target: { id: `${idp}-dana`, login: upn },
        actor: { id: `${idp}-dana`, login: upn },
        occurredAt: new Date(at).toISOString(),
      }),
      'acme',
      new Date(at),
    );

  it('keys them m365/poll, apart from the directoryAudits poller (entra/poll), though both are Entra changes', () => {
    const rule = inboxRule(T0);
    expect(rule.source).toMatchObject({ idp: 'entra', via: 'poll' });
    expect(sourceOf(rule)).toBe('m365/poll');
    expect(sourceOf(change('password.reset', T0, 'entra', 'poll'))).toBe('entra/poll');
  });

  it('correlates an inbox rule 75 minutes late although directoryAudits has moved three hours on', () => {
    const detector = new MemoryDetector(new DetectionEngine(pack, new IdentityResolver({ domains: {}, aliases: {} })), {
      tenant: 'acme',
      latenessMs: 30 * MIN,
      groupForMs: 24 * HOUR,
    });
    detector.push(change('factor.enroll', T0, 'okta', 'hook'));
    // The directoryAudits poller reads Entra records up to three hours later…
    detector.push(change('password.reset', T0 + 3 * HOUR, 'entra', 'poll'));
    // …then the Management Activity API delivers the inbox rule made 10 minutes after the enrollment.
    const alerts = detector.push(inboxRule(T0 + 10 * MIN));
    expect(detector.stats.late).toBe(0);
    expect(alerts.flatMap((a) => a.matches.map((m) => m.rule))).toContain('new-credential-then-mailbox-rule');
  });
});
