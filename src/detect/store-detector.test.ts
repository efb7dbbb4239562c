import { Registry } from 'prom-client';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { makeChange } from '../../test/helpers/changes.js';
import { examplePolicy } from '../../test/helpers/policies.js';
import { pgliteTestStore, rawSql, type TestStore } from '../../test/helpers/test-stores.js';
import type { ResolvedDetection } from '../config/load-config.js';
import { RequestSnapshot } from '../core/change-request.js';
import type { Alert } from '../core/alert.js';
import type { IdentityChange } from '../core/identity-change.js';
import { decideChange, type DecideDeps } from '../engine/decide-change.js';
import type { Store, StoreTx } from '../store/store.js';
import { DetectionRegistry } from './detection-registry.js';
import { MemoryDetector } from './memory-detector.js';
import { StoreDetector } from './store-detector.js';

const T0 = Date.parse('2026-03-02T09:00:00Z');
const MIN = 60_000;
const HOUR = 60 * MIN;

const DETECTION: ResolvedDetection = {
  enabled: true,
  allowedLatenessMs: 30 * MIN,
  sourceIdleAfterMs: 3 * HOUR,
  groupForMs: 24 * HOUR,
  inPolicyForMs: 7 * 24 * HOUR,
  identities: { domains: { 'acme.onmicrosoft.com': 'acme.example' }, aliases: {} },
};

let handle: TestStore;
let store: Store;
let metrics: Registry;
let detector: StoreDetector;
const clock = { now: new Date(T0) };
const policy = examplePolicy();
let n = 0;
let tenants = 0;

/** A tenant of its own per test. */
async function tenant(): Promise<string> {
  const id = `det${++tenants}`;
  await store.ensureTenants([id]);
  return id;
}

function deps(detection: StoreDetector = detector): DecideDeps {
  return { store, policies: { get: () => policy }, clock: () => clock.now, detection };
}

/** An observed change at `minutes` after T0, decided when the clock says. */
function at(t: string, minutes: number, overrides: Parameters<typeof makeChange>[0] = {}): IdentityChange {
  const occurredAt = new Date(T0 + minutes * MIN).toISOString();
  return makeChange({ tenant: t, occurredAt, observedAt: occurredAt, source: { idp: 'okta', eventIds: [`e${++n}`], rawType: 'x', via: 'poll' }, ...overrides });
}

async function observe(change: IdentityChange, decideAtMinutes?: number, detection?: StoreDetector) {
  clock.now = new Date(decideAtMinutes === undefined ? Date.parse(change.occurredAt) + MIN : T0 + decideAtMinutes * MIN);
  return decideChange(deps(detection), { change, actor: { type: 'idp', id: 'okta' }, observed: true });
}

beforeAll(async () => {
  handle = await pgliteTestStore();
  store = handle.store;
  metrics = new Registry();
  const tenants = Array.from({ length: 20 }, (_, i) => ({ id: `det${i + 1}`, detection: DETECTION }));
  detector = new StoreDetector(new DetectionRegistry(tenants), { registry: metrics });
});
afterAll(() => handle.dispose());

const metric = async (name: string) => (await metrics.getSingleMetricAsString(name)).split('\n').filter((l) => !l.startsWith('#'));

