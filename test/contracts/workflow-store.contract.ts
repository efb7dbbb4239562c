import { describe, expect, it } from 'vitest';
import type { ChangeRequest, Evidence, Review } from '../../src/core/change-request.js';
import { uuidv7 } from '../../src/core/ids.js';
import type { PolicyException } from '../../src/core/policy-exception.js';
import type { Store } from '../../src/store/store.js';
import { makeChange, makeDecision } from '../helpers/changes.js';

const T0 = new Date('2026-11-25T10:00:00.000Z');
const at = (seconds: number) => new Date(T0.getTime() + seconds * 1000);

/** A stored change request for store tests. */
export function makeRequest(tenant: string, overrides: Partial<ChangeRequest> = {}): ChangeRequest {
  return {
    id: uuidv7(),
    tenant,
    state: 'approved',
    kind: 'factor.reset_all',
    changeChannel: 'helpdesk',
    target: {
      id: '00u-dana',
      login: 'dana@acme.example',
      groups: [],
      adminRoles: [],
      flags: { shared: false, executive: false, serviceAccount: false, breakGlass: false },
      attributes: {},
    },
    requester: { id: '00u-dana' },
    executor: { id: '00u-sam', type: 'user' },
    justification: { ticket: { system: 'servicenow', id: 'INC0010002' } },
    contact: { channel: 'phone' },
    context: {},
    broker: false,
    options: {},
    needs: { raisedBy: [], ttlSeconds: 3600, rules: ['r'], policyVersion: 'sha256:0' },
    createdBy: { type: 'api_key', id: 'k1' },
    createdAt: T0.toISOString(),
    updatedAt: T0.toISOString(),
    approvedAt: T0.toISOString(),
    expiresAt: at(3600).toISOString(),
    proofingAttempts: [],
    ...overrides,
  };
}

/**
 * The workflow and event-queue operations of the Store port (src/store/capabilities/: request, review, exception, idempotency and notify stores),
 * run by storeContract for every driver.
 */
