import { Registry } from 'prom-client';
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import { OPERATIONS } from '../admin/operations.js';
import type { OpContext } from '../connector/operation.js';
import type { WardenConfig } from '../config/load-config.js';
import { ActionError, type Enforcer, type ConnectorContext } from '../connector/contract.js';
import { createLogger } from '../runtime/logger.js';
import type { ActionRow, Store } from '../store/store.js';
import { decideChange } from './decide-change.js';
import { OutboxWorker, outboxBackoffMs } from './outbox-worker.js';
import { makeChange } from '../../test/helpers/changes.js';
import { examplePolicy } from '../../test/helpers/policies.js';
import { pgliteTestStore, type TestStore } from '../../test/helpers/test-stores.js';

/**
 * The outbox's give-up path: an action that keeps failing with a retryable
 * error is retried with back-off (no sooner than the connector asks) and,
 * after `maxAttempts`, ends `failed` — audited `action.failed`, counted, and
 * shown with its hold by `warden holds list` — and is never run again.
 */

let handle: TestStore;
let store: Store;
beforeAll(async () => {
  handle = await pgliteTestStore();
  store = handle.store;
  await store.ensureTenants(['acme']);
});
afterAll(() => handle.dispose());

const audit = async () =>
  (await store.readAudit('acme', 0, 10_000)).map(
    (r) => JSON.parse(r.record) as { type: string; subject: Record<string, string>; data: Record<string, unknown> },
  );

