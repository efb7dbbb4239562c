import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { releaseHold } from '../../src/engine/release-hold.js';
import { startOktaWorkflowServer, type OktaWorkflowServer } from '../helpers/okta-workflow-server.js';

/**
 * issue 17 §5 on the Okta simulator: an API token created without an
 * approved request is held by the example policy (`new-api-token`) and
 * revoked through the real okta-sdk-nodejs (`apiTokenApi.revokeApiToken`);
 * the revoke is Warden's own change, audited; a release before the outbox
 * ran cancels it, and a release after it has nothing to restore.
 */
describe('revoke_new_credential on the Okta simulator', () => {
  let w: OktaWorkflowServer;
  beforeAll(async () => {
    w = await startOktaWorkflowServer();
  });
  afterAll(() => w?.close());

  const decisionFor = async (eventId: string) =>
    (await w.audit()).find((r) => r.type === 'decision.recorded' && (r.data.change?.source?.eventIds as string[] | undefined)?.includes(eventId));

  it("a new API token is held and revoked; the revoke is recorded as Warden's own and audited with its result", async () => {
    const tom = w.people.frank.id; // no admin roles: the detection rules on privileged credentials stay out of this story
    const { token, event } = w.sim.createApiToken(tom, 'sync-job');
    expect(w.sim.apiTokens.has(token.id)).toBe(true);
    await w.settle();

    expect(w.sim.apiTokens.has(token.id)).toBe(false);
    expect(w.sim.requests.filter((r) => r.method === 'DELETE' && r.path === `/api/v1/api-tokens/${token.id}`)).toHaveLength(1);
    expect(w.sim.log.filter((e) => e.eventType === 'system.api_token.revoke').map((e) => (e.target as Array<{ id: string }>)[0]!.id)).toEqual([token.id]);

    const decision = await decisionFor(event.uuid);
    expect(decision?.data).toMatchObject({
      outcome: 'hold',
      rules: [{ id: 'new-api-token', outcome: 'hold' }],
      actions: [{ kind: 'revoke_new_credential', dryRun: false }],
    });
    const executed = (await w.audit()).filter((r) => r.type === 'action.executed' && r.data.kind === 'revoke_new_credential');
    expect(executed).toHaveLength(1);
    expect(executed[0]!.data.result).toEqual({ revoked: [token.id] });

    const own = await w.server.store.findOwnChanges('acme', 'okta', tom, new Date(w.clock.now.getTime() - 60_000), new Date(w.clock.now.getTime() + 60_000));
    expect(own.filter((o) => o.eventTypes.includes('system.api_token.revoke')).map((o) => o.result)).toEqual([{ revoked: [token.id] }]);

    // Released afterwards (the request was approved late): a revoked token is not restored; the owner creates a new one under the request.
    const released = await releaseHold(w.server.store, {
      tenant: 'acme',
      decisionId: decision!.subject.decisionId!,
      actor: { type: 'cli', id: 'ops' },
      reason: 'REQ-7 approved',
      now: w.clock.now,
    });
    expect(released).toEqual({ released: true, cancelled: [], undo: [] });
  }, 120_000);

  it('released before the outbox ran, the revoke is cancelled and the token stays', async () => {
    const ann = w.people.ann.id;
    const { token, event } = w.sim.createApiToken(ann, 'reporting');
    await w.sim.settled();
    expect(await w.server.inbox.runOnce()).toBeGreaterThan(0);
    const decision = await decisionFor(event.uuid);
    expect(decision?.data.actions).toEqual([{ kind: 'revoke_new_credential', dryRun: false }]);

    const released = await releaseHold(w.server.store, {
      tenant: 'acme',
      decisionId: decision!.subject.decisionId!,
      actor: { type: 'cli', id: 'ops' },
      reason: 'REQ-8 approved before containment',
      now: w.clock.now,
    });
    expect(released.cancelled).toHaveLength(1);
    await w.settle();
    expect(w.sim.apiTokens.has(token.id)).toBe(true);
    expect(w.sim.requests.some((r) => r.method === 'DELETE' && r.path === `/api/v1/api-tokens/${token.id}`)).toBe(false);
  }, 120_000);
});