export function workflowStoreContract(_driver: string, getStore: () => Store, tenant: () => Promise<string>): void {
  describe('change requests', () => {
    it('round-trips a request and updates its state', async () => {
      const store = getStore();
      const t = await tenant();
      const r = makeRequest(t, { state: 'draft', approvedAt: undefined });
      await store.putRequest(r);
      expect(await store.getRequest(t, r.id)).toEqual(r);
      expect(await store.getRequest('other', r.id)).toBeUndefined();
      expect(await store.getRequest(t, 'not-a-uuid')).toBeUndefined();
      const approved = { ...r, state: 'approved' as const, approvedAt: at(60).toISOString(), updatedAt: at(60).toISOString() };
      await store.updateRequest(approved);
      expect(await store.getRequest(t, r.id, { lock: true })).toEqual(approved);
    });

    it('lists newest first with filters and a cursor', async () => {
      const store = getStore();
      const t = await tenant();
      const made: ChangeRequest[] = [];
      for (let i = 0; i < 5; i++) {
        const r = makeRequest(t, {
          createdAt: at(i).toISOString(),
          state: i % 2 ? 'approved' : 'cancelled',
          target: { ...makeRequest(t).target, id: i < 3 ? 'u-a' : 'u-b' },
        });
        made.push(r);
        await store.putRequest(r);
      }
      const all = await store.listRequests(t, {}, 10);
      expect(all.map((r) => r.id)).toEqual(made.map((r) => r.id).reverse());
      const page1 = await store.listRequests(t, {}, 2);
      const page2 = await store.listRequests(t, {}, 2, { createdAt: page1[1]!.createdAt, id: page1[1]!.id });
      expect([...page1, ...page2].map((r) => r.id)).toEqual(all.slice(0, 4).map((r) => r.id));
      expect((await store.listRequests(t, { state: 'approved' }, 10)).map((r) => r.id)).toEqual([made[3]!.id, made[1]!.id]);
      expect((await store.listRequests(t, { targetId: 'u-b' }, 10)).map((r) => r.id)).toEqual([made[4]!.id, made[3]!.id]);
      expect(await store.listRequests(t, { createdFrom: at(1), createdTo: at(3) }, 10)).toHaveLength(2);
      expect(await store.listRequests(t, { executorId: 'nobody' }, 10)).toEqual([]);
    });

    it('finds approved, unconsumed requests for a target and kind, valid ones first', async () => {
      const store = getStore();
      const t = await tenant();
      const expired = makeRequest(t, { approvedAt: at(100).toISOString(), expiresAt: at(200).toISOString() });
      const valid = makeRequest(t, { approvedAt: at(50).toISOString(), expiresAt: at(5000).toISOString() });
      const otherKind = makeRequest(t, { kind: 'password.reset' });
      const pending = makeRequest(t, { state: 'pending_approval' });
      for (const r of [expired, valid, otherKind, pending]) await store.putRequest(r);
      const found = await store.transaction((tx) => tx.approvedRequestsFor(t, '00u-dana', 'factor.reset_all', at(300), 10));
      expect(found.map((r) => r.id)).toEqual([valid.id, expired.id]);

      const change = makeChange({ tenant: t });
      await store.putChange(change);
      await store.updateRequest({
        ...valid,
        state: 'executed',
        consumed: { at: at(300).toISOString(), changeId: change.id, decisionId: uuidv7(), eventIds: ['e1'] },
      });
      expect((await store.getRequestByChange(t, change.id))?.id).toBe(valid.id);
      expect((await store.approvedRequestsFor(t, '00u-dana', 'factor.reset_all', at(300), 10)).map((r) => r.id)).toEqual([expired.id]);
      // A change consumes one request only.
      await expect(
        store.updateRequest({ ...expired, consumed: { at: at(300).toISOString(), changeId: change.id, decisionId: uuidv7(), eventIds: [] } }),
      ).rejects.toThrow();
    });

    it('hands out expired open requests once to concurrent sweepers', async () => {
      const store = getStore();
      const t = await tenant();
      const due = makeRequest(t, { state: 'pending_approval', expiresAt: at(10).toISOString() });
      const notDue = makeRequest(t, { state: 'pending_approval', expiresAt: at(1000).toISOString() });
      const closed = makeRequest(t, { state: 'cancelled', expiresAt: at(10).toISOString() });
      for (const r of [due, notDue, closed]) await store.putRequest(r);
      const claimed = await store.transaction((tx) => tx.claimExpiredRequests(at(20), 100));
      expect(claimed.filter((r) => r.tenant === t).map((r) => r.id)).toEqual([due.id]);
    });
  });

  describe('evidence, approvals, reviews, exceptions, idempotency', () => {
    it('keeps evidence, and one proofing record per verifier reference', async () => {
      const store = getStore();
      const t = await tenant();
      const r = makeRequest(t);
      await store.putRequest(r);
      const e: Evidence = {
        id: uuidv7(),
        tenant: t,
        requestId: r.id,
        kind: 'proofing',
        method: 'okta_verify_push',
        level: 'callback',
        accepted: true,
        problems: [],
        verifier: { type: 'system', id: 'okta' },
        reference: 'txn-1',
        verifiedAt: at(1).toISOString(),
        details: { factor: { id: 'f1' } },
      };
      expect(await store.putEvidence(e)).toEqual({ inserted: true });
      expect(await store.putEvidence({ ...e, id: uuidv7() })).toEqual({ inserted: false });
      const ticket: Evidence = {
        ...e,
        id: uuidv7(),
        kind: 'ticket',
        method: 'servicenow',
        reference: 'sys1',
        level: undefined,
        verifiedAt: at(2).toISOString(),
      };
      expect(await store.putEvidence(ticket)).toEqual({ inserted: true });
      expect(await store.putEvidence({ ...ticket, id: uuidv7(), verifiedAt: at(3).toISOString() })).toEqual({ inserted: true });
      expect((await store.listEvidence(t, r.id)).map((x) => x.kind)).toEqual(['proofing', 'ticket', 'ticket']);
    });

    it('refuses a second verdict by the same approver at the database', async () => {
      const store = getStore();
      const t = await tenant();
      const r = makeRequest(t);
      await store.putRequest(r);
      const a = {
        tenant: t,
        requestId: r.id,
        approverId: '00u-ann',
        names: ['ann@acme.example'],
        verdict: 'approve' as const,
        at: at(1).toISOString(),
        groups: ['iam-approvers'],
        roles: [],
        amr: ['mfa'],
      };
      expect(await store.putApproval(a)).toBe(true);
      expect(await store.putApproval({ ...a, verdict: 'reject', at: at(2).toISOString() })).toBe(false);
      expect(await store.putApproval({ ...a, approverId: '00u-bob' })).toBe(true);
      expect((await store.listApprovals(t, r.id)).map((x) => [x.approverId, x.verdict])).toEqual([
        ['00u-ann', 'approve'],
        ['00u-bob', 'approve'],
      ]);
    });

    it('stores reviews and lists open ones by due time across tenants', async () => {
      const store = getStore();
      const t = await tenant();
      const r = makeRequest(t);
      await store.putRequest(r);
      const review: Review = {
        id: uuidv7(),
        tenant: t,
        requestId: r.id,
        kind: 'break_glass',
        state: 'open',
        dueAt: at(100).toISOString(),
        createdAt: T0.toISOString(),
      };
      await store.putReview(review);
      expect(await store.listReviews(t, { state: 'open', dueBefore: at(50) }, 10)).toEqual([]);
      expect(await store.listReviews(t, { state: 'open', dueBefore: at(101) }, 10)).toEqual([review]);
      expect((await store.listReviews(undefined, { state: 'open', dueBefore: at(101) }, 1000)).some((x) => x.id === review.id)).toBe(true);
      const done = {
        ...review,
        state: 'done' as const,
        completedAt: at(120).toISOString(),
        outcome: 'justified' as const,
        reviewer: { type: 'user' as const, id: '00u-aud' },
      };
      await store.updateReview(done);
      expect(await store.getReview(t, review.id)).toEqual(done);
      expect(await store.listReviews(t, { state: 'open' }, 10)).toEqual([]);
    });

    it('stores exceptions, finds them by target name, revokes once', async () => {
      const store = getStore();
      const t = await tenant();
      const e: PolicyException = {
        id: uuidv7(),
        tenant: t,
        ruleId: 'no-sms',
        target: 'Kiosk@Acme.example',
        owner: 'fac@acme.example',
        reason: 'kiosk',
        createdBy: 'admin',
        createdAt: T0.toISOString(),
        expiresAt: at(86400).toISOString(),
      };
      await store.putException(e);
      expect(await store.listExceptions(t, { targets: ['00u-kiosk', 'kiosk@acme.example'] })).toEqual([e]);
      expect(await store.listExceptions(t, { targets: ['someone-else'] })).toEqual([]);
      expect(await store.revokeException(t, e.id, at(5))).toBe(true);
      expect(await store.revokeException(t, e.id, at(6))).toBe(false);
      expect((await store.getException(t, e.id))?.revokedAt).toBe(at(5).toISOString());
    });

    it('keeps the first idempotent response and refuses to overwrite it', async () => {
      const store = getStore();
      const t = await tenant();
      const rec = {
        tenant: t,
        principal: 'k1',
        key: 'retry-me',
        fingerprint: 'f',
        status: 201,
        response: { id: 'x', nested: [1] },
        createdAt: T0.toISOString(),
      };
      expect(await store.putIdempotency(rec)).toBe(true);
      expect(await store.putIdempotency({ ...rec, response: { id: 'y' } })).toBe(false);
      expect(await store.getIdempotency(t, 'k1', 'retry-me')).toEqual(rec);
      expect(await store.getIdempotency(t, 'k2', 'retry-me')).toBeUndefined();
    });

    it('lists decided changes in a time window, oldest first', async () => {
      const store = getStore();
      const t = await tenant();
      for (const s of [10, 20, 30]) {
        const change = makeChange({ tenant: t });
        await store.putChange(change);
        await store.putDecision(makeDecision(change, { decidedAt: at(s).toISOString() }));
      }
      const found = await store.listDecidedChanges(t, at(15), at(40), 10);
      expect(found.map((d) => d.decision.decidedAt)).toEqual([at(20).toISOString(), at(30).toISOString()]);
      expect(found[0]!.change.tenant).toBe(t);
    });

    it('finds the held changes an approval may release: by target, kind and time, not released, not consumed, not proposed', async () => {
      const store = getStore();
      const t = await tenant();
      const held = async (seconds: number, over: Parameters<typeof makeChange>[0] = {}, outcome: 'hold' | 'deny' | 'allow' = 'hold') => {
        const change = makeChange({
          tenant: t,
          target: { id: '00u-held' },
          occurredAt: at(seconds).toISOString(),
          source: { idp: 'okta', eventIds: [uuidv7()], rawType: 'user.mfa.factor.reset_all', via: 'hook' },
          ...over,
        });
        await store.putChange(change);
        const decision = makeDecision(change, { outcome, decidedAt: at(seconds + 1).toISOString() });
        await store.putDecision(decision);
        return { change, decision };
      };
      const second = await held(20);
      const first = await held(10);
      await held(15, { kind: 'password.reset' });
      await held(16, { target: { id: '00u-other' } });
      await held(17, {}, 'deny');
      await held(18, {}, 'allow');
      await held(19, { source: undefined }); // proposed through /v1/decisions
      await held(500); // outside the window
      const released = await held(12);
      await store.putRelease({
        tenant: t,
        decisionId: released.decision.id,
        releasedAt: at(30).toISOString(),
        actor: { type: 'cli', id: 'x' },
        reason: 'checked',
      });
      const consumed = await held(14);
      await store.putRequest(
        makeRequest(t, {
          state: 'executed',
          target: { ...makeRequest(t).target, id: '00u-held' },
          consumed: { at: at(30).toISOString(), changeId: consumed.change.id, decisionId: consumed.decision.id, eventIds: [] },
        }),
      );

      const found = await store.transaction((tx) => tx.heldChangesFor(t, '00u-held', 'factor.reset_all', at(0), at(100), 10));
      expect(found.map((f) => f.decision.id)).toEqual([first.decision.id, second.decision.id]);
      expect(found[0]!.change).toEqual(first.change);
      expect(await store.heldChangesFor(t, '00u-held', 'factor.reset_all', at(11), at(100), 1)).toEqual([{ decision: second.decision, change: second.change }]);
      expect(await store.heldChangesFor('other-tenant', '00u-held', 'factor.reset_all', at(0), at(100), 10)).toEqual([]);
    });

    it('serializes the transactions that match requests to held changes of one target and kind', async () => {
      const store = getStore();
      const t = await tenant();
      const order: string[] = [];
      let open!: () => void;
      const gate = new Promise<void>((resolve) => (open = resolve));
      let locked!: () => void;
      const firstLocked = new Promise<void>((resolve) => (locked = resolve));
      const first = store.transaction(async (tx) => {
        await tx.lockRequestMatching(t, '00u-lock', 'factor.reset_all');
        order.push('first locked');
        locked();
        await gate;
        order.push('first done');
      });
      await firstLocked;
      const second = store.transaction(async (tx) => {
        await tx.lockRequestMatching(t, '00u-lock', 'factor.reset_all');
        order.push('second locked');
      });
      await new Promise((resolve) => setTimeout(resolve, 100));
      expect(order).toEqual(['first locked']);
      open();
      await Promise.all([first, second]);
      expect(order).toEqual(['first locked', 'first done', 'second locked']);
    });
  });

  describe('outbound event queue', () => {
    it('queues an event per endpoint, hands each delivery to one claimer, retries and completes', async () => {
      const store = getStore();
      const t = await tenant();
      const event = { id: uuidv7(), tenant: t, type: 'request.approved', body: '{"type":"request.approved"}', createdAt: T0 };
      await store.putNotifyEvent(event, ['soar', 'slack', 'soar']);
      const claims = await Promise.all([1, 2, 3].map(() => store.claimDeliveries(1, at(1), 30)));
      const mine = claims.flat().filter((d) => d.tenant === t);
      expect(mine.map((d) => d.endpoint).sort()).toEqual(['slack', 'soar']);
      expect(mine[0]!.event).toEqual(event);
      expect((await store.claimDeliveries(10, at(2), 30)).filter((d) => d.tenant === t)).toEqual([]);
      const soar = mine.find((d) => d.endpoint === 'soar')!;
      const slack = mine.find((d) => d.endpoint === 'slack')!;
      await store.failDelivery(soar.id, at(2), 'HTTP 503', 503, at(60));
      await store.completeDelivery(slack.id, at(2), 204);
      expect((await store.claimDeliveries(10, at(59), 30)).filter((d) => d.tenant === t)).toEqual([]);
      const [again] = (await store.claimDeliveries(10, at(60), 30)).filter((d) => d.tenant === t);
      expect([again?.endpoint, again?.attempts, again?.lastStatus, again?.lastError]).toEqual(['soar', 2, 503, 'HTTP 503']);
      await store.failDelivery(again!.id, at(61), 'HTTP 400', 400, null);
      const listed = await store.listDeliveries(t, 10);
      expect(listed.map((d) => [d.endpoint, d.state]).sort()).toEqual([
        ['slack', 'delivered'],
        ['soar', 'failed'],
      ]);
    });

    it('gives a delivery whose worker died to another after the lease', async () => {
      const store = getStore();
      const t = await tenant();
      await store.putNotifyEvent({ id: uuidv7(), tenant: t, type: 'x', body: '{}', createdAt: T0 }, ['e']);
      expect((await store.claimDeliveries(10, at(1), 30)).filter((d) => d.tenant === t)).toHaveLength(1);
      expect((await store.claimDeliveries(10, at(20), 30)).filter((d) => d.tenant === t)).toHaveLength(0);
      expect((await store.claimDeliveries(10, at(32), 30)).filter((d) => d.tenant === t).map((d) => d.attempts)).toEqual([2]);
    });

    it('hands each kind of delivery only to its worker: webhooks, channel:<name>, notme:<name>; lists by kind and state', async () => {
      const store = getStore();
      const t = await tenant();
      await store.putNotifyEvent({ id: uuidv7(), tenant: t, type: 'hold.placed', body: '{}', createdAt: T0 }, ['soar', 'channel:secops', 'notme:mail']);
      const mine = async (kind?: 'webhook' | 'channel' | 'notme') =>
        (await store.claimDeliveries(10, at(1), 30, kind)).filter((d) => d.tenant === t).map((d) => d.endpoint);
      expect(await mine('channel')).toEqual(['channel:secops']);
      expect(await mine('notme')).toEqual(['notme:mail']);
      expect(await mine()).toEqual(['soar']);
      const channel = (await store.listDeliveries(t, 10, { kind: 'channel' }))[0]!;
      await store.failDelivery(channel.id, at(2), 'HTTP 404', null, null);
      expect((await store.listDeliveries(t, 10, { state: 'failed' })).map((d) => d.endpoint)).toEqual(['channel:secops']);
      expect((await store.listDeliveries(t, 10, { kind: 'webhook' })).map((d) => d.endpoint)).toEqual(['soar']);
    });

    it('keeps "this wasn\'t me" links: bound to person and subject, used once, counted per person', async () => {
      const store = getStore();
      const t = await tenant();
      const link = {
        id: `l-${uuidv7()}`,
        tenant: t,
        personId: '00u-dana',
        subject: { kind: 'request' as const, id: 'r1' },
        createdAt: at(0),
        expiresAt: at(1800),
      };
      await store.putNotMeLink(link);
      await store.putNotMeLink({ ...link, id: `l-${uuidv7()}`, createdAt: at(10) });
      expect(await store.getNotMeLink(t, link.id)).toEqual(link);
      expect(await store.getNotMeLink(t, 'nope')).toBeUndefined();
      expect(await store.countNotMeLinks(t, '00u-dana', at(5))).toBe(1);
      expect(await store.countNotMeLinks(t, '00u-dana', at(0))).toBe(2);
      expect(await store.countNotMeLinks(t, '00u-eve', at(0))).toBe(0);
      const uses = await Promise.all([store.useNotMeLink(t, link.id, 'not_me', at(60)), store.useNotMeLink(t, link.id, 'was_me', at(61))]);
      expect(uses.sort()).toEqual([false, true]);
      const used = await store.getNotMeLink(t, link.id);
      expect(used?.usedAt).toBeInstanceOf(Date);
      expect(['not_me', 'was_me']).toContain(used?.outcome);
    });

    it("keeps the state of a link's Okta Verify push, and lists waiting pushes of links unused and unexpired", async () => {
      const store = getStore();
      const t = await tenant();
      const link = (id: string, expires: number) => ({
        id,
        tenant: t,
        personId: '00u-dana',
        subject: { kind: 'change' as const, id: 'c1' },
        createdAt: at(0),
        expiresAt: at(expires),
      });
      for (const [id, expires] of [
        ['waiting', 1800],
        ['used', 1800],
        ['expired', 30],
        ['skipped', 1800],
      ] as const)
        await store.putNotMeLink(link(id, expires));
      for (const id of ['waiting', 'used', 'expired']) await store.setNotMePush(t, id, { state: 'waiting', transactionId: `opf:${id}` });
      await store.setNotMePush(t, 'skipped', { state: 'skipped', note: 'the change is to the push factor' });
      await store.useNotMeLink(t, 'used', 'was_me', at(40));
      const waiting = (await store.waitingNotMePushes(at(60), 100)).filter((l) => l.tenant === t);
      expect(waiting.map((l) => [l.id, l.push])).toEqual([['waiting', { state: 'waiting', transactionId: 'opf:waiting' }]]);
      expect((await store.getNotMeLink(t, 'skipped'))?.push).toEqual({ state: 'skipped', note: 'the change is to the push factor' });
      await store.setNotMePush(t, 'waiting', { state: 'rejected', transactionId: 'opf:waiting' });
      expect((await store.waitingNotMePushes(at(60), 100)).filter((l) => l.tenant === t)).toEqual([]);
    });
  });
}
