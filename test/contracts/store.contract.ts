import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { appendAudit } from '../../src/audit/audit-log.js';
import { verifyAudit } from '../../src/audit/verify-audit.js';
import type { Alert } from '../../src/core/alert.js';
import { uuidv7 } from '../../src/core/ids.js';
import { mergeMatch, newAlert } from '../../src/detect/alert.js';
import { bundledMigrations } from '../../src/store/migrate.js';
import type { ActionEntry, DetectionStateRow, Store } from '../../src/store/store.js';
import { makeChange, makeDecision } from '../helpers/changes.js';
import { rawSql, type TestStore } from '../helpers/test-stores.js';
import { workflowStoreContract } from './workflow-store.contract.js';
import { consoleStoreContract } from './console-store.contract.js';

const T0 = new Date('2026-11-25T10:00:00.000Z');
const at = (seconds: number) => new Date(T0.getTime() + seconds * 1000);

/** An alert on `key` with one change at `minutes` after T0, raised at `raisedAt`. */
function alertOn(tenant: string, key: string, minutes: number, over: { rule?: string; severity?: Alert['severity']; raisedAt?: Date } = {}): Alert {
  const occurredAt = new Date(T0.getTime() + minutes * 60_000).toISOString();
  return newAlert({
    id: uuidv7(),
    tenant,
    now: over.raisedAt ?? T0,
    rulesVersion: 'sha256:0000000000000000',
    match: {
      rule: { id: over.rule ?? 'pair', title: 'Pair', severity: over.severity ?? 'high', attack: ['T1098'] },
      key,
      changes: [
        {
          id: uuidv7(),
          kind: 'factor.enroll',
          channel: 'self_service',
          occurredAt,
          idp: 'okta',
          eventIds: ['e'],
          rawType: 'x',
          targetId: 'u1',
          target: key,
          actor: key,
        },
      ],
    },
  });
}

function action(tenant: string, key: string, overrides: Partial<ActionEntry> = {}): ActionEntry {
  return {
    id: uuidv7(),
    tenant,
    kind: 'revoke_sessions',
    targetId: '00u1',
    params: { reason: 'test' },
    idempotencyKey: key,
    dryRun: false,
    createdAt: T0,
    ...overrides,
  };
}

/**
 * The behaviour every Store driver must have. Each driver's test file calls
 * this with a factory; tests use their own tenant ids so they do not interfere.
 */