describe('OutboxWorker', () => {
  it('gives up after maxAttempts: the action ends failed, audited, counted, listed with its hold, and is not run again', async () => {
    const clock = { now: new Date('2026-11-25T10:00:00.000Z') };
    const { decision } = await decideChange(
      { store, policies: { get: examplePolicy }, clock: () => clock.now },
      { change: makeChange(), actor: { type: 'idp', id: 'okta' }, observed: true },
    );
    const queued = await store.listActions('acme', decision.id);
    expect(queued.length).toBeGreaterThan(0);
    const calls: string[] = [];
    const enforcer: Enforcer = {
      execute: async (action: ActionRow) => {
        calls.push(action.id);
        throw new ActionError('HTTP 503 Service Unavailable'); // retryable, every time
      },
    };
    const registry = new Registry();
    const worker = new OutboxWorker({
      store,
      enforcers: new Map([[queued[0]!.connector!, enforcer]]),
      context: () => ({}) as ConnectorContext,
      log: createLogger('silent'),
      registry,
      clock: () => clock.now,
      maxAttempts: 3,
      random: () => 0.5,
    });

    for (let round = 1; round <= 3; round++) {
      expect(await worker.runOnce()).toBe(queued.length);
      const states = await store.listActions('acme', decision.id);
      if (round < 3) {
        expect(states.every((a) => a.state === 'queued' && a.attempts === round)).toBe(true);
        // Not due before the back-off has passed.
        clock.now = new Date(clock.now.getTime() + outboxBackoffMs(round, () => 0.5) - 1);
        expect(await worker.runOnce()).toBe(0);
        clock.now = new Date(clock.now.getTime() + 1);
      }
    }
    const final = await store.listActions('acme', decision.id);
    expect(final.map((a) => [a.state, a.attempts, a.lastError])).toEqual(queued.map(() => ['failed', 3, 'HTTP 503 Service Unavailable']));
    expect(calls).toHaveLength(3 * queued.length);

    clock.now = new Date(clock.now.getTime() + 86_400_000);
    expect(await worker.runOnce()).toBe(0); // given up for good
    expect(calls).toHaveLength(3 * queued.length);

    const failed = (await audit()).filter((r) => r.type === 'action.failed' && r.subject.decisionId === decision.id);
    expect(failed.map((r) => [r.subject.actionId, r.data.attempts, r.data.error]).sort()).toEqual(
      queued.map((a) => [a.id, 3, 'HTTP 503 Service Unavailable']).sort(),
    );

    const counted = (await registry.getMetricsAsJSON()).find((m) => m.name === 'warden_actions_total')!.values;
    const total = (result: string) => counted.filter((v) => v.labels.result === result).reduce((n, v) => n + v.value, 0);
    expect([total('retried'), total('failed'), total('executed')]).toEqual([2 * queued.length, queued.length, 0]);

    let out = '';
    const ctx: OpContext = {
      store,
      config: { tenants: [{ id: 'acme' }] } as unknown as WardenConfig,
      actor: { type: 'cli', id: 'ops@host' },
      out: (t) => void (out += t),
      err: () => undefined,
    };
    expect(await OPERATIONS['holds.list'].run(ctx, { tenant: 'acme', limit: 50, json: false })).toBe(0);
    const block = out.slice(out.indexOf(decision.id));
    for (const a of queued) expect(block).toContain(`    action ${a.kind} FAILED after 3 attempt(s): HTTP 503 Service Unavailable\n`);
    out = '';
    await OPERATIONS['holds.list'].run(ctx, { tenant: 'acme', limit: 50, json: true });
    const listed = (JSON.parse(out) as Array<{ id: string; failedActions: Array<{ kind: string; attempts: number }> }>).find((d) => d.id === decision.id)!;
    expect(listed.failedActions.map((a) => [a.kind, a.attempts]).sort()).toEqual(queued.map((a) => [a.kind, 3]).sort());
  });

  it('waits no sooner than the connector asks (a rate-limit reset longer than the back-off)', async () => {
    const clock = { now: new Date('2026-11-25T11:00:00.000Z') };
    const { decision } = await decideChange(
      { store, policies: { get: examplePolicy }, clock: () => clock.now },
      { change: makeChange(), actor: { type: 'idp', id: 'okta' }, observed: true },
    );
    const queued = await store.listActions('acme', decision.id);
    let fail = true;
    const enforcer: Enforcer = {
      execute: async () => {
        if (fail) throw new ActionError('HTTP 429', { retryAfterMs: 51_000 });
        return { ok: true };
      },
    };
    const worker = new OutboxWorker({
      store,
      enforcers: new Map([[queued[0]!.connector!, enforcer]]),
      context: () => ({}) as ConnectorContext,
      log: createLogger('silent'),
      clock: () => clock.now,
      random: () => 0.5,
    });
    expect(await worker.runOnce()).toBe(queued.length);
    fail = false;
    clock.now = new Date(clock.now.getTime() + 50_999);
    expect(await worker.runOnce()).toBe(0);
    clock.now = new Date(clock.now.getTime() + 1);
    expect(await worker.runOnce()).toBe(queued.length);
    expect((await store.listActions('acme', decision.id)).every((a) => a.state === 'done' && a.attempts === 2)).toBe(true);
  });
  it("runs a change's actions at once, sessions ended after the hold, and changes about other people too, but one person's decisions in order", async () => {
    const clock = { now: new Date('2026-11-25T12:00:00.000Z') };
    const deps = { store, policies: { get: examplePolicy }, clock: () => clock.now };
    const decide = async (target: string) =>
      (
        await decideChange(deps, {
          change: makeChange({ target: { id: target, login: `${target}@example.com` } }),
          actor: { type: 'idp', id: 'okta' },
          observed: true,
        })
      ).decision;
    const first = await decide('00u-first');
    clock.now = new Date(clock.now.getTime() + 1);
    const again = await decide('00u-first'); // the same person, a later decision
    const other = await decide('00u-other');
    const actions = async (d: { id: string }) => (await store.listActions('acme', d.id)).map((a) => a.id).sort();
    const [firstIds, againIds, otherIds] = [await actions(first), await actions(again), await actions(other)];
    expect(firstIds.length).toBeGreaterThan(1);

    // Every call waits until the test lets it finish.
    const started: string[] = [];
    const finish = new Map<string, () => void>();
    const enforcer: Enforcer = {
      execute: (action: ActionRow) => {
        started.push(action.id);
        return new Promise((resolve) => finish.set(action.id, () => resolve({ ok: true })));
      },
    };
    const connector = (await store.listActions('acme', first.id))[0]!.connector!;
    const worker = new OutboxWorker({
      store,
      enforcers: new Map([[connector, enforcer]]),
      context: () => ({}) as ConnectorContext,
      log: createLogger('silent'),
      clock: () => clock.now,
      random: () => 0.5,
    });
    const until = (what: () => boolean) => vi.waitFor(() => expect(what()).toBe(true), { timeout: 60_000, interval: 5 });
    const kinds = new Map((await Promise.all([first, again, other].map((d) => store.listActions('acme', d.id)))).flat().map((a) => [a.id, a.kind]));
    const ends = (id: string) => kinds.get(id) === 'revoke_sessions';
    expect(firstIds.some(ends) && firstIds.some((id) => !ends(id))).toBe(true); // the example policy holds and ends sessions
    const run = worker.runOnce();
    const running = () => [...started].sort();
    const holdsOf = (ids: string[]) => ids.filter((id) => !ends(id));
    // First the actions that stop a new sign-in, for both people at once; no session revocation yet.
    await until(() => started.length === holdsOf(firstIds).length + holdsOf(otherIds).length);
    expect(running()).toEqual([...holdsOf(firstIds), ...holdsOf(otherIds)].sort());
    // The first person's sessions end once their hold is in place.
    for (const id of holdsOf(firstIds)) finish.get(id)!();
    await until(() => started.length === firstIds.length + holdsOf(otherIds).length);
    expect(running()).toEqual([...firstIds, ...holdsOf(otherIds)].sort());
    for (const id of firstIds.filter(ends)) finish.get(id)!();
    // Then the later decision about the same person, which waited for the first one's actions.
    await until(() => started.length === firstIds.length + holdsOf(otherIds).length + holdsOf(againIds).length);
    expect(running()).toEqual([...firstIds, ...holdsOf(otherIds), ...holdsOf(againIds)].sort());
    for (const id of [...holdsOf(otherIds), ...holdsOf(againIds)]) finish.get(id)!();
    await until(() => started.length === firstIds.length + otherIds.length + againIds.length);
    for (const id of [...otherIds, ...againIds].filter(ends)) finish.get(id)!();
    expect(await run).toBe(firstIds.length + againIds.length + otherIds.length);
    for (const d of [first, again, other]) expect((await store.listActions('acme', d.id)).every((a) => a.state === 'done' && a.attempts === 1)).toBe(true);
    const executed = (await audit()).filter((r) => r.type === 'action.executed').map((r) => r.subject.actionId);
    expect(executed.filter((id) => [...firstIds, ...againIds, ...otherIds].includes(id!)).sort()).toEqual([...firstIds, ...againIds, ...otherIds].sort());
  });
});