describe('store-backed detection', () => {
  it("says which kinds a tenant's rules read, so signals nobody reads are dropped before any transaction", () => {
    expect(detector.watches('det1', 'mfa.denied')).toBe(true);
    expect(detector.watches('det1', 'mfa.verified')).toBe(true);
    expect(detector.watches('no-such-tenant', 'mfa.denied')).toBe(false);
    const off = new StoreDetector(new DetectionRegistry([{ id: 'off', detection: { ...DETECTION, enabled: false } }]), { registry: new Registry() });
    expect(off.watches('off', 'mfa.denied')).toBe(false);
  });

  it('continues a sequence after a restart: a new detector on the same store completes it', async () => {
    const t = await tenant();
    const target = { id: 'u7', login: 'eve@acme.example' };
    await observe(at(t, 0, { kind: 'factor.enroll', channel: 'self_service', target, actor: { id: 'u7' } }));
    // A new process: new registry, new detector, nothing in memory; the same store.
    const restarted = new StoreDetector(new DetectionRegistry(Array.from({ length: 20 }, (_, i) => ({ id: `det${i + 1}`, detection: DETECTION }))), {
      registry: new Registry(),
    });
    const result = await observe(at(t, 30, { kind: 'password.reset', channel: 'self_service', target, actor: { id: 'u7' } }), undefined, restarted);
    expect(result.alerts.map((a) => [a.rule, a.changes.length])).toEqual([['factor-change-and-password-reset', 2]]);
  });

  it('fires an absence rule by the clock when the sweeper runs, and audits it', async () => {
    const t = await tenant();
    const removed = at(t, 0, {
      kind: 'factor.remove',
      channel: 'self_service',
      target: { id: 'u1', login: 'lee@acme.example' },
      actor: { id: 'u1', login: 'lee@acme.example' },
    });
    await observe(removed);
    expect((await detector.sweep(store, new Date(T0 + 12 * HOUR + 29 * MIN))).alerts).toEqual([]);
    const swept = await detector.sweep(store, new Date(T0 + 12 * HOUR + 31 * MIN));
    expect(swept.alerts.map((a) => [a.rule, a.key, a.changes.map((c) => c.id)])).toEqual([['factor-removed-not-reenrolled', 'lee@acme.example', [removed.id]]]);
    expect(await store.listAlerts(t, { limit: 5 })).toHaveLength(1);
    const audit = (await store.readAudit(t, 0, 100)).map((r) => r.type);
    expect(audit).toContain('alert.raised');
    // Sweeping again finds nothing more to do.
    expect((await detector.sweep(store, new Date(T0 + 13 * HOUR))).alerts).toEqual([]);
  });

  it('a re-enrollment before the deadline cancels the pending absence', async () => {
    const t = await tenant();
    await observe(at(t, 0, { kind: 'factor.remove', channel: 'self_service', target: { id: 'u2', login: 'kim@acme.example' }, actor: { id: 'u2' } }));
    await observe(at(t, 60, { kind: 'factor.enroll', channel: 'self_service', target: { id: 'u2', login: 'kim@acme.example' }, actor: { id: 'u2' } }));
    expect((await detector.sweep(store, new Date(T0 + 14 * HOUR))).alerts.filter((a) => a.tenant === t)).toEqual([]);
  });

  it('does not correlate a change that reaches Warden later than the allowed lateness within its source, and counts it', async () => {
    const t = await tenant();
    await observe(at(t, 0, { kind: 'factor.enroll', channel: 'self_service', target: { id: 'u3', login: 'ann@acme.example' }, actor: { id: 'u3' } }));
    // The same source (the Okta poller) has moved on to 2 hours in.
    await observe(at(t, 120, { kind: 'password.change', channel: 'self_service', target: { id: 'u9', login: 'zed@acme.example' }, actor: { id: 'u9' } }));
    // Happened 30 minutes in, delivered after the source's 2-hour event: 90 minutes out of order, beyond 30 minutes of lateness.
    const late = await observe(
      at(t, 30, { kind: 'password.reset', channel: 'self_service', target: { id: 'u3', login: 'ann@acme.example' }, actor: { id: 'u3' } }),
      150,
    );
    expect(late.alerts).toEqual([]);
    expect(await metric('warden_detection_late_total')).toContain(`warden_detection_late_total{tenant="${t}"} 1`);
    // Within the lateness it would have counted.
    await observe(at(t, 200, { kind: 'factor.enroll', channel: 'self_service', target: { id: 'u3', login: 'ann@acme.example' }, actor: { id: 'u3' } }));
    const onTime = await observe(
      at(t, 220, { kind: 'password.reset', channel: 'self_service', target: { id: 'u3', login: 'ann@acme.example' }, actor: { id: 'u3' } }),
      245,
    );
    expect(onTime.alerts.map((a) => a.rule)).toEqual(['factor-change-and-password-reset']);
  });

  it('correlates a chain across sources after the directoryAudits poller was stopped for two hours and back-fills', async () => {
    const t = await tenant();
    const entra = (id: string) => ({ source: { idp: 'entra', eventIds: [id], rawType: 'Update user', via: 'poll' as const } });
    // The Entra poller delivers, then is stopped.
    await observe(
      at(t, 0, { kind: 'password.change', channel: 'self_service', ...entra('a-0'), target: { id: 'e-9', login: 'zed@acme.example' }, actor: { id: 'e-9' } }),
    );
    const target = { id: '00u8', login: 'flo@acme.example' };
    await observe(at(t, 10, { kind: 'factor.enroll', channel: 'self_service', target, actor: { id: '00u8' } }));
    // Okta moves on for two hours.
    for (let m = 20; m <= 130; m += 10)
      await observe(
        at(t, m, { kind: 'password.change', channel: 'self_service', target: { id: `00x${m}`, login: `busy${m}@acme.example` }, actor: { id: `00x${m}` } }),
      );
    // The poller restarts at 2h15 and back-fills Flo's password reset from minute 20, in order within its source.
    const result = await observe(
      at(t, 20, { kind: 'password.reset', channel: 'self_service', ...entra('a-1'), target: { id: 'e-8', login: 'flo@acme.example' }, actor: { id: 'e-8' } }),
      135,
    );
    expect(result.alerts.map((a) => [a.rule, a.changes.map((c) => c.idp)])).toEqual([['factor-change-and-password-reset', ['okta', 'entra']]]);
    expect(await metric('warden_detection_late_total')).not.toContain(`tenant="${t}"`);
  });

  it('feeds approved work to detection, records which request covered each change, and tells policy an alert of approved work apart', async () => {
    const t = await tenant();
    const target = { id: '00u5', login: 'gus@acme.example' };
    const approved = (id: string, c: IdentityChange) =>
      RequestSnapshot.parse({ id, tenant: t, state: 'approved', kind: c.kind, targetId: c.target.id, requesterId: 'gus', executorId: c.actor.id });
    const decide = (c: IdentityChange, request?: RequestSnapshot) => {
      clock.now = new Date(Date.parse(c.occurredAt) + MIN);
      return decideChange(deps(), { change: c, actor: { type: 'idp', id: 'okta' }, observed: true, ...(request ? { request } : {}) });
    };
    const enroll = at(t, 0, { kind: 'factor.enroll', channel: 'self_service', target, actor: { id: '00u5' } });
    const reset = at(t, 10, { kind: 'password.reset', channel: 'helpdesk', target, actor: { id: '00uA', login: 'sam@acme.example' } });
    await decide(enroll, approved('req-1', enroll));
    const both = await decide(reset, approved('req-2', reset));
    // Approved work still correlates: the pair is found, each change naming the request that covered it.
    const alert = both.alerts.find((a) => a.rule === 'factor-change-and-password-reset')!;
    expect(alert.changes.map((c) => [c.id, c.coveredBy])).toEqual([
      [enroll.id, 'req-1'],
      [reset.id, 'req-2'],
    ]);
    // Policy sees an alert made only of approved work, and the example policy does not hold the change for it.
    expect(both.decision.rules.map((r) => r.id)).not.toContain('open-detection-alert');
    const later = at(t, 20, { kind: 'factor.enroll', channel: 'self_service', target, actor: { id: '00u5' } });
    expect((await store.transaction((tx) => detector.alertsFor(tx, later, clock.now))).alerts).toEqual([
      { id: alert.id, rule: 'factor-change-and-password-reset', severity: 'high', on: 'target', covered: true },
    ]);
    const next = await decide(later);
    expect(next.decision.rules.map((r) => r.id)).not.toContain('open-detection-alert');
    // An uncovered change joins the alert (a second pair): now it holds.
    const change = at(t, 25, { kind: 'password.change', channel: 'self_service', target, actor: { id: '00u5' } });
    const uncovered = await decide(change);
    expect((await store.transaction((tx) => detector.alertsFor(tx, change, clock.now))).alerts.map((a) => a.covered)).toEqual([false]);
    expect([uncovered.decision.outcome, uncovered.decision.rules.map((r) => r.id)]).toEqual(['hold', ['open-detection-alert']]);
  });

  it("correlates one person across IdPs with the tenant's domain aliases", async () => {
    const t = await tenant();
    await observe(at(t, 0, { kind: 'factor.enroll', channel: 'self_service', target: { id: '00u4', login: 'bo@acme.example' }, actor: { id: '00u4' } }));
    const result = await observe(
      at(t, 5, {
        kind: 'password.reset',
        channel: 'self_service',
        source: { idp: 'entra', eventIds: ['x-1'], rawType: 'Reset password (self-service)', via: 'poll' },
        target: { id: 'e-4', login: 'Bo@acme.onmicrosoft.com' },
        actor: { id: 'e-4' },
      }),
    );
    expect(result.alerts.map((a) => [a.key, a.changes.map((c) => c.idp)])).toEqual([['bo@acme.example', ['okta', 'entra']]]);
  });

  it('keeps no state in memory and prunes the store under a flood of unrelated keys, as its source moves on', async () => {
    const t = await tenant();
    // A detector of its own: pruning waits for the slowest source of every tenant, and other tests' tenants are slower.
    const only = new StoreDetector(new DetectionRegistry([{ id: t, detection: DETECTION }]), { registry: new Registry() });
    const poller = (minutes: number) => only.progress(t, 'okta/poll', new Date(T0 + minutes * MIN), new Date(T0 + minutes * MIN));
    for (let i = 0; i < 150; i++)
      await observe(
        at(t, i / 10, { kind: 'factor.enroll', channel: 'self_service', target: { id: `f${i}`, login: `flood${i}@acme.example` }, actor: { id: `f${i}` } }),
        undefined,
        only,
      );
    // Each enrollment is held by the five rules it could take part in.
    expect(await store.countDetectionStates(t)).toBe(750);
    // The source has not moved on (it may still deliver what happened just after): nothing is pruned.
    expect((await only.sweep(store, new Date(T0 + 15 * MIN + 91 * MIN))).pruned).toBe(0);
    // Once the poller has read 91 minutes past the last one, only the two 24-hour rules still need them: the
    // 1-hour pair's window has passed, and for the chain and the absence in which an enrollment is a later
    // step, no earlier step can arrive any more (beyond the tenant's 30 minutes of lateness). The takeover
    // chain, whose last step comes from the Management Activity API, allows 2 hours: a late factor reset may still come.
    poller(15 + 91);
    expect((await only.sweep(store, new Date(T0 + 15 * MIN + 91 * MIN))).pruned).toBeGreaterThanOrEqual(450);
    expect(await store.countDetectionStates(t)).toBe(300);
    poller(15 + 121);
    await only.sweep(store, new Date(T0 + 15 * MIN + 2 * HOUR + MIN));
    expect(await store.countDetectionStates(t)).toBe(150);
    // …and after the 24-hour rule's window and its 2 hours of lateness, nothing is left (the poller, silent
    // for more than 3 hours by then, no longer holds anything).
    await only.sweep(store, new Date(T0 + 15 * MIN + 26 * HOUR + MIN));
    expect(await store.countDetectionStates(t)).toBe(0);
  });

  it('discards the stored state of a rule whose definition changed', async () => {
    const t = await tenant();
    await observe(at(t, 0, { kind: 'factor.enroll', channel: 'self_service', target: { id: 'u5', login: 'cy@acme.example' }, actor: { id: 'u5' } }));
    const [row] = await store.transaction(async (tx) => [await tx.lockDetectionState(t, 'factor-change-and-password-reset', 'cy@acme.example')]);
    await store.putDetectionState({ ...row!, ruleHash: 'an-older-definition' });
    const result = await observe(
      at(t, 10, { kind: 'password.reset', channel: 'self_service', target: { id: 'u5', login: 'cy@acme.example' }, actor: { id: 'u5' } }),
    );
    expect(result.alerts.filter((a) => a.rule === 'factor-change-and-password-reset')).toEqual([]);
  });

  it('never correlates a proposed change (POST /v1/decisions), but shows it the open alerts', async () => {
    const t = await tenant();
    const target = { id: 'u6', login: 'di@acme.example' };
    clock.now = new Date(T0 + MIN);
    await decideChange(deps(), {
      change: at(t, 0, { kind: 'factor.enroll', channel: 'self_service', target, actor: { id: 'u6' } }),
      actor: { type: 'api_key', id: 'k' },
      observed: false,
    });
    await decideChange(deps(), {
      change: at(t, 1, { kind: 'password.reset', channel: 'self_service', target, actor: { id: 'u6' } }),
      actor: { type: 'api_key', id: 'k' },
      observed: false,
    });
    expect(await store.listAlerts(t, { limit: 5 })).toEqual([]);
    await observe(at(t, 2, { kind: 'mfa.bypass', channel: 'self_service', target, actor: { id: 'u6' } }));
    const proposed = await decideChange(deps(), {
      change: at(t, 3, { kind: 'factor.enroll', channel: 'self_service', target, actor: { id: 'u6' } }),
      actor: { type: 'api_key', id: 'k' },
      observed: false,
    });
    expect([proposed.decision.outcome, proposed.decision.rules.map((r) => r.id)]).toEqual(['hold', ['open-detection-alert']]);
  });

  describe('a run of changes observed at once (observeMany: one lock and one write of the state rows)', () => {
    /** `tx` with the calls to the detection-state and alert-lock methods counted. */
    function counted(tx: StoreTx, calls: Record<string, number>): StoreTx {
      return new Proxy(tx, {
        get(target, name, receiver) {
          const value = Reflect.get(target, name, receiver) as unknown;
          if (typeof value !== 'function') return value;
          if (typeof name === 'string' && /DetectionState|lockOpenAlert/.test(name))
            return (...args: unknown[]) => {
              calls[name] = (calls[name] ?? 0) + 1;
              return (value as (...a: unknown[]) => unknown).apply(target, args);
            };
          return (value as (...a: unknown[]) => unknown).bind(target);
        },
      });
    }

    /** An alert as both tenants can have it: no id, tenant or times of raising. */
    const comparable = (a: Alert) => ({
      key: a.key,
      rule: a.rule,
      severity: a.severity,
      changes: a.changes.map((c) => c.id),
      matches: a.matches.map((m) => [m.rule, m.changeIds]),
      summary: a.summary,
    });

    /** The tenant's state rows and audit records (alert ids left out), as they are stored. */
    async function stored(t: string) {
      const states = await rawSql(store).query(
        'SELECT rule, key, rule_hash, events, expires_at, due_at, updated_at FROM detection_state WHERE tenant = $1 ORDER BY rule, key',
        [t],
      );
      const audit = (await store.readAudit(t, 0, 1000)).map((r) => {
        const { type, data } = JSON.parse(r.record) as { type: string; data: unknown };
        return { type, data };
      });
      return { states, audit };
    }

    /**
     * An outage's worth of changes for `t`: push bombing on three people (five denials, then an approval,
     * twice: the second match is grouped into the first alert), a push delivered twice, a help-desk agent
     * resetting six people (a threshold on the agent, pairs on the targets), a factor removed (an absence
     * pending), and a change older than its source's watermark allows (late).
     */
    function outage(t: string): IdentityChange[] {
      const out: IdentityChange[] = [];
      const push = (p: number, minutes: number, kind: 'mfa.denied' | 'mfa.verified', id: string) =>
        at(t, minutes, {
          kind,
          channel: 'self_service',
          factor: { type: 'push' },
          target: { id: `00p${p}`, login: `push${p}@acme.example` },
          actor: { id: `00p${p}`, login: `push${p}@acme.example` },
          source: { idp: 'okta', eventIds: [id], rawType: 'user.authentication.auth_via_mfa', via: 'poll' },
        });
      for (const round of [0, 1])
        for (let i = 0; i < 6; i++)
          for (let p = 0; p < 3; p++) out.push(push(p, round * 4 + i * 0.5 + p * 0.1, i < 5 ? 'mfa.denied' : 'mfa.verified', `push-${p}-${round}-${i}`));
      out.push({ ...out[3]! });
      for (let p = 0; p < 6; p++) {
        const target = { id: `00h${p}`, login: `reset${p}@acme.example` };
        out.push(at(t, 10 + p, { kind: 'factor.enroll', channel: 'self_service', target, actor: { id: target.id } }));
        out.push(at(t, 11 + p, { kind: 'password.reset', channel: 'helpdesk', target, actor: { id: '00uH', login: 'desk@acme.example' } }));
      }
      out.push(at(t, 20, { kind: 'factor.remove', channel: 'self_service', target: { id: '00r', login: 'rem@acme.example' }, actor: { id: '00r' } }));
      out.push(at(t, 90, { kind: 'password.change', channel: 'self_service', target: { id: '00z', login: 'zed@acme.example' }, actor: { id: '00z' } }));
      out.push(at(t, 30, { kind: 'factor.enroll', channel: 'self_service', target: { id: '00l', login: 'late@acme.example' }, actor: { id: '00l' } }));
      return out;
    }

    it('gives the alerts, grouping, audit, late count and state that observing the changes one by one gives', async () => {
      const one = await tenant();
      const run = await tenant();
      const changes = outage(one);
      const now = new Date(T0 + 2 * HOUR);
      const facts = { now };
      const byOne: Alert[][] = [];
      const oneCalls: Record<string, number> = {};
      for (const change of changes) byOne.push(await store.transaction((tx) => detector.observe(counted(tx, oneCalls), change, facts)));
      const runCalls: Record<string, number> = {};
      const byRun = await store.transaction((tx) =>
        detector.observeMany(
          counted(tx, runCalls),
          changes.map((c) => ({ change: { ...c, tenant: run }, facts })),
        ),
      );
      expect(byRun.map((alerts) => alerts.map(comparable))).toEqual(byOne.map((alerts) => alerts.map(comparable)));
      // Three push-fatigue alerts, each grouping its second match; the agent's mass reset; six pairs.
      const raised = byOne.flat();
      expect(new Set(raised.filter((a) => a.rule === 'mfa-push-fatigue').map((a) => a.id)).size).toBe(3);
      expect(raised.some((a) => a.rule === 'mfa-push-fatigue' && a.matches.length === 2)).toBe(true);
      expect(raised.some((a) => a.rule === 'mass-reset-by-one-actor')).toBe(true);
      const [a, b] = [await stored(one), await stored(run)];
      expect(b.audit).toEqual(a.audit);
      expect(b.states).toEqual(a.states);
      expect(a.states.some((r) => r.due_at !== null)).toBe(true);
      expect(await metric('warden_detection_late_total')).toEqual(
        expect.arrayContaining([`warden_detection_late_total{tenant="${one}"} 1`, `warden_detection_late_total{tenant="${run}"} 1`]),
      );
      expect(detector.sources(run)).toEqual(detector.sources(one));
      // One call locks the run's rows, one writes them back, one deletes what emptied (none here: no statement).
      expect(runCalls).toMatchObject({ lockDetectionStates: 1, putDetectionStates: 1, deleteDetectionStates: 1 });
      expect(runCalls.lockDetectionState ?? 0).toBe(0);
      // One by one: a statement per change (the late one is on time for the takeover chain, which allows 2 h).
      expect(oneCalls.lockDetectionStates).toBe(changes.length);
    });

    it('empties and writes a stored state again within one run, and deletes what the run emptied, as one by one does', async () => {
      const one = await tenant();
      const run = await tenant();
      const ivy = { id: '00i', login: 'ivy@acme.example' };
      const jo = { id: '00j', login: 'jo@acme.example' };
      // Enrollments stored before the run; in the run, a reset completes each pair (the pair rule's state
      // empties), and ivy enrolls again (her state is written again): jo's row is deleted, ivy's replaced.
      const before = [
        at(one, 0, { kind: 'factor.enroll', channel: 'self_service', target: ivy, actor: { id: ivy.id } }),
        at(one, 1, { kind: 'factor.enroll', channel: 'self_service', target: jo, actor: { id: jo.id } }),
      ];
      const changes = [
        at(one, 10, { kind: 'password.reset', channel: 'self_service', target: ivy, actor: { id: ivy.id } }),
        at(one, 15, { kind: 'password.reset', channel: 'self_service', target: jo, actor: { id: jo.id } }),
        at(one, 20, { kind: 'factor.enroll', channel: 'self_service', target: ivy, actor: { id: ivy.id } }),
      ];
      const facts = (c: IdentityChange) => ({ now: new Date(Date.parse(c.occurredAt) + MIN) });
      for (const t of [one, run]) for (const c of before) await store.transaction((tx) => detector.observe(tx, { ...c, tenant: t }, facts(c)));
      const pair = 'factor-change-and-password-reset';
      const held = (t: string) => store.transaction((tx) => tx.lockDetectionStates([ivy, jo].map((p) => ({ tenant: t, rule: pair, key: p.login }))));
      expect(await held(run)).toHaveLength(2);
      for (const c of changes) await store.transaction((tx) => detector.observe(tx, c, facts(c)));
      const calls: Record<string, number> = {};
      const byRun = await store.transaction((tx) =>
        detector.observeMany(
          counted(tx, calls),
          changes.map((c) => ({ change: { ...c, tenant: run }, facts: facts(c) })),
        ),
      );
      expect(byRun.map((alerts) => alerts.map((a) => a.rule))).toEqual([[pair], [pair], []]);
      expect((await held(run)).map((r) => [r.key, (r.events as Array<{ change: { id: string } }>).map((e) => e.change.id)])).toEqual([
        ['ivy@acme.example', [changes[2]!.id]],
      ]);
      const [a, b] = [await stored(one), await stored(run)];
      expect(b.states).toEqual(a.states);
      expect(b.audit).toEqual(a.audit);
      expect(calls).toMatchObject({ lockDetectionStates: 1, putDetectionStates: 1, deleteDetectionStates: 1 });
    });
  });

  describe('Warden down, then the System Log back-fill (a new detector on the same store)', () => {
    const registry = () => new DetectionRegistry(Array.from({ length: 20 }, (_, i) => ({ id: `det${i + 1}`, detection: DETECTION })));
    const poll = (id: string) => ({ source: { idp: 'okta', eventIds: [id], rawType: 'x', via: 'poll' as const } });

    /** Each rule match on each person the store recorded (raised or grouped), as the fault scenario counts them. */
    async function matchesInStore(t: string): Promise<string[]> {
      const audit = await store.readAudit(t, 0, 1000);
      const data = audit
        .filter((r) => r.type === 'alert.raised' || r.type === 'alert.grouped')
        .map((r) => (JSON.parse(r.record) as { data: { rule: string; key: string } }).data);
      return [...new Set(data.map((d) => `${d.rule} ${d.key}`))].sort();
    }

    /** The same changes in event-time order through the in-memory detector (what `warden detect replay` runs). */
    function replayMatches(t: string, changes: IdentityChange[]): string[] {
      const tenant = registry().get('det1')!;
      const replay = new MemoryDetector(tenant.engine, {
        tenant: t,
        latenessMs: tenant.latenessMs,
        groupForMs: tenant.groupForMs,
        idleAfterMs: tenant.idleAfterMs,
        clock: () => new Date(T0),
      });
      for (const c of [...changes].sort((a, b) => Date.parse(a.occurredAt) - Date.parse(b.occurredAt))) replay.push(c);
      replay.finish();
      return [...new Set(replay.alerts.flatMap((a) => a.matches.map((m) => `${m.rule} ${a.key}`)))].sort();
    }

    /**
     * The poller delivers one change at minute 0 (recorded by a sweep when
     * `recorded`), Warden is down for `downMinutes`, during which six people
     * each enroll a factor and get a help-desk password reset five minutes
     * later; a new detector then reads them all from the System Log at once.
     */
    async function outage(downMinutes: number, recorded: boolean, liveHookFirst = false) {
      const t = await tenant();
      const before = at(t, 0, {
        kind: 'password.change',
        channel: 'self_service',
        ...poll(`b-${t}`),
        target: { id: '00uZ', login: `zoe-${t}@acme.example` },
        actor: { id: '00uZ' },
      });
      await observe(before);
      if (recorded) await detector.sweep(store, new Date(T0 + 2 * MIN));
      const hour: IdentityChange[] = [];
      const step = Math.floor((downMinutes - 10) / 6);
      for (let p = 0; p < 6; p++) {
        const target = { id: `00u${p}`, login: `p${p}-${t}@acme.example` };
        hour.push(at(t, 5 + p * step, { kind: 'factor.enroll', channel: 'self_service', ...poll(`f-${t}-${p}`), target, actor: { id: target.id } }));
        hour.push(
          at(t, 10 + p * step, {
            kind: 'password.reset',
            channel: 'helpdesk',
            ...poll(`r-${t}-${p}`),
            target,
            actor: { id: '00uH', login: 'desk@acme.example' },
          }),
        );
      }
      const restarted = new StoreDetector(registry(), { registry: new Registry() });
      // Right after the start the sweeper runs before the back-fill arrives.
      await restarted.sweep(store, new Date(T0 + downMinutes * MIN));
      const live: IdentityChange[] = [];
      // The event hook delivers what happens now before the poller catches up.
      if (liveHookFirst)
        live.push(
          at(t, downMinutes, {
            kind: 'password.change',
            channel: 'self_service',
            source: { idp: 'okta', eventIds: [`l-${t}`], rawType: 'x', via: 'hook' },
            target: { id: '00uL', login: `liv-${t}@acme.example` },
            actor: { id: '00uL' },
          }),
        );
      for (const c of live) await observe(c, downMinutes + 1, restarted);
      for (const c of hour) await observe(c, downMinutes + 1, restarted);
      const want = replayMatches(t, [before, ...live, ...hour]);
      expect(want.length).toBeGreaterThanOrEqual(6);
      return { got: await matchesInStore(t), want };
    }

    it("a source whose progress was never recorded starts from its first back-filled record: the alerts equal the replay's", async () => {
      const { got, want } = await outage(65, false);
      expect(got).toEqual(want);
    });

    it('a recorded source keeps its own watermark across the restart, and the time Warden was down is not idleness', async () => {
      // Down for four hours: longer than sourceIdleAfter (3h).
      const { got, want } = await outage(250, true);
      expect(got).toEqual(want);
      expect(Object.keys(await store.getSourceWatermarks(`det${tenants}`))).toHaveLength(1);
    });

    it("after four hours down, a live hook event first does not make the recorded poller's back-fill late", async () => {
      const { got, want } = await outage(250, true, true);
      expect(got).toEqual(want);
    });

    it("a change delivered again by the poller (already decided from the hook) still moves the poller's watermark", async () => {
      const t = await tenant();
      const hooked = at(t, 0, {
        kind: 'password.change',
        channel: 'self_service',
        target: { id: '00uY', login: 'yan@acme.example' },
        actor: { id: '00uY' },
        source: { idp: 'okta', eventIds: [`dup-${t}`], rawType: 'x', via: 'hook' },
      });
      await observe(hooked);
      expect(detector.sources(t)['okta/poll']).toBeUndefined();
      const again = await observe({ ...hooked, source: { ...hooked.source, via: 'poll' } }, 3);
      expect(again.replayed).toBe(true);
      expect(detector.sources(t)['okta/poll']).toEqual({ at: Date.parse(hooked.occurredAt), seen: T0 + 3 * MIN });
    });
  });
});
