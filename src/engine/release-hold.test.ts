import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { isWardenError } from '../core/errors.js';
import type { Store } from '../store/store.js';
import { decideChange } from './decide-change.js';
import { releaseHold } from './release-hold.js';
import { makeChange } from '../../test/helpers/changes.js';
import { examplePolicy, policyFrom } from '../../test/helpers/policies.js';
import { pgliteTestStore, type TestStore } from '../../test/helpers/test-stores.js';

let handle: TestStore;
let store: Store;
const monitor = policyFrom(`
  apiVersion: warden/v1
  tenant: watch
  mode: monitor
  rules:
    - { id: r, when: 'change.channel == "helpdesk"', outcome: hold, onHold: [hold_group, revoke_sessions] }
`);
const policies = { get: (t: string) => (t === 'watch' ? monitor : examplePolicy()) };
const actor = { type: 'cli' as const, id: 'ops@host' };

beforeAll(async () => {
  handle = await pgliteTestStore();
  store = handle.store;
  await store.ensureTenants(['acme', 'watch']);
});
afterAll(() => handle.dispose());

async function held(tenant = 'acme') {
  const { decision } = await decideChange({ store, policies }, { change: makeChange({ tenant }), actor: { type: 'idp', id: 'okta' }, observed: true });
  return decision;
}

describe('releaseHold', () => {
  it('undoes containment that ran, cancels what has not, and audits who and why', async () => {
    const decision = await held();
    const [first] = await store.claimActions(1, new Date(), 60); // hold_group is running (or done)
    expect(first?.kind).toBe('hold_group');
    const result = await releaseHold(store, { tenant: 'acme', decisionId: decision.id, actor, reason: 'REQ-7 approved by iam' });
    expect(result.released).toBe(true);
    expect(result.undo).toEqual(['release_hold_group']);
    expect(result.cancelled).toHaveLength(2);
    const actions = await store.listActions('acme', decision.id);
    expect(actions.map((a) => [a.kind, a.state]).sort()).toEqual([
      ['hold_group', 'running'],
      ['release_hold_group', 'queued'],
      ['remove_new_factor', 'cancelled'],
      ['revoke_sessions', 'cancelled'],
    ]);
    expect(actions.find((a) => a.kind === 'release_hold_group')).toMatchObject({ connector: 'api', params: expect.objectContaining({ undoes: first!.id }) });
    const audit = (await store.readAudit('acme', 0, 100)).map((r) => JSON.parse(r.record)).filter((r) => r.type === 'hold.released');
    expect(audit).toEqual([
      expect.objectContaining({
        actor,
        subject: { decisionId: decision.id, changeId: decision.changeId },
        data: expect.objectContaining({ reason: 'REQ-7 approved by iam' }),
      }),
    ]);
    expect((await store.listHolds('acme', 100)).map((d) => d.id)).not.toContain(decision.id);
  });

  it('releases once', async () => {
    const decision = await held();
    expect((await releaseHold(store, { tenant: 'acme', decisionId: decision.id, actor, reason: 'ok' })).released).toBe(true);
    expect(await releaseHold(store, { tenant: 'acme', decisionId: decision.id, actor, reason: 'again' })).toEqual({ released: false, cancelled: [], undo: [] });
  });

  it('records undo as a dry run in monitor mode', async () => {
    const decision = await held('watch');
    await store.claimActions(10, new Date(), 60);
    await releaseHold(store, { tenant: 'watch', decisionId: decision.id, actor, reason: 'ok' });
    const undo = (await store.listActions('watch', decision.id)).find((a) => a.kind === 'release_hold_group');
    expect(undo?.dryRun).toBe(true);
  });

  it('refuses an unknown decision, an allowed one, and a release without a reason', async () => {
    const codeOf = async (p: Promise<unknown>) =>
      p.then(
        () => 'ok',
        (e: unknown) => (isWardenError(e) ? e.code : 'other'),
      );
    expect(await codeOf(releaseHold(store, { tenant: 'acme', decisionId: '01900000-0000-7000-8000-000000000000', actor, reason: 'x' }))).toBe('ERR_NOT_FOUND');
    const { decision } = await decideChange({ store, policies }, { change: makeChange({ kind: 'session.revoke', channel: 'admin' }), actor, observed: true });
    expect(await codeOf(releaseHold(store, { tenant: 'acme', decisionId: decision.id, actor, reason: 'x' }))).toBe('ERR_CONFLICT');
    expect(await codeOf(releaseHold(store, { tenant: 'acme', decisionId: (await held()).id, actor, reason: ' ' }))).toBe('ERR_VALIDATION');
  });
});
