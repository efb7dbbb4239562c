import { describe, expect, it } from 'vitest';
import type { StoreOps } from '../store/store.js';
import { makeChange, makeDecision } from '../../test/helpers/changes.js';
import { publishDecisionEvents } from './publish-decision-events.js';

/** A transaction that records what was queued. */
function recordingTx() {
  const queued: Array<{ type: string; data: Record<string, unknown> }> = [];
  const tx = {
    putNotifyEvent: async (e: { type: string; body: string }) => void queued.push({ type: e.type, data: JSON.parse(e.body).data }),
  } as unknown as StoreOps;
  return { tx, queued };
}
const everyone = { endpointsFor: () => ['soar'] };

describe('publishDecisionEvents', () => {
  const byAgent = makeChange({ target: { id: '00u-dana', login: 'dana@acme.test' }, actor: { id: '00u-sam', login: 'sam@acme.test', type: 'user' } });

  it("publishes hold.placed with the tier and each rule's reason, and change.by_other, for an observed held change made by someone else", async () => {
    const { tx, queued } = recordingTx();
    const decision = makeDecision(byAgent, {
      outcome: 'hold',
      tier: 'executive',
      rules: [{ id: 'exec', outcome: 'hold', reason: 'executive reset needs a request', obligations: {} } as never],
    });
    await publishDecisionEvents(tx, everyone, { change: byAgent, decision, observed: true, actions: [] });
    expect(queued.map((q) => q.type)).toEqual(['hold.placed', 'change.by_other']);
    expect(queued[0]!.data).toMatchObject({
      tier: 'executive',
      rules: [{ id: 'exec', outcome: 'hold', reason: 'executive reset needs a request' }],
      change: { target: { id: '00u-dana' }, actor: { id: '00u-sam' } },
    });
  });

  it('publishes nothing for a proposed change, and no hold.placed for an allowed one', async () => {
    const { tx, queued } = recordingTx();
    await publishDecisionEvents(tx, everyone, { change: byAgent, decision: makeDecision(byAgent, { outcome: 'hold' }), observed: false, actions: [] });
    expect(queued).toEqual([]);
    await publishDecisionEvents(tx, everyone, { change: byAgent, decision: makeDecision(byAgent, { outcome: 'allow' }), observed: true, actions: [] });
    expect(queued.map((q) => q.type)).toEqual(['change.by_other']);
  });

  it("publishes no change.by_other for a person's own change or a service's", async () => {
    const { tx, queued } = recordingTx();
    const own = makeChange({ target: { id: '00u-dana' }, actor: { id: '00u-dana', type: 'user' } });
    const service = makeChange({ target: { id: '00u-dana' }, actor: { id: '0oa-app', type: 'service' } });
    for (const c of [own, service])
      await publishDecisionEvents(tx, everyone, { change: c, decision: makeDecision(c, { outcome: 'allow' }), observed: true, actions: [] });
    expect(queued).toEqual([]);
  });
});
