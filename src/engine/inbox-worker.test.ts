import { Registry } from 'prom-client';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { OPERATIONS } from '../admin/operations.js';
import type { OpContext } from '../connector/operation.js';
import type { WardenConfig } from '../config/load-config.js';
import type { InboxHandler, ConnectorContext } from '../connector/contract.js';
import { createLogger } from '../runtime/logger.js';
import type { InboxRow, Store } from '../store/store.js';
import { InboxWorker, inboxBackoffMs, keyedChange } from './inbox-worker.js';
import { outboxBackoffMs } from './outbox-worker.js';
import { makeChange } from '../../test/helpers/changes.js';
import { examplePolicy } from '../../test/helpers/policies.js';
import { pgliteTestStore, type TestStore } from '../../test/helpers/test-stores.js';

describe('keyedChange', () => {
  it('keys a single change by the delivery event id', () => {
    const c = makeChange({ source: { idp: 'okta', eventIds: [], rawType: 'x', via: 'hook' } });
    expect(keyedChange(c, 'evt', 0, 1).source.eventIds).toEqual(['evt']);
    const already = makeChange({ source: { idp: 'okta', eventIds: ['evt'], rawType: 'x', via: 'hook' } });
    expect(keyedChange(already, 'evt', 0, 1)).toBe(already);
  });

  it('gives each of several changes from one event a key of its own', () => {
    const c = makeChange({ source: { idp: 'okta', eventIds: ['evt', 'other'], rawType: 'x', via: 'hook' } });
    expect([0, 1].map((i) => keyedChange(c, 'evt', i, 2).source.eventIds)).toEqual([
      ['evt#0', 'other'],
      ['evt#1', 'other'],
    ]);
  });
});

describe('retry backoff', () => {
  it('doubles for the inbox up to five minutes', () => {
    expect([1, 2, 3, 10, 20].map(inboxBackoffMs)).toEqual([2000, 4000, 8000, 300_000, 300_000]);
  });
  it('doubles for actions up to ten minutes, with ±20 % jitter', () => {
    expect(outboxBackoffMs(1, () => 0.5)).toBe(2000);
    expect(outboxBackoffMs(3, () => 0)).toBe(6400);
    expect(outboxBackoffMs(3, () => 1)).toBe(9600);
    expect(outboxBackoffMs(30, () => 0.5)).toBe(600_000);
  });
});

describe('InboxWorker give-up', () => {
  let handle: TestStore;
  let store: Store;
  beforeAll(async () => {
    handle = await pgliteTestStore();
    store = handle.store;
    await store.ensureTenants(['acme']);
  });
  afterAll(() => handle.dispose());

  it('ends a record whose normalizer keeps throwing failed after maxAttempts: audited, counted, listed, and never in the way of the next entries', async () => {
    const clock = { now: new Date('2026-11-25T10:00:00.000Z') };
    const entry = (eventId: string) => ({
      tenant: 'acme',
      source: 'okta',
      eventId,
      eventType: 'user.mfa.factor.reset_all',
      via: 'hook' as const,
      payload: { uuid: eventId },
      receivedAt: clock.now,
    });
    const poison = await store.putInbox(entry('evt-poison'));
    await store.putInbox(entry('evt-after-1'));
    const seen: string[] = [];
    const handler: InboxHandler = {
      toChanges: async (e: InboxRow) => {
        seen.push(e.eventId);
        if (e.eventId === 'evt-poison') throw new Error('normalizer exploded');
        return { ignored: 'not governed' };
      },
    };
    const registry = new Registry();
    const worker = new InboxWorker({
      store,
      decide: { policies: { get: examplePolicy }, clock: () => clock.now },
      handlers: new Map([['okta', handler]]),
      context: () => ({}) as ConnectorContext,
      log: createLogger('silent'),
      registry,
      clock: () => clock.now,
      maxAttempts: 3,
    });

    expect(await worker.runOnce()).toBe(2);
    expect((await store.listInbox('acme', 'ignored', 10)).map((e) => e.eventId)).toEqual(['evt-after-1']); // not held up
    const waiting = await store.listInbox('acme', 'pending', 10);
    expect(waiting.map((e) => [e.eventId, e.attempts, e.error])).toEqual([['evt-poison', 1, 'normalizer exploded']]);

    await store.putInbox(entry('evt-after-2'));
    expect(await worker.runOnce()).toBe(1); // the new entry; the poison one waits for its back-off
    for (const attempt of [1, 2]) {
      clock.now = new Date(clock.now.getTime() + inboxBackoffMs(attempt));
      expect(await worker.runOnce()).toBe(1);
    }
    const failed = await store.listInbox('acme', 'failed', 10);
    expect(failed.map((e) => [e.id, e.eventId, e.attempts, e.error])).toEqual([[poison.id, 'evt-poison', 3, 'normalizer exploded']]);
    expect(await store.listInbox('acme', 'pending', 10)).toEqual([]);
    clock.now = new Date(clock.now.getTime() + 86_400_000);
    expect(await worker.runOnce()).toBe(0); // given up for good
    expect(seen.filter((id) => id === 'evt-poison')).toHaveLength(3);
    expect(seen.filter((id) => id !== 'evt-poison')).toEqual(['evt-after-1', 'evt-after-2']);

    const audit = (await store.readAudit('acme', 0, 100)).map(
      (r) => JSON.parse(r.record) as { type: string; subject: Record<string, string>; data: Record<string, unknown> },
    );
    expect(audit.filter((r) => r.type === 'inbox.failed')).toEqual([
      expect.objectContaining({
        subject: { inboxId: String(poison.id), eventId: 'evt-poison' },
        data: { source: 'okta', eventType: 'user.mfa.factor.reset_all', attempts: 3, error: 'normalizer exploded' },
      }),
    ]);
    const counted = (await registry.getMetricsAsJSON()).find((m) => m.name === 'warden_inbox_entries_total')!.values;
    expect(counted.map((v) => [v.labels.result, v.value]).sort()).toEqual([
      ['failed', 1],
      ['ignored', 2],
      ['retried', 2],
    ]);

    let out = '';
    const ctx: OpContext = {
      store,
      config: { tenants: [{ id: 'acme' }] } as unknown as WardenConfig,
      actor: { type: 'cli', id: 'ops@host' },
      out: (t) => void (out += t),
      err: () => undefined,
    };
    expect(await OPERATIONS['inbox.list'].run(ctx, { tenant: 'acme', state: 'failed', limit: 50, json: false })).toBe(0);
    expect(out).toBe(`${poison.id}  FAILED  2026-11-25T10:00:00.000Z  okta  user.mfa.factor.reset_all  evt-poison  attempts 3: normalizer exploded\n`);
  });
});