export function storeContract(driver: string, open: () => Promise<TestStore>): void {
  describe(`Store contract: ${driver}`, () => {
    let handle: TestStore;
    let store: Store;
    let n = 0;
    /** A tenant of its own for each test, created in the store. */
    const tenant = async () => {
      const id = `t${++n}-${driver}`;
      await store.ensureTenants([id]);
      return id;
    };

    beforeAll(async () => {
      handle = await open();
      store = handle.store;
    });
    afterAll(async () => {
      await handle?.dispose();
    });

    describe('migrations and tenants', () => {
      it('has applied the bundled migrations', async () => {
        expect(await store.migrations()).toEqual(bundledMigrations().map((m) => m.version));
        expect(store.driver).toBe(driver);
        await expect(store.ping()).resolves.toBeUndefined();
      });

      it('creates tenants idempotently', async () => {
        await store.ensureTenants(['zz-a', 'zz-b']);
        await store.ensureTenants(['zz-a']);
        const tenants = await store.listTenants();
        expect(tenants.filter((t) => t.startsWith('zz-'))).toEqual(['zz-a', 'zz-b']);
      });

      it('records the policy version in force and returns the previous one', async () => {
        const t = await tenant();
        expect(await store.setTenantPolicy(t, 'sha256:aaaa', T0)).toBeUndefined();
        expect(await store.setTenantPolicy(t, 'sha256:bbbb', at(1))).toBe('sha256:aaaa');
      });
    });

    describe('inbox', () => {
      const entry = (tenant: string, eventId: string) => ({
        tenant,
        source: 'okta',
        eventId,
        eventType: 'user.mfa.factor.reset_all',
        via: 'hook' as const,
        payload: { uuid: eventId, nested: { list: [1, 'two'] } },
        receivedAt: T0,
      });

      it('keeps one row per (tenant, source, event id)', async () => {
        const t = await tenant();
        const first = await store.putInbox(entry(t, 'e1'));
        const again = await store.putInbox({ ...entry(t, 'e1'), via: 'poll' });
        expect(first.inserted).toBe(true);
        expect(again).toEqual({ inserted: false, id: first.id });
        const other = await store.putInbox({ ...entry(t, 'e1'), source: 'entra' });
        expect(other.inserted).toBe(true);
      });

      it('stores several entries in one statement, refusing copies of stored keys and of keys earlier in the same call', async () => {
        const t = await tenant();
        const before = await store.putInbox(entry(t, 'm-old'));
        const answers = await store.putInboxMany([
          entry(t, 'm1'),
          { ...entry(t, 'm-old'), via: 'poll' },
          { ...entry(t, 'm2'), occurredAt: at(3), payload: { uuid: 'm2', text: 'nul \u0000 and \uFDD0 kept' } },
          { ...entry(t, 'm1'), via: 'poll' },
          { ...entry(t, 'm3\u0000x'), source: 'entra' },
        ]);
        expect(answers.map((a) => a.inserted)).toEqual([true, false, true, false, true]);
        expect(answers[1]!.id).toBe(before.id);
        expect(answers[3]!.id).toBe(answers[0]!.id);
        expect(new Set(answers.map((a) => a.id)).size).toBe(4);
        const rows = await store.listInbox(t, 'pending', 10);
        expect(rows.map((r) => [r.id, r.source, r.eventId, r.via])).toEqual([
          [before.id, 'okta', 'm-old', 'hook'],
          [answers[0]!.id, 'okta', 'm1', 'hook'],
          [answers[2]!.id, 'okta', 'm2', 'hook'],
          [answers[4]!.id, 'entra', 'm3\u0000x', 'hook'],
        ]);
        expect(rows[2]!.payload).toEqual({ uuid: 'm2', text: 'nul \u0000 and \uFDD0 kept' });
        expect(rows[2]!.occurredAt).toEqual(at(3));
        expect(await store.putInboxMany([])).toEqual([]);
        expect(await store.putInboxMany([entry(t, 'm1')])).toEqual([{ inserted: false, id: answers[0]!.id }]);
      });

      it('hands out due entries once until their lease runs out', async () => {
        const t = await tenant();
        for (const id of ['a', 'b', 'c']) await store.putInbox(entry(t, id));
        const claimed = (await store.claimInbox(100, at(1), 30)).filter((r) => r.tenant === t);
        expect(claimed.map((r) => r.eventId)).toEqual(['a', 'b', 'c']);
        expect(claimed[0]!.payload).toEqual({ uuid: 'a', nested: { list: [1, 'two'] } });
        expect(claimed[0]!.attempts).toBe(1);
        expect((await store.claimInbox(100, at(10), 30)).filter((r) => r.tenant === t)).toEqual([]);
        await store.finishInbox(claimed[0]!.id, 'processed', at(2));
        await store.finishInbox(claimed[1]!.id, 'ignored', at(2));
        const reclaimed = (await store.claimInbox(100, at(40), 30)).filter((r) => r.tenant === t);
        expect(reclaimed.map((r) => [r.eventId, r.attempts])).toEqual([['c', 2]]);
      });

      it("lists a tenant's entries in one state without claiming or changing them", async () => {
        const t = await tenant();
        await store.putInbox(entry(t, 'l1'));
        const [first] = (await store.claimInbox(100, at(1), 30)).filter((r) => r.tenant === t);
        await store.finishInbox(first!.id, 'failed', at(2), 'normalizer exploded');
        for (const id of ['l2', 'l3']) await store.putInbox(entry(t, id));
        const pending = await store.listInbox(t, 'pending', 10);
        expect(pending.map((r) => [r.eventId, r.state, r.attempts])).toEqual([
          ['l2', 'pending', 0],
          ['l3', 'pending', 0],
        ]);
        expect(pending[0]!.payload).toEqual({ uuid: 'l2', nested: { list: [1, 'two'] } });
        expect(await store.listInbox(t, 'pending', 1)).toHaveLength(1);
        expect((await store.listInbox(t, 'failed', 10)).map((r) => [r.eventId, r.attempts, r.error])).toEqual([['l1', 1, 'normalizer exploded']]);
        // Listing moved nothing: the pending entries are still due, with no attempt counted.
        expect((await store.claimInbox(100, at(40), 30)).filter((r) => r.tenant === t).map((r) => [r.eventId, r.attempts])).toEqual([
          ['l2', 1],
          ['l3', 1],
        ]);
      });

      it('retries an entry at the time given', async () => {
        const t = await tenant();
        await store.putInbox(entry(t, 'r'));
        const [row] = (await store.claimInbox(100, at(1), 30)).filter((r) => r.tenant === t);
        await store.retryInbox(row!.id, at(5), 'connector unavailable');
        expect((await store.claimInbox(100, at(4), 30)).filter((r) => r.tenant === t)).toEqual([]);
        const [again] = (await store.claimInbox(100, at(5), 30)).filter((r) => r.tenant === t);
        expect(again?.error).toBe('connector unavailable');
      });

      it('settles a pending entry once, inside the transaction doing its work, and not at all when that rolls back', async () => {
        const t = await tenant();
        await store.putInbox(entry(t, 's1'));
        const [row] = (await store.claimInbox(100, at(1), 30)).filter((r) => r.tenant === t);
        await expect(
          store.transaction(async (tx) => {
            expect(await tx.settleInbox(row!.id, at(2))).toBe(true);
            throw new Error('the work failed');
          }),
        ).rejects.toThrow('the work failed');
        // Rolled back: still pending, handed out again when its lease runs out.
        const [again] = (await store.claimInbox(100, at(40), 30)).filter((r) => r.tenant === t);
        expect(again?.id).toBe(row!.id);
        // Two workers holding the same entry settle it concurrently: exactly one wins.
        const results = await Promise.all([1, 2].map(() => store.transaction((tx) => tx.settleInbox(row!.id, at(41)))));
        expect(results.sort()).toEqual([false, true]);
        expect(await store.transaction((tx) => tx.settleInbox(row!.id, at(42)))).toBe(false);
        expect((await store.claimInbox(100, at(100), 30)).filter((r) => r.tenant === t)).toEqual([]);
        const [settled] = await rawSql(store).query<{ state: string }>('SELECT state FROM inbox WHERE id = $1', [row!.id]);
        expect(settled?.state).toBe('processed');
        // An entry finished otherwise (ignored, failed) is not settled either.
        await store.putInbox(entry(t, 's2'));
        const [other] = (await store.claimInbox(100, at(1), 30)).filter((r) => r.tenant === t);
        await store.finishInbox(other!.id, 'failed', at(2), 'gave up');
        expect(await store.settleInbox(other!.id, at(3))).toBe(false);
      });

      it('stores a page of deliveries in one statement, each once, and says which were new', async () => {
        const t = await tenant();
        await store.putInbox(entry(t, 'p-old'));
        const odd = { ...entry(t, 'p-odd'), payload: { uuid: 'p-odd', text: 'nul \u0000 and \u001b here', n: 1 }, occurredAt: at(5) };
        const stored = await store.transaction((tx) => tx.putInboxMany([entry(t, 'p1'), entry(t, 'p-old'), odd, entry(t, 'p1'), entry(t, 'p2')]));
        expect(stored.map((r) => r.inserted)).toEqual([true, false, true, false, true]);
        expect(stored[3]!.id).toBe(stored[0]!.id); // a later copy in the page is answered with the first's id
        expect(await store.putInboxMany([])).toEqual([]);
        const rows = await store.listInbox(t, 'pending', 100);
        expect(rows.map((r) => r.eventId)).toEqual(['p-old', 'p1', 'p-odd', 'p2']);
        const kept = rows.find((r) => r.eventId === 'p-odd')!;
        expect([kept.payload, kept.occurredAt, kept.receivedAt, kept.via, kept.eventType]).toEqual([
          odd.payload,
          at(5),
          T0,
          'hook',
          'user.mfa.factor.reset_all',
        ]);
        // Due at once, as putInbox's entries are.
        expect((await store.claimInbox(100, T0, 30)).filter((r) => r.tenant === t)).toHaveLength(4);
      });

      it('settles several pending entries in one statement, and says which: an entry settled or finished before is left as it is', async () => {
        const t = await tenant();
        for (const id of ['m1', 'm2', 'm3', 'm4']) await store.putInbox(entry(t, id));
        const rows = (await store.claimInbox(100, at(1), 30)).filter((r) => r.tenant === t);
        const id = (eventId: string) => rows.find((r) => r.eventId === eventId)!.id;
        await store.settleInbox(id('m2'), at(2));
        await store.finishInbox(id('m3'), 'failed', at(2), 'gave up');
        const settled = await store.transaction((tx) => tx.settleInboxes([id('m1'), id('m2'), id('m3'), id('m4')], at(3)));
        expect(settled.sort((a, b) => a - b)).toEqual([id('m1'), id('m4')]);
        expect(await store.settleInboxes([], at(4))).toEqual([]);
        const states = await rawSql(store).query<{ event_id: string; state: string }>('SELECT event_id, state FROM inbox WHERE tenant = $1 ORDER BY event_id', [
          t,
        ]);
        expect(states.map((r) => [r.event_id, r.state])).toEqual([
          ['m1', 'processed'],
          ['m2', 'processed'],
          ['m3', 'failed'],
          ['m4', 'processed'],
        ]);
      });

      it('marks several entries ignored in one statement, each with its reason, as finishInbox would', async () => {
        const t = await tenant();
        for (const id of ['i1', 'i2', 'i3']) await store.putInbox(entry(t, id));
        const rows = (await store.claimInbox(100, at(1), 30)).filter((r) => r.tenant === t);
        const id = (eventId: string) => rows.find((r) => r.eventId === eventId)!.id;
        const odd = 'own change \u0000 \u{1F600} "reported" back';
        await store.ignoreInboxes(
          [
            { id: id('i1'), reason: 'not governed' },
            { id: id('i3'), reason: odd },
          ],
          at(2),
        );
        await store.ignoreInboxes([], at(3));
        const ignored = await store.listInbox(t, 'ignored', 10);
        expect(ignored.map((e) => [e.eventId, e.error])).toEqual([
          ['i1', 'not governed'],
          ['i3', odd],
        ]);
        expect((await store.listInbox(t, 'pending', 10)).map((e) => e.eventId)).toEqual(['i2']);
      });

      it('never gives one entry to two concurrent claimers', async () => {
        const t = await tenant();
        for (let i = 0; i < 20; i++) await store.putInbox(entry(t, `c${i}`));
        const batches = await Promise.all([1, 2, 3, 4].map(() => store.claimInbox(6, at(1), 30)));
        const ids = batches
          .flat()
          .filter((r) => r.tenant === t)
          .map((r) => r.eventId);
        expect(new Set(ids).size).toBe(ids.length);
        expect(ids.length).toBe(20);
      });
    });

    describe('changes and decisions', () => {
      it('round-trips a change', async () => {
        const t = await tenant();
        const change = makeChange({ tenant: t, context: { newDevice: true, riskScore: 7 } });
        expect(await store.putChange(change)).toEqual({ inserted: true, id: change.id });
        expect(await store.getChange(t, change.id)).toEqual(change);
        expect(await store.getChange(t, uuidv7())).toBeUndefined();
      });

      it('treats changes sharing a vendor event id as one change', async () => {
        const t = await tenant();
        const viaHook = makeChange({ tenant: t, source: { idp: 'okta', eventIds: ['evt-1'], rawType: 'user.mfa.factor.reset_all', via: 'hook' } });
        const viaPoll = makeChange({ tenant: t, source: { idp: 'okta', eventIds: ['evt-0', 'evt-1'], rawType: 'user.mfa.factor.reset_all', via: 'poll' } });
        expect((await store.putChange(viaHook)).inserted).toBe(true);
        expect(await store.putChange(viaPoll)).toEqual({ inserted: false, id: viaHook.id });
        expect(await store.getChange(t, viaPoll.id)).toBeUndefined();
      });

      it('keeps one change when the same event arrives concurrently', async () => {
        const t = await tenant();
        const racers = [1, 2, 3, 4].map(() => makeChange({ tenant: t, source: { idp: 'okta', eventIds: ['race'], rawType: 'x', via: 'hook' } }));
        const results = await Promise.all(racers.map((c) => store.putChange(c)));
        expect(results.filter((r) => r.inserted)).toHaveLength(1);
        expect(new Set(results.map((r) => r.id)).size).toBe(1);
      });

      it('is idempotent on the change id', async () => {
        const t = await tenant();
        const change = makeChange({ tenant: t });
        await store.putChange(change);
        expect(await store.putChange(change)).toEqual({ inserted: false, id: change.id });
      });

      it("lists a person's changes since a time by target id or login (any case), newest first", async () => {
        const t = await tenant();
        const when = (minutes: number) => new Date(T0.getTime() + minutes * 60_000).toISOString();
        const okta = makeChange({ tenant: t, target: { id: '00u-dana', login: 'dana@acme.example' }, occurredAt: when(10) });
        const entra = makeChange({
          tenant: t,
          kind: 'mailbox.rule',
          channel: 'self_service',
          target: { id: 'entra-dana', login: 'Dana@ACME.example' },
          occurredAt: when(20),
        });
        const old = makeChange({ tenant: t, target: { id: '00u-dana', login: 'dana@acme.example' }, occurredAt: when(-100) });
        const other = makeChange({ tenant: t, target: { id: '00u-omar', login: 'omar@acme.example' }, occurredAt: when(15) });
        for (const c of [okta, entra, old, other]) await store.putChange(c);
        const found = await store.listChangesOfTarget(t, { ids: ['00u-dana'], logins: ['dana@acme.example'] }, T0, 10);
        expect(found.map((c) => c.id)).toEqual([entra.id, okta.id]);
        expect(await store.listChangesOfTarget(t, { ids: ['00u-dana'], logins: [] }, T0, 10)).toEqual([okta]);
        expect((await store.listChangesOfTarget(t, { ids: [], logins: ['DANA@acme.example'] }, T0, 1)).map((c) => c.id)).toEqual([entra.id]);
      });

      it('stores one decision per change', async () => {
        const t = await tenant();
        const change = makeChange({ tenant: t });
        await store.putChange(change);
        const decision = makeDecision(change);
        await store.putDecision(decision);
        expect(await store.getDecision(t, decision.id)).toEqual(decision);
        expect(await store.getDecisionForChange(t, change.id)).toEqual(decision);
        await expect(store.putDecision(makeDecision(change))).rejects.toThrow();
      });
    });

    describe('actions (outbox)', () => {
      it('queues one action per idempotency key', async () => {
        const t = await tenant();
        const first = await store.enqueueAction(action(t, 'k1'));
        const again = await store.enqueueAction(action(t, 'k1', { kind: 'suspend' }));
        expect(first.inserted).toBe(true);
        expect(again).toEqual({ inserted: false, id: first.id });
      });

      it("queues a decision's actions in one call, each once, skipping a known key, as one by one would", async () => {
        const t = await tenant();
        const change = makeChange({ tenant: t });
        const decision = makeDecision(change);
        await store.putChange(change);
        await store.putDecision(decision);
        const decisionId = decision.id;
        const known = await store.enqueueAction(action(t, 'd:hold_group', { kind: 'hold_group', decisionId }));
        const odd = { note: 'nul \u0000 and \u{1F600} and "quotes"' };
        await store.enqueueActions([
          action(t, 'd:hold_group', { kind: 'hold_group', decisionId, targetId: 'other' }),
          action(t, 'd:revoke_sessions', { decisionId, connector: 'okta', params: odd }),
          action(t, 'd:suspend', { kind: 'suspend', decisionId, dryRun: true }),
        ]);
        await store.enqueueActions([]);
        const listed = await store.listActions(t, decisionId);
        expect(listed.map((a) => [a.kind, a.targetId, a.connector, a.dryRun, a.state]).sort()).toEqual([
          ['hold_group', '00u1', undefined, false, 'queued'],
          ['revoke_sessions', '00u1', 'okta', false, 'queued'],
          ['suspend', '00u1', undefined, true, 'queued'],
        ]);
        expect(listed.find((a) => a.kind === 'hold_group')!.id).toBe(known.id);
        expect(listed.find((a) => a.kind === 'revoke_sessions')!.params).toEqual(odd);
        expect(listed.every((a) => a.nextAttemptAt.getTime() === T0.getTime() && a.attempts === 0)).toBe(true);
      });

      it('claims due actions, leases them, and retries or fails them', async () => {
        const t = await tenant();
        const a = action(t, 'a');
        const b = action(t, 'b');
        await store.enqueueAction(a);
        await store.enqueueAction(b);
        const claimed = (await store.claimActions(10, at(1), 60)).filter((r) => r.tenant === t);
        expect(claimed.map((r) => [r.id, r.state, r.attempts])).toEqual([
          [a.id, 'running', 1],
          [b.id, 'running', 1],
        ]);
        expect(claimed[0]!.params).toEqual({ reason: 'test' });
        expect((await store.claimActions(10, at(30), 60)).filter((r) => r.tenant === t)).toEqual([]);

        await store.completeAction(a.id, at(2), { removed: 'f1' });
        await store.failAction(b.id, at(2), 'HTTP 429', at(120));
        expect((await store.claimActions(10, at(100), 60)).filter((r) => r.tenant === t)).toEqual([]);
        const [retried] = (await store.claimActions(10, at(120), 60)).filter((r) => r.tenant === t);
        expect([retried?.id, retried?.attempts, retried?.lastError]).toEqual([b.id, 2, 'HTTP 429']);
        await store.failAction(b.id, at(121), 'HTTP 403', null);
        expect((await store.claimActions(10, at(10_000), 60)).filter((r) => r.tenant === t)).toEqual([]);
      });

      it('reclaims a running action whose lease expired (worker died)', async () => {
        const t = await tenant();
        const a = action(t, 'lease');
        await store.enqueueAction(a);
        await store.claimActions(10, at(1), 60);
        const [again] = (await store.claimActions(10, at(61), 60)).filter((r) => r.tenant === t);
        expect([again?.id, again?.attempts]).toEqual([a.id, 2]);
      });

      it('lists the actions of a decision with their state', async () => {
        const t = await tenant();
        const change = makeChange({ tenant: t });
        const decision = makeDecision(change);
        await store.putChange(change);
        await store.putDecision(decision);
        await store.enqueueAction(action(t, 'x', { decisionId: decision.id, dryRun: true }));
        await store.enqueueAction(action(t, 'y', { decisionId: decision.id, connector: 'okta', kind: 'hold_group' }));
        const listed = await store.listActions(t, decision.id);
        expect(listed.map((r) => [r.kind, r.state, r.dryRun, r.connector])).toEqual([
          ['revoke_sessions', 'queued', true, undefined],
          ['hold_group', 'queued', false, 'okta'],
        ]);
      });
    });

    describe('audit chain', () => {
      const event = (i: number) => ({ type: 'test.event', actor: { type: 'system' as const, id: 'warden' }, subject: { n: String(i) }, data: { i } });

      it('links each record to the previous hash, per tenant', async () => {
        const t = await tenant();
        const a = await appendAudit(store, t, event(1));
        const b = await appendAudit(store, t, event(2));
        expect([a.seq, b.seq]).toEqual([1, 2]);
        expect(a.prevHash).toBe('0'.repeat(64));
        expect(b.prevHash).toBe(a.hash);
        expect(await store.auditHead(t)).toEqual({ seq: 2, hash: b.hash });
        const other = await tenant();
        expect((await appendAudit(store, other, event(1))).seq).toBe(1);
        expect((await store.readAudit(t, 0, 10)).map((r) => r.seq)).toEqual([1, 2]);
        expect(await store.auditTenants()).toEqual(expect.arrayContaining([t, other]));
      });

      it('never forks under concurrent appends', async () => {
        const t = await tenant();
        await Promise.all(Array.from({ length: 25 }, (_, i) => appendAudit(store, t, event(i))));
        const rows = await store.readAudit(t, 0, 100);
        expect(rows.map((r) => r.seq)).toEqual(Array.from({ length: 25 }, (_, i) => i + 1));
        expect((await verifyAudit(store, t)).ok).toBe(true);
      });

      it('refuses UPDATE, DELETE and TRUNCATE of audit records', async () => {
        const t = await tenant();
        await appendAudit(store, t, event(1));
        const sql = rawSql(store);
        await expect(sql.query(`UPDATE audit SET type = 'x' WHERE tenant = $1`, [t])).rejects.toThrow(/append-only/);
        await expect(sql.query(`DELETE FROM audit WHERE tenant = $1`, [t])).rejects.toThrow(/append-only/);
        await expect(sql.exec(`TRUNCATE audit`)).rejects.toThrow(/append-only/);
      });

      it('rolls an append back with the transaction it was part of', async () => {
        const t = await tenant();
        const change = makeChange({ tenant: t });
        await expect(
          store.transaction(async (tx) => {
            await tx.putChange(change);
            await appendAudit(tx, t, event(1));
            throw new Error('abort');
          }),
        ).rejects.toThrow('abort');
        expect(await store.getChange(t, change.id)).toBeUndefined();
        expect(await store.auditHead(t)).toEqual({ seq: 0, hash: '0'.repeat(64) });
      });

      it('commits everything in a transaction together', async () => {
        const t = await tenant();
        const change = makeChange({ tenant: t });
        const decision = makeDecision(change);
        await store.transaction(async (tx) => {
          await tx.putChange(change);
          await tx.putDecision(decision);
          await appendAudit(tx, t, event(1));
        });
        expect(await store.getDecisionForChange(t, change.id)).toEqual(decision);
        expect((await store.auditHead(t)).seq).toBe(1);
      });
    });

    describe('holds and releases', () => {
      it('cancels queued actions of a decision, not running or finished ones', async () => {
        const t = await tenant();
        const change = makeChange({ tenant: t });
        const decision = makeDecision(change);
        await store.putChange(change);
        await store.putDecision(decision);
        const ran = action(t, 'ran', { decisionId: decision.id, kind: 'hold_group' });
        const waiting = action(t, 'waiting', { decisionId: decision.id, kind: 'remove_new_factor', createdAt: at(100) });
        await store.enqueueAction(ran);
        expect((await store.claimActions(1000, at(1), 60)).some((a) => a.id === ran.id)).toBe(true);
        await store.enqueueAction(waiting);
        expect(await store.cancelQueuedActions(t, decision.id, ['hold_group', 'remove_new_factor'], at(2))).toEqual([waiting.id]);
        expect((await store.listActions(t, decision.id)).map((a) => [a.kind, a.state])).toEqual([
          ['hold_group', 'running'],
          ['remove_new_factor', 'cancelled'],
        ]);
        expect((await store.claimActions(10, at(10_000), 60)).filter((a) => a.id === waiting.id)).toEqual([]);
      });

      it('lists unreleased holds and records a release once', async () => {
        const t = await tenant();
        const held = makeChange({ tenant: t });
        const allowed = makeChange({ tenant: t });
        const hold = makeDecision(held, { decidedAt: T0.toISOString() });
        await store.putChange(held);
        await store.putChange(allowed);
        await store.putDecision(hold);
        await store.putDecision(makeDecision(allowed, { outcome: 'allow' }));
        expect((await store.listHolds(t, 10)).map((d) => d.id)).toEqual([hold.id]);
        const release = { tenant: t, decisionId: hold.id, releasedAt: at(5).toISOString(), actor: { type: 'cli', id: 'ops@host' }, reason: 'REQ-1 approved' };
        expect(await store.putRelease(release)).toBe(true);
        expect(await store.putRelease({ ...release, reason: 'again' })).toBe(false);
        expect(await store.getRelease(t, hold.id)).toEqual(release);
        expect(await store.listHolds(t, 10)).toEqual([]);
      });
    });

    describe('leases', () => {
      it('gives a lease to one holder until it expires or is released', async () => {
        const name = `poller:${driver}:${++n}`;
        expect(await store.acquireLease(name, 'replica-a', T0, 30)).toBe(true);
        expect(await store.acquireLease(name, 'replica-b', at(10), 30)).toBe(false);
        expect(await store.acquireLease(name, 'replica-a', at(20), 30)).toBe(true); // renewal
        expect(await store.acquireLease(name, 'replica-b', at(45), 30)).toBe(false);
        expect(await store.acquireLease(name, 'replica-b', at(50), 30)).toBe(true); // a's lease ran out at 50
        await store.releaseLease(name, 'replica-a'); // not a's any more: no effect
        expect(await store.acquireLease(name, 'replica-a', at(51), 30)).toBe(false);
        await store.releaseLease(name, 'replica-b');
        expect(await store.acquireLease(name, 'replica-a', at(52), 30)).toBe(true);
      });

      it('lets exactly one of several racing replicas take a free lease', async () => {
        const name = `race:${driver}:${++n}`;
        const won = await Promise.all(['a', 'b', 'c', 'd'].map((h) => store.acquireLease(name, h, T0, 30)));
        expect(won.filter(Boolean)).toHaveLength(1);
      });
    });

    describe("Warden's own changes", () => {
      it('records, replaces by ref, and finds them by target and time', async () => {
        const t = await tenant();
        expect(await store.getOwnChange(t, 'okta', 'action:a1')).toBeUndefined();
        await store.putOwnChange({ tenant: t, connector: 'okta', ref: 'action:a1', targetId: '00u1', eventTypes: ['user.session.clear'], at: at(10) });
        await store.putOwnChange({ tenant: t, connector: 'okta', ref: 'action:a2', targetId: '00u1', eventTypes: ['user.mfa.factor.deactivate'], at: at(20) });
        await store.putOwnChange({ tenant: t, connector: 'okta', ref: 'action:a3', targetId: '00u2', eventTypes: ['user.session.clear'], at: at(20) });
        await store.putOwnChange({ tenant: t, connector: 'entra', ref: 'action:a4', targetId: '00u1', eventTypes: ['x'], at: at(20) });
        expect(await store.getOwnChange(t, 'okta', 'action:a1')).toEqual({
          tenant: t,
          connector: 'okta',
          ref: 'action:a1',
          targetId: '00u1',
          eventTypes: ['user.session.clear'],
          at: at(10),
        });
        expect((await store.findOwnChanges(t, 'okta', '00u1', at(0), at(30))).map((c) => c.ref)).toEqual(['action:a1', 'action:a2']);
        expect((await store.findOwnChanges(t, 'okta', '00u1', at(15), at(20))).map((c) => c.ref)).toEqual(['action:a2']);
        expect(await store.findOwnChanges(t, 'okta', '00u1', at(21), at(30))).toEqual([]);

        await store.putOwnChange({
          tenant: t,
          connector: 'okta',
          ref: 'action:a1',
          targetId: '00u1',
          eventTypes: ['user.session.clear'],
          at: at(12),
          result: { revoked: true },
        });
        expect(await store.getOwnChange(t, 'okta', 'action:a1')).toMatchObject({ at: at(12), result: { revoked: true } });
      });
    });

    describe('retention', () => {
      // Far in the past, so the store-wide prune touches no other test's rows.
      const old = (days: number) => new Date(Date.UTC(2001, 0, 1) + days * 86_400_000);

      it('prunes finished inbox entries, own changes and sent events older than their cutoffs, and nothing else', async () => {
        const t = await tenant();
        const inbox = (eventId: string) => ({ tenant: t, source: 'okta', eventId, via: 'poll' as const, payload: { uuid: eventId }, receivedAt: old(0) });
        for (const id of ['done-old', 'ignored-old', 'failed-old', 'pending-old', 'done-new']) await store.putInbox(inbox(id));
        const claimed = (await store.claimInbox(100, old(0), 30)).filter((r) => r.tenant === t);
        const byId = new Map(claimed.map((r) => [r.eventId, r.id]));
        await store.finishInbox(byId.get('done-old')!, 'processed', old(1));
        await store.finishInbox(byId.get('ignored-old')!, 'ignored', old(1));
        await store.finishInbox(byId.get('failed-old')!, 'failed', old(1), 'bad payload');
        await store.finishInbox(byId.get('done-new')!, 'processed', old(20));
        await store.retryInbox(byId.get('pending-old')!, old(1), 'later');

        await store.putOwnChange({ tenant: t, connector: 'okta', ref: 'action:old', targetId: '00u1', eventTypes: ['user.session.clear'], at: old(1) });
        await store.putOwnChange({ tenant: t, connector: 'okta', ref: 'action:new', targetId: '00u1', eventTypes: ['user.session.clear'], at: old(20) });

        const event = (id: string, day: number) => ({ id, tenant: t, type: 'alert.raised', body: '{}', createdAt: old(day) });
        const [sent, waiting, recent] = [uuidv7(), uuidv7(), uuidv7()];
        await store.putNotifyEvent(event(sent, 1), ['soar']);
        await store.putNotifyEvent(event(waiting, 1), ['soar']);
        await store.putNotifyEvent(event(recent, 20), ['soar']);
        const deliveries = (await store.claimDeliveries(100, old(1), 30)).filter((d) => d.tenant === t);
        await store.completeDelivery(deliveries.find((d) => d.eventId === sent)!.id, old(1), 204);

        const pruned = await store.pruneRetained(
          { inbox: old(10), ownChanges: old(10), events: old(10), notMeLinks: old(0), ssfSets: old(0), ssfReceived: old(0) },
          1000,
        );
        expect(pruned.inbox).toBeGreaterThanOrEqual(2);
        expect(pruned.ownChanges).toBeGreaterThanOrEqual(1);
        expect(pruned.events).toBeGreaterThanOrEqual(1);

        // Pruned entries can arrive again (changes still de-duplicate vendor events); kept ones cannot.
        const again = async (id: string) => (await store.putInbox(inbox(id))).inserted;
        expect(await again('done-old')).toBe(true);
        expect(await again('ignored-old')).toBe(true);
        expect(await again('failed-old')).toBe(false);
        expect(await again('pending-old')).toBe(false);
        expect(await again('done-new')).toBe(false);
        expect(await store.getOwnChange(t, 'okta', 'action:old')).toBeUndefined();
        expect(await store.getOwnChange(t, 'okta', 'action:new')).toBeDefined();
        const events = await rawSql(store).query<{ id: string }>('SELECT id FROM notify_events WHERE tenant = $1 ORDER BY created_at, id', [t]);
        expect(events.map((e) => String(e.id)).sort()).toEqual([waiting, recent].sort());
        const left = await rawSql(store).query<{ event_id: string }>('SELECT event_id FROM notify_deliveries WHERE tenant = $1', [t]);
        expect(left.map((d) => String(d.event_id)).sort()).toEqual([waiting, recent].sort());

        // Leave nothing due that other tests' store-wide claims could take.
        for (const d of deliveries.filter((d) => d.eventId !== sent)) await store.failDelivery(d.id, old(1), 'test over', null, null);
        for (const row of (await store.claimInbox(1000, old(30), 30)).filter((r) => r.tenant === t)) await store.finishInbox(row.id, 'ignored', old(30));
      });

      it('deletes at most `limit` rows of a kind per call', async () => {
        const t = await tenant();
        for (let i = 0; i < 5; i++)
          await store.putOwnChange({ tenant: t, connector: 'okta', ref: `action:${i}`, targetId: '00u9', eventTypes: ['x'], at: old(2) });
        const only = { inbox: old(0), ownChanges: old(10), events: old(0), notMeLinks: old(0), ssfSets: old(0), ssfReceived: old(0) };
        const first = await store.pruneRetained(only, 3);
        expect(first.ownChanges).toBe(3);
        await store.pruneRetained(only, 3);
        expect(await store.findOwnChanges(t, 'okta', '00u9', old(0), old(10))).toEqual([]);
      });

      it('prunes expired "not me" links, delivered SETs and received jtis older than their cutoffs; failed and queued SETs stay', async () => {
        const t = await tenant();
        const link = (id: string, expiresDay: number) => ({
          id,
          tenant: t,
          personId: '00u1',
          subject: { kind: 'request' as const, id: 'r1' },
          createdAt: old(expiresDay - 1),
          expiresAt: old(expiresDay),
        });
        await store.putNotMeLink(link('expired', 2));
        await store.putNotMeLink(link('live', 20));
        await store.putSsfStream({ tenant: t, id: 's1', receiver: 'okta', config: {}, status: 'enabled', createdAt: old(0), updatedAt: old(0) });
        const set = (jti: string) => ({ tenant: t, streamId: 's1', jti, eventType: 'x', claims: { jti }, method: 'poll' as const, createdAt: old(1) });
        for (const jti of ['delivered-old', 'delivered-new', 'failed-old', 'queued-old']) await store.putSsfSet(set(jti), old(1));
        await store.ackSsfSets(t, 's1', ['delivered-old'], old(2));
        await store.ackSsfSets(t, 's1', ['delivered-new'], old(20));
        await store.rejectSsfSets(t, 's1', [{ jti: 'failed-old', error: 'invalid_key' }]);
        await store.rememberSsfJti(t, 'https://idp.example', 'j-old', old(2));
        await store.rememberSsfJti(t, 'https://idp.example', 'j-new', old(20));

        const pruned = await store.pruneRetained(
          { inbox: old(0), ownChanges: old(0), events: old(0), notMeLinks: old(10), ssfSets: old(10), ssfReceived: old(10) },
          1000,
        );
        expect(pruned.notMeLinks).toBeGreaterThanOrEqual(1);
        expect(pruned.ssfSets).toBeGreaterThanOrEqual(1);
        expect(pruned.ssfReceived).toBeGreaterThanOrEqual(1);
        expect(await store.getNotMeLink(t, 'expired')).toBeUndefined();
        expect(await store.getNotMeLink(t, 'live')).toBeDefined();
        const sets = await store.listSsfSets(t, undefined, 100);
        expect(sets.map((s) => s.jti).sort()).toEqual(['delivered-new', 'failed-old', 'queued-old']);
        // A pruned jti can be accepted again (its SET is too old by then anyway); a kept one is still a replay.
        expect(await store.rememberSsfJti(t, 'https://idp.example', 'j-old', old(21))).toBe(true);
        expect(await store.rememberSsfJti(t, 'https://idp.example', 'j-new', old(21))).toBe(false);
        await store.deleteSsfStream(t, 's1');
      });
    });

    describe('ssf streams', () => {
      it('claims push SETs of enabled streams only, and of any stream the types delivered whatever the status', async () => {
        const t = await tenant();
        const now = new Date(Date.UTC(2001, 0, 1));
        await store.putSsfStream({ tenant: t, id: 'paused', receiver: 'r', config: {}, status: 'paused', createdAt: now, updatedAt: now });
        const set = (jti: string, eventType: string) => ({
          tenant: t,
          streamId: 'paused',
          jti,
          eventType,
          claims: { jti },
          method: 'push' as const,
          createdAt: now,
        });
        await store.putSsfSet(set('held', 'urn:example:credential-change'), now);
        await store.putSsfSet(set('announce', 'urn:example:stream-updated'), now);
        const mine = (rows: Array<{ tenant: string; jti: string }>) => rows.filter((r) => r.tenant === t).map((r) => r.jti);
        expect(mine(await store.claimSsfPushSets(100, now, 30))).toEqual([]);
        expect(mine(await store.claimSsfPushSets(100, now, 30, { alwaysTypes: ['urn:example:stream-updated'] }))).toEqual(['announce']);
        await store.putSsfStream({ tenant: t, id: 'poll', receiver: 'r', config: {}, status: 'paused', createdAt: now, updatedAt: now });
        for (const [jti, type] of [
          ['p1', 'urn:example:credential-change'],
          ['p2', 'urn:example:stream-updated'],
        ])
          await store.putSsfSet({ ...set(jti!, type!), streamId: 'poll', method: 'poll' }, now);
        expect((await store.pendingSsfPollSets(t, 'poll', 10)).map((s) => s.jti)).toEqual(['p1', 'p2']);
        expect((await store.pendingSsfPollSets(t, 'poll', 10, { onlyTypes: ['urn:example:stream-updated'] })).map((s) => s.jti)).toEqual(['p2']);
        await store.deleteSsfStream(t, 'paused');
        await store.deleteSsfStream(t, 'poll');
      });
    });

    describe('broker runs', () => {
      const run = (t: string, requestId: string) => ({ tenant: t, requestId, connector: 'entra', kind: 'tap.issue', startedAt: T0 });

      it('claims a request once, then hands back the run that holds it', async () => {
        const t = await tenant();
        expect(await store.claimBrokerRun(run(t, 'req-1'))).toEqual({ claimed: true });
        const again = await store.claimBrokerRun({ ...run(t, 'req-1'), startedAt: at(5) });
        expect(again).toEqual({
          claimed: false,
          run: { tenant: t, requestId: 'req-1', connector: 'entra', kind: 'tap.issue', state: 'started', startedAt: T0, details: {} },
        });
        expect(await store.claimBrokerRun(run(t, 'req-2'))).toEqual({ claimed: true });
      });

      it('lets exactly one of several concurrent claims of a request win', async () => {
        const t = await tenant();
        const results = await Promise.all(Array.from({ length: 6 }, () => store.claimBrokerRun(run(t, 'req-race'))));
        expect(results.filter((r) => r.claimed)).toHaveLength(1);
      });

      it('records what a run did, without touching another tenant', async () => {
        const t = await tenant();
        const other = await tenant();
        await store.claimBrokerRun(run(t, 'req-1'));
        await store.claimBrokerRun(run(other, 'req-1'));
        await store.finishBrokerRun(t, 'req-1', { reference: 'tap-123', expiresAt: at(3600), details: { lifetimeMinutes: 60, isUsableOnce: true } }, at(2));
        expect(await store.getBrokerRun(t, 'req-1')).toEqual({
          tenant: t,
          requestId: 'req-1',
          connector: 'entra',
          kind: 'tap.issue',
          state: 'done',
          startedAt: T0,
          finishedAt: at(2),
          reference: 'tap-123',
          expiresAt: at(3600),
          details: { lifetimeMinutes: 60, isUsableOnce: true },
        });
        expect((await store.getBrokerRun(other, 'req-1'))?.state).toBe('started');
        expect(await store.getBrokerRun(t, 'req-none')).toBeUndefined();
      });

      it('restarts a started run only for the caller that saw its start time', async () => {
        const t = await tenant();
        await store.claimBrokerRun(run(t, 'req-1'));
        const restarts = await Promise.all([store.restartBrokerRun(t, 'req-1', T0, at(120)), store.restartBrokerRun(t, 'req-1', T0, at(121))]);
        expect(restarts.filter(Boolean)).toHaveLength(1);
        expect(await store.restartBrokerRun(t, 'req-1', T0, at(130))).toBe(false);
        await store.finishBrokerRun(t, 'req-1', { reference: 'x' }, at(140));
        const startedAt = (await store.getBrokerRun(t, 'req-1'))!.startedAt;
        expect(await store.restartBrokerRun(t, 'req-1', startedAt, at(150))).toBe(false); // done runs never restart
      });

      it('abandons a started run so the request can run again, never a done one', async () => {
        const t = await tenant();
        await store.claimBrokerRun(run(t, 'req-1'));
        await store.abandonBrokerRun(t, 'req-1');
        expect(await store.getBrokerRun(t, 'req-1')).toBeUndefined();
        expect(await store.claimBrokerRun(run(t, 'req-1'))).toEqual({ claimed: true });
        await store.finishBrokerRun(t, 'req-1', { reference: 'tap-1' }, at(1));
        await store.abandonBrokerRun(t, 'req-1');
        expect((await store.getBrokerRun(t, 'req-1'))?.reference).toBe('tap-1');
      });
    });

    describe('detection state', () => {
      const row = (tenant: string, key: string, over: Partial<DetectionStateRow> = {}): DetectionStateRow => ({
        tenant,
        rule: 'pair',
        key,
        ruleHash: 'h1',
        events: [{ uid: 'okta:e1', at: T0.getTime(), mask: 1 }],
        expiresAt: at(3600),
        updatedAt: T0,
        ...over,
      });

      it('stores, replaces, locks and deletes the state of one rule and key', async () => {
        const t = await tenant();
        expect(await store.transaction((tx) => tx.lockDetectionState(t, 'pair', 'alice'))).toBeUndefined();
        await store.putDetectionState(row(t, 'alice'));
        await store.putDetectionState(row(t, 'alice', { ruleHash: 'h2', events: [], dueAt: at(60), updatedAt: at(1) }));
        expect(await store.transaction((tx) => tx.lockDetectionState(t, 'pair', 'alice'))).toEqual(
          row(t, 'alice', { ruleHash: 'h2', events: [], dueAt: at(60), updatedAt: at(1) }),
        );
        expect(await store.countDetectionStates(t)).toBe(1);
        await store.deleteDetectionState(t, 'pair', 'alice');
        expect(await store.countDetectionStates(t)).toBe(0);
      });

      it('serializes the creation of one key across concurrent transactions (no lost update of a state that did not exist)', async () => {
        const t = await tenant();
        await Promise.all(
          [1, 2, 3].map((n) =>
            store.transaction(async (tx) => {
              const current = await tx.lockDetectionState(t, 'pair', 'new-person');
              const seen = current ? (current.events as { ns: number[] }).ns : [];
              await new Promise((r) => setTimeout(r, 5));
              await tx.putDetectionState(row(t, 'new-person', { events: { ns: [...seen, n] } }));
            }),
          ),
        );
        const stored = await store.transaction((tx) => tx.lockDetectionState(t, 'pair', 'new-person'));
        expect([...(stored!.events as { ns: number[] }).ns].sort()).toEqual([1, 2, 3]);
      });

      it('serializes read-modify-write of one key across concurrent transactions (no lost update)', async () => {
        const t = await tenant();
        await store.putDetectionState(row(t, 'bob', { events: { n: 0 } }));
        await Promise.all(
          [1, 2, 3, 4].map(() =>
            store.transaction(async (tx) => {
              const current = await tx.lockDetectionState(t, 'pair', 'bob');
              const n = (current!.events as { n: number }).n;
              await new Promise((r) => setTimeout(r, 5));
              await tx.putDetectionState(row(t, 'bob', { events: { n: n + 1 } }));
            }),
          ),
        );
        expect((await store.transaction((tx) => tx.lockDetectionState(t, 'pair', 'bob')))!.events).toEqual({ n: 4 });
      });

      it('locks, writes and deletes the states of many keys, one statement each, keys and events with NUL and odd unicode kept as they were', async () => {
        const t = await tenant();
        const NUL = '\u0000';
        // NUL, the store's escape character, both, astral and combining characters, right-to-left text.
        const keys = ['alice', `bo${NUL}b`, 'x\uFDD0y', '\uFDD00', 'z\u{1F600}\u0301', '\u05D0\u05D1@acme.example', 'bo\uFDD00b'];
        const rows = keys.map((key, i) =>
          row(t, key, {
            rule: i % 2 ? `pair${NUL}` : 'pair',
            events: [{ uid: `okta:${key}`, at: T0.getTime() + i, mask: 1, change: { id: key, [`k${NUL}`]: NUL, esc: '\uFDD0' } }],
            ...(i % 3 === 0 ? { dueAt: at(i) } : {}),
          }),
        );
        const ids = (rs: readonly DetectionStateRow[]) => rs.map((r) => ({ tenant: r.tenant, rule: r.rule, key: r.key }));
        const sorted = (rs: DetectionStateRow[]) => [...rs].sort((a, b) => (a.rule + a.key < b.rule + b.key ? -1 : 1));
        const lock = (ks: Array<{ tenant: string; rule: string; key: string }>) => store.transaction((tx) => tx.lockDetectionStates(ks));
        expect(await lock(ids(rows))).toEqual([]);
        expect(await lock([])).toEqual([]);
        // All new: none replaced.
        expect(await store.transaction((tx) => tx.putDetectionStates(rows))).toEqual([]);
        expect(await store.countDetectionStates(t)).toBe(keys.length);
        // Missing keys, keys differing only by NUL or the escape, and a key given twice: the stored ones, once each.
        const asked = [...ids(rows).reverse(), ids(rows)[0]!, { tenant: t, rule: 'pair', key: 'bob' }, { tenant: t, rule: 'pair', key: 'x\uFDD0\uFDD0y' }];
        expect(sorted(await lock(asked))).toEqual(sorted(rows));
        // One by one and many at once read the same rows.
        for (const r of rows) expect(await store.transaction((tx) => tx.lockDetectionState(r.tenant, r.rule, r.key))).toEqual(r);
        // Replacing: a key given twice is written as its last row; the others stay.
        const changed = row(t, keys[1]!, { rule: `pair${NUL}`, ruleHash: 'h2', events: { n: NUL }, expiresAt: at(7), updatedAt: at(2) });
        const replaced = await store.putDetectionStates([{ ...changed, ruleHash: 'h-first' }, rows[3]!, changed, row(t, 'new')]);
        // The keys that had a row, as they were given (NUL and all); the new one was inserted.
        expect(sorted(replaced.map((k) => row(k.tenant, k.key, { rule: k.rule })))).toEqual(
          sorted([changed, rows[3]!].map((r) => row(t, r.key, { rule: r.rule }))),
        );
        await store.deleteDetectionStates([{ tenant: t, rule: 'pair', key: 'new' }]);
        expect(sorted(await lock(ids(rows)))).toEqual(sorted(rows.map((r) => (r.key === changed.key ? changed : r))));
        await store.transaction((tx) => tx.deleteDetectionStates([...ids(rows.slice(0, 4)), { tenant: t, rule: 'pair', key: 'nobody' }]));
        expect(sorted(await lock(ids(rows)))).toEqual(sorted(rows.slice(4)));
        await store.deleteDetectionStates([]);
        await store.putDetectionStates([]);
        expect(await store.countDetectionStates(t)).toBe(keys.length - 4);
      });

      it('serializes read-modify-write of overlapping keys locked many at once, asked in any order (no lost update, no deadlock)', async () => {
        const t = await tenant();
        const keys = Array.from({ length: 12 }, (_, i) => `k${String(i).padStart(2, '0')}`);
        await store.putDetectionStates(keys.map((k) => row(t, k, { events: { n: 0 } })));
        // Each writer asks for its keys in another order: forwards, backwards, odd first, …
        const orders = [
          keys,
          [...keys].reverse(),
          [...keys.filter((_, i) => i % 2), ...keys.filter((_, i) => i % 2 === 0)],
          keys.slice(3),
          keys.slice(0, 9).reverse(),
        ];
        await Promise.all(
          orders.map((order) =>
            store.transaction(async (tx) => {
              const held = await tx.lockDetectionStates(order.map((key) => ({ tenant: t, rule: 'pair', key })));
              await tx.putDetectionStates(held.map((r) => ({ ...r, events: { n: (r.events as { n: number }).n + 1 } })));
            }),
          ),
        );
        const counts = new Map(
          (await store.transaction((tx) => tx.lockDetectionStates(keys.map((key) => ({ tenant: t, rule: 'pair', key }))))).map((r) => [r.key, r.events]),
        );
        expect(keys.map((k) => [k, counts.get(k)])).toEqual(keys.map((k) => [k, { n: orders.filter((o) => o.includes(k)).length }]));
      });

      it('hands a due state to one claimant, and prunes only expired state with nothing due', async () => {
        const t = await tenant();
        await store.putDetectionState(row(t, 'due', { dueAt: at(10), expiresAt: at(10) }));
        await store.putDetectionState(row(t, 'later', { dueAt: at(100), expiresAt: at(100) }));
        await store.putDetectionState(row(t, 'expired', { expiresAt: at(5) }));
        await store.putDetectionState(row(t, 'fresh', { expiresAt: at(500) }));
        const claim = () =>
          store.transaction(async (tx) => {
            const due = (await tx.claimDueDetectionStates(at(20), 100)).filter((r) => r.tenant === t);
            for (const { dueAt: _done, ...r } of due) await tx.putDetectionState({ ...r, expiresAt: at(20) });
            return due.map((r) => r.key);
          });
        const [a, b] = await Promise.all([claim(), claim()]);
        expect([...a, ...b]).toEqual(['due']);
        expect(await store.pruneDetectionStates(at(20), 1000)).toBeGreaterThanOrEqual(2);
        expect(await store.countDetectionStates(t)).toBe(2); // 'later' (still due) and 'fresh'
      });

      it("keeps each source's watermark per tenant, only ever moving it forward, also under concurrent writers", async () => {
        const t = await tenant();
        const other = await tenant();
        const sorted = async (tenant: string) => (await store.getSourceWatermarks(tenant)).sort((a, b) => a.source.localeCompare(b.source));
        expect(await store.getSourceWatermarks(t)).toEqual([]);
        await store.advanceSourceWatermarks(t, [
          { source: 'okta/hook', at: at(10), seen: at(11) },
          { source: 'okta/poll', at: at(5), seen: at(12) },
        ]);
        await store.advanceSourceWatermarks(other, [{ source: 'okta/hook', at: at(99), seen: at(99) }]);
        // An older event time with a newer clock: `at` stays, `seen` moves.
        await store.advanceSourceWatermarks(t, [{ source: 'okta/hook', at: at(3), seen: at(20) }]);
        // A newer event time with an older clock: `at` moves, `seen` stays.
        await store.transaction((tx) => tx.advanceSourceWatermarks(t, [{ source: 'okta/poll', at: at(30), seen: at(1) }]));
        expect(await sorted(t)).toEqual([
          { source: 'okta/hook', at: at(10), seen: at(20) },
          { source: 'okta/poll', at: at(30), seen: at(12) },
        ]);
        await Promise.all([40, 60, 50, 45].map((m) => store.advanceSourceWatermarks(t, [{ source: 'entra/poll', at: at(m), seen: at(100 - m) }])));
        expect((await sorted(t)).find((m) => m.source === 'entra/poll')).toEqual({ source: 'entra/poll', at: at(60), seen: at(60) });
        expect(await sorted(other)).toEqual([{ source: 'okta/hook', at: at(99), seen: at(99) }]);
      });
    });

    describe('alerts', () => {
      it('stores, updates and reads an alert', async () => {
        const t = await tenant();
        const a = alertOn(t, 'alice@acme.example', 0);
        await store.putAlert(a);
        expect(await store.getAlert(t, a.id)).toEqual(a);
        const merged = mergeMatch(a, { rule: { id: 'chain', title: 'Chain', severity: 'critical', attack: [] }, key: a.key, changes: a.changes }, at(60));
        await store.updateAlert(merged);
        expect(await store.getAlert(t, a.id)).toEqual(merged);
        expect(await store.getAlert(t, uuidv7())).toBeUndefined();
      });

      it('finds the open alert a new match on the same key groups with', async () => {
        const t = await tenant();
        const older = alertOn(t, 'k@acme.example', 0);
        const newer = alertOn(t, 'k@acme.example', 60);
        const closed = { ...alertOn(t, 'k@acme.example', 120), status: 'closed' as const };
        for (const a of [older, newer, closed]) await store.putAlert(a);
        await store.putAlert(alertOn(t, 'other@acme.example', 90));
        const lock = (from: Date) => store.transaction((tx) => tx.lockOpenAlert(t, 'k@acme.example', from));
        expect((await lock(T0))?.id).toBe(newer.id);
        expect(await lock(at(61 * 60))).toBeUndefined();
      });

      it('gives the open alerts on some keys, most severe first, not older than asked', async () => {
        const t = await tenant();
        const low = alertOn(t, 'a@acme.example', 0, { severity: 'low', raisedAt: at(10) });
        const critical = alertOn(t, 'b@acme.example', 0, { severity: 'critical', raisedAt: at(5) });
        const old = alertOn(t, 'a@acme.example', 0, { severity: 'high', raisedAt: at(-3600) });
        for (const a of [low, critical, old, alertOn(t, 'c@acme.example', 0)]) await store.putAlert(a);
        expect((await store.openAlertsFor(t, ['a@acme.example', 'b@acme.example'], T0, 10)).map((a) => a.id)).toEqual([critical.id, low.id]);
      });

      it('lists alerts newest first, filtered and paged', async () => {
        const t = await tenant();
        const alerts = [0, 1, 2, 3, 4].map((i) =>
          alertOn(t, `u${i % 2}@acme.example`, i, { raisedAt: at(i), severity: i === 4 ? 'critical' : 'medium', rule: i === 3 ? 'chain' : 'pair' }),
        );
        for (const a of alerts) await store.putAlert(a);
        await store.updateAlert({ ...alerts[0]!, status: 'closed' });
        const ids = async (q: Partial<Parameters<Store['listAlerts']>[1]>) =>
          (await store.listAlerts(t, { limit: 10, ...q })).map((a) => alerts.findIndex((x) => x.id === a.id));
        expect(await ids({})).toEqual([4, 3, 2, 1, 0]);
        expect(await ids({ status: 'open' })).toEqual([4, 3, 2, 1]);
        expect(await ids({ severity: 'high' })).toEqual([4]);
        expect(await ids({ rule: 'chain' })).toEqual([3]);
        expect(await ids({ key: 'u1@acme.example' })).toEqual([3, 1]);
        expect(await ids({ since: at(3) })).toEqual([4, 3]);
        expect(await ids({ limit: 2 })).toEqual([4, 3]);
        expect(await ids({ limit: 2, before: { raisedAt: alerts[3]!.raisedAt, id: alerts[3]!.id } })).toEqual([2, 1]);
      });
    });

    describe('values PostgreSQL refuses (NUL)', () => {
      // PostgreSQL keeps no U+0000 in text or jsonb; the store must keep it anyway, byte for byte,
      // and still keep apart what differs only by it or by the escape character the store uses.
      const NUL = '\u0000';
      const tricky = { nul: `a${NUL}b`, [`key${NUL}`]: NUL, esc: 'x\uFDD0y', escNul: '\uFDD00', literal: '\\u0000', list: [NUL, { deep: `${NUL}${NUL}` }] };

      it('stores an inbox entry holding NUL in its payload, keys, id and type, and gives it back as it was', async () => {
        const t = await tenant();
        const eventId = `evt${NUL}1`;
        const first = await store.putInbox({
          tenant: t,
          source: 'okta',
          eventId,
          eventType: `user.mfa${NUL}`,
          via: 'hook',
          payload: { uuid: eventId, ...tricky },
          receivedAt: T0,
        });
        expect(first.inserted).toBe(true);
        expect(await store.putInbox({ tenant: t, source: 'okta', eventId, via: 'poll', payload: {}, receivedAt: T0 })).toEqual({
          inserted: false,
          id: first.id,
        });
        // Differs only where the first has NUL: a different event.
        expect((await store.putInbox({ tenant: t, source: 'okta', eventId: 'evt1', via: 'hook', payload: {}, receivedAt: T0 })).inserted).toBe(true);
        expect((await store.putInbox({ tenant: t, source: 'okta', eventId: 'evt\uFDD001', via: 'hook', payload: {}, receivedAt: T0 })).inserted).toBe(true);
        const rows = (await store.claimInbox(1000, at(1), 30)).filter((r) => r.tenant === t);
        const row = rows.find((r) => r.id === first.id)!;
        expect(row.eventId).toBe(eventId);
        expect(row.eventType).toBe(`user.mfa${NUL}`);
        expect(row.payload).toEqual({ uuid: eventId, ...tricky });
        expect(rows.map((r) => r.eventId).sort()).toEqual(['evt1', eventId, 'evt\uFDD001'].sort());
      });

      it('stores a change, a cursor and an audit record holding NUL; the audit chain verifies', async () => {
        const t = await tenant();
        const change = makeChange({ tenant: t, target: { id: `00u${NUL}`, login: `alice${NUL}@example.com` } });
        expect((await store.putChange(change)).inserted).toBe(true);
        expect(await store.getChange(t, change.id)).toEqual(change);
        await store.setCursor(t, 'okta.syslog', { after: `abc${NUL}`, ...tricky }, T0);
        expect(await store.getCursor(t, 'okta.syslog')).toEqual({ after: `abc${NUL}`, ...tricky });
        await appendAudit(store, t, { type: 'test.event', actor: { type: 'system', id: `warden${NUL}` }, subject: { n: NUL }, data: tricky });
        expect((await verifyAudit(store, t)).ok).toBe(true);
        expect(JSON.parse((await store.readAudit(t, 0, 10))[0]!.record).data).toEqual(tricky);
      });
    });

    describe('oversight views (the console)', () => {
      it('counts decisions by UTC day and outcome since a time', async () => {
        const t = await tenant();
        const decide = async (decidedAt: string, outcome: 'allow' | 'hold' | 'deny') => {
          const change = makeChange({ tenant: t });
          await store.putChange(change);
          await store.putDecision(makeDecision(change, { outcome, decidedAt }));
        };
        await decide('2026-11-24T23:59:59.000Z', 'hold');
        await decide('2026-11-25T00:00:00.000Z', 'allow');
        await decide('2026-11-25T12:00:00.000Z', 'allow');
        await decide('2026-11-25T23:59:59.000Z', 'hold');
        await decide('2026-11-26T08:00:00.000Z', 'deny');
        expect(await store.decisionsByDay(t, new Date('2026-11-25T00:00:00.000Z'))).toEqual([
          { day: '2026-11-25', outcome: 'allow', count: 2 },
          { day: '2026-11-25', outcome: 'hold', count: 1 },
          { day: '2026-11-26', outcome: 'deny', count: 1 },
        ]);
      });

      it('counts alerts by their primary rule, most first', async () => {
        const t = await tenant();
        for (const [rule, minutes] of [
          ['chain', 0],
          ['pair', 1],
          ['chain', 2],
          ['old', -600],
        ] as const)
          await store.putAlert(alertOn(t, `k${minutes}@acme.example`, minutes, { rule, raisedAt: at(minutes * 60) }));
        expect(await store.alertsByRule(t, T0)).toEqual([
          { rule: 'chain', count: 2 },
          { rule: 'pair', count: 1 },
        ]);
      });

      it('reads the audit records about a request, a decision or a change, verbatim and in order', async () => {
        const t = await tenant();
        const actor = { type: 'system' as const, id: 'test' };
        await appendAudit(store, t, { type: 'request.created', actor, subject: { requestId: 'r1' }, data: {}, at: T0 });
        await appendAudit(store, t, { type: 'other', actor, subject: { requestId: 'r2' }, data: {}, at: T0 });
        await appendAudit(store, t, { type: 'decision.recorded', actor, subject: { changeId: 'c1', decisionId: 'd1' }, data: {}, at: T0 });
        await appendAudit(store, t, { type: 'hold.released', actor, subject: { decisionId: 'd1', requestId: 'r1' }, data: {}, at: T0 });
        const rows = await store.auditAbout(t, { requestId: 'r1', decisionId: 'd1' }, 100);
        expect(rows.map((r) => [r.seq, r.type])).toEqual([
          [1, 'request.created'],
          [3, 'decision.recorded'],
          [4, 'hold.released'],
        ]);
        const all = await store.readAudit(t, 0, 10);
        expect(rows[0]).toEqual(all[0]);
        expect((await store.auditAbout(t, { changeId: 'c1' }, 100)).map((r) => r.seq)).toEqual([3]);
        expect(await store.auditAbout(t, {}, 100)).toEqual([]);
      });

      it('lists cursors with when they moved, and counts failed work', async () => {
        const t = await tenant();
        expect(await store.failureCounts(t)).toEqual({ inboxFailed: 0, outboxFailed: 0, notifyFailed: 0, notifyRetrying: 0 });
        await store.setCursor(t, 'okta.syslog', { watermark: 'x' }, at(10));
        await store.setCursor(t, 'entra.subscription', { expiresAt: at(3600).toISOString() }, at(20));
        expect(await store.cursorStates(t)).toEqual([
          { name: 'entra.subscription', value: { expiresAt: at(3600).toISOString() }, updatedAt: at(20).toISOString() },
          { name: 'okta.syslog', value: { watermark: 'x' }, updatedAt: at(10).toISOString() },
        ]);
        const a = action(t, 'gives-up');
        await store.enqueueAction(a);
        await store.claimActions(100, at(1), 60);
        await store.failAction(a.id, at(2), 'gave up', null);
        expect((await store.failureCounts(t)).outboxFailed).toBe(1);
      });
    });

    describe('cursors and API keys', () => {
      it('stores and overwrites a cursor', async () => {
        const t = await tenant();
        expect(await store.getCursor(t, 'okta.syslog')).toBeUndefined();
        await store.setCursor(t, 'okta.syslog', { since: '2026-11-25T10:00:00Z', after: 'abc' }, T0);
        await store.setCursor(t, 'okta.syslog', { since: '2026-11-25T11:00:00Z' }, at(1));
        expect(await store.getCursor(t, 'okta.syslog')).toEqual({ since: '2026-11-25T11:00:00Z' });
      });

      it('stores, lists and revokes API keys', async () => {
        const t = await tenant();
        const key = {
          id: `k${n}${driver}`,
          tenant: t,
          name: 'okta-workflows',
          secretHash: 'ab'.repeat(32),
          scopes: ['decisions:write'],
          createdAt: T0.toISOString(),
        };
        await store.putApiKey(key);
        expect(await store.getApiKey(key.id)).toEqual(key);
        expect(await store.listApiKeys(t)).toEqual([key]);
        expect(await store.revokeApiKey(key.id, at(5))).toBe(true);
        expect(await store.revokeApiKey(key.id, at(6))).toBe(false);
        expect((await store.getApiKey(key.id))?.revokedAt).toBe(at(5).toISOString());
        expect(await store.getApiKey('nope')).toBeUndefined();
      });
    });

    workflowStoreContract(driver, () => store, tenant);
    consoleStoreContract(driver, () => store, tenant);
  });
}
