import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Decision } from '../core/decision.js';
import type { Store } from '../store/store.js';
import { changeDigest, decideChange } from './decide-change.js';
import { makeChange } from '../../test/helpers/changes.js';
import { examplePolicy, policyFrom } from '../../test/helpers/policies.js';
import { pgliteTestStore, type TestStore } from '../../test/helpers/test-stores.js';

let handle: TestStore;
let store: Store;
const enforce = examplePolicy();
const monitor = policyFrom(`
  apiVersion: warden/v1
  tenant: monitored
  mode: monitor
  rules:
    - { id: hold-helpdesk, when: 'change.channel == "helpdesk"', outcome: hold, onHold: [hold_group, revoke_sessions] }
`);
const policies = { get: (t: string) => (t === 'monitored' ? monitor : enforce) };
const actor = { type: 'idp' as const, id: 'okta' };

beforeAll(async () => {
  handle = await pgliteTestStore();
  store = handle.store;
  await store.ensureTenants(['acme', 'monitored']);
});
afterAll(() => handle.dispose());

describe('decideChange', () => {
  it('queues the actions of a held observed change, records and audits it', async () => {
    const seen: Decision[] = [];
    const change = makeChange({ factor: { type: 'push', id: 'opf1' } });
    const result = await decideChange({ store, policies, onDecision: (d) => seen.push(d) }, { change, actor, observed: true });
    expect(result.replayed).toBe(false);
    expect(result.decision.outcome).toBe('hold');
    expect(seen).toEqual([result.decision]);
    const actions = await store.listActions('acme', result.decision.id);
    expect(actions.map((a) => [a.kind, a.dryRun, a.targetId])).toEqual([
      ['hold_group', false, change.target.id],
      ['revoke_sessions', false, change.target.id],
      ['remove_new_factor', false, change.target.id],
    ]);
    expect(actions[2]!.params).toEqual({ changeId: change.id, factorId: 'opf1' });
    expect(new Set(actions.map((a) => a.connector))).toEqual(new Set([change.source.idp]));
    const [record] = (await store.readAudit('acme', 0, 100)).map((r) => JSON.parse(r.record)).filter((r) => r.subject.decisionId === result.decision.id);
    expect(record.data.change.digest).toBe(changeDigest(change));
    expect(record.data.actions).toEqual([
      { kind: 'hold_group', dryRun: false },
      { kind: 'revoke_sessions', dryRun: false },
      { kind: 'remove_new_factor', dryRun: false },
    ]);
  });

  it('records would-be actions as dry runs in monitor mode', async () => {
    const result = await decideChange({ store, policies }, { change: makeChange({ tenant: 'monitored' }), actor, observed: true });
    expect(result.decision.mode).toBe('monitor');
    expect((await store.listActions('monitored', result.decision.id)).map((a) => [a.kind, a.dryRun])).toEqual([
      ['hold_group', true],
      ['revoke_sessions', true],
    ]);
  });

  it('queues nothing for a proposed change or an allowed one', async () => {
    const proposed = await decideChange({ store, policies }, { change: makeChange(), actor, observed: false });
    expect(proposed.actions).toEqual([]);
    expect(await store.listActions('acme', proposed.decision.id)).toEqual([]);
    const allowed = await decideChange({ store, policies }, { change: makeChange({ kind: 'session.revoke', channel: 'admin' }), actor, observed: true });
    expect(allowed.decision.outcome).toBe('allow');
    expect(await store.listActions('acme', allowed.decision.id)).toEqual([]);
  });

  it('decides a vendor event once: a duplicate delivery returns the first decision and queues nothing more', async () => {
    const source = { idp: 'okta', eventIds: ['evt-dup-1'], rawType: 'user.mfa.factor.reset_all', via: 'hook' as const };
    const seen: Decision[] = [];
    const first = await decideChange({ store, policies, onDecision: (d) => seen.push(d) }, { change: makeChange({ source }), actor, observed: true });
    const again = await decideChange(
      { store, policies, onDecision: (d) => seen.push(d) },
      { change: makeChange({ source: { ...source, via: 'poll' } }), actor, observed: true },
    );
    expect(again.replayed).toBe(true);
    expect(again.decision).toEqual(first.decision);
    expect(seen).toHaveLength(1);
    expect(await store.listActions('acme', first.decision.id)).toHaveLength(3);
  });

  it('decides concurrent duplicates once', async () => {
    const source = { idp: 'okta', eventIds: ['evt-race'], rawType: 'user.mfa.factor.reset_all', via: 'hook' as const };
    const results = await Promise.all([1, 2, 3].map(() => decideChange({ store, policies }, { change: makeChange({ source }), actor, observed: true })));
    expect(results.filter((r) => !r.replayed)).toHaveLength(1);
    expect(new Set(results.map((r) => r.decision.id)).size).toBe(1);
  });
});
