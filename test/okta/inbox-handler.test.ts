import { readFileSync } from 'node:fs';
import path from 'node:path';
import nock from 'nock';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { oktaConnector } from '../../connectors/okta/index.js';
import type { IdentityChange } from '../../src/core/identity-change.js';
import { packageRoot } from '../../src/package-root.js';
import { ActionError, type ConnectorContext, type Connector } from '../../src/connector/contract.js';
import type { InboxRow, Store } from '../../src/store/store.js';
import { oktaTenantConfig, testConnectorContext } from '../helpers/okta-context.js';
import { pgliteTestStore, type TestStore } from '../helpers/test-stores.js';

/**
 * The Okta inbox handler with nock for the directory: help desk or admin from
 * the actor's roles and groups, Warden's own changes recognised (and only
 * those), and what happens when Okta does not answer enrichment calls.
 */

const ORG = 'https://acme.okta.com';
const FIXTURES = path.join(packageRoot(), 'test', 'fixtures', 'okta');
const WARDEN = '00uWARDEN';

/** Okta's System Log sample, as a governed event: `actor` resets `target`'s factors. */
function resetEvent(actor: { id: string; login: string }, targetId: string, uuid: string, published = '2026-11-25T10:00:00.000Z'): Record<string, unknown> {
  const sample = JSON.parse(readFileSync(path.join(FIXTURES, 'system-log-event-user-lifecycle-deactivate.json'), 'utf8')) as Record<string, unknown> & {
    actor: Record<string, unknown>;
    target: Array<Record<string, unknown>>;
  };
  return {
    ...sample,
    uuid,
    published,
    eventType: 'user.mfa.factor.reset_all',
    displayMessage: 'Reset all factors for user',
    actor: { ...sample.actor, id: actor.id, alternateId: actor.login },
    target: [{ ...sample.target[0], id: targetId }],
  };
}

const user = (id: string, login: string) => ({ id, status: 'ACTIVE', profile: { login, email: login, firstName: 'A', lastName: 'B', department: 'Sales' } });

describe('Okta inbox handler', () => {
  let handle: TestStore;
  let store: Store;
  let ctx: ConnectorContext;
  let connector: Connector;

  beforeAll(async () => {
    handle = await pgliteTestStore();
    store = handle.store;
    await store.ensureTenants(['acme']);
    connector = oktaConnector();
    const config = oktaTenantConfig(
      connector,
      `      orgUrl: ${ORG}\n      auth: { type: api_token, token: oktaToken }\n      eventHook: { secret: hook }\n      serviceIdentity: ${WARDEN}\n      helpdesk: { roles: [HELP_DESK_ADMIN], groups: [Service Desk] }\n      enrichment: { cacheSeconds: 0 }\n`,
      { OKTA_TOKEN: 'tok', HOOK: 'h' },
    );
    ctx = testConnectorContext(config, store, { now: new Date('2026-11-25T10:00:05Z') });
    nock.disableNetConnect();
    nock.enableNetConnect('127.0.0.1');
  });
  afterEach(() => {
    expect(nock.isDone()).toBe(true);
    nock.cleanAll();
  });
  afterAll(async () => {
    nock.enableNetConnect();
    await handle.dispose();
  });

  const okta = () => nock(ORG, { reqheaders: { authorization: 'SSWS tok' } });
  /** The directory's three calls for one user. */
  const directoryUser = (id: string, login: string, groups: string[], roles: string[]) => {
    okta().get(`/api/v1/users/${id}`).reply(200, user(id, login));
    okta()
      .get(`/api/v1/users/${id}/groups`)
      .reply(
        200,
        groups.map((name, i) => ({ id: `00g${i}`, type: 'OKTA_GROUP', profile: { name } })),
      );
    okta()
      .get(`/api/v1/users/${id}/roles`)
      .reply(
        200,
        roles.map((type, i) => ({ id: `ra${i}`, type, label: type, status: 'ACTIVE', assignmentType: 'USER' })),
      );
  };
  const entry = (payload: unknown, attempts = 1): InboxRow => ({
    id: 1,
    tenant: 'acme',
    source: 'okta',
    eventId: (payload as { uuid: string }).uuid,
    via: 'hook',
    payload,
    receivedAt: new Date('2026-11-25T10:00:01Z'),
    state: 'pending',
    attempts,
  });
  const changeOf = async (payload: unknown, attempts = 1): Promise<IdentityChange> => {
    const result = await connector.inbox!.toChanges(entry(payload, attempts), ctx);
    if ('ignored' in result) throw new Error(result.ignored);
    return result.changes[0]!;
  };

  it('calls an actor with a help-desk role the help desk, and enriches the target', async () => {
    directoryUser('00uDANA', 'dana@acme.example', ['Everyone', 'Executives'], []);
    directoryUser('00uHAL', 'hal@acme.example', ['Everyone'], ['HELP_DESK_ADMIN']);
    const change = await changeOf(resetEvent({ id: '00uHAL', login: 'hal@acme.example' }, '00uDANA', 'e1'));
    expect(change).toMatchObject({
      channel: 'helpdesk',
      target: { id: '00uDANA', login: 'dana@acme.example', groups: ['Everyone', 'Executives'], attributes: { department: 'Sales' } },
      actor: { id: '00uHAL', adminRoles: ['HELP_DESK_ADMIN'] },
    });
  });

  it('calls a member of a help-desk group the help desk, and another admin an admin', async () => {
    directoryUser('00uDANA', 'dana@acme.example', [], []);
    directoryUser('00uSAM', 'sam@acme.example', ['Service Desk'], ['USER_ADMIN']);
    expect((await changeOf(resetEvent({ id: '00uSAM', login: 'sam@acme.example' }, '00uDANA', 'e2'))).channel).toBe('helpdesk');
    directoryUser('00uDANA', 'dana@acme.example', [], []);
    directoryUser('00uORG', 'org@acme.example', [], ['SUPER_ADMIN']);
    expect((await changeOf(resetEvent({ id: '00uORG', login: 'org@acme.example' }, '00uDANA', 'e3'))).channel).toBe('admin');
  });

  it("ignores Warden's own recorded change coming back, and only that", async () => {
    await store.putOwnChange({
      tenant: 'acme',
      connector: 'okta',
      ref: 'action:a1',
      targetId: '00uDANA',
      eventTypes: ['user.mfa.factor.reset_all'],
      at: new Date('2026-11-25T09:59:59Z'),
    });
    expect(await connector.inbox!.toChanges(entry(resetEvent({ id: WARDEN, login: 'warden@acme.example' }, '00uDANA', 'e4')), ctx)).toEqual({
      ignored: "Warden's own change (action:a1) reported back by Okta",
    });

    // Another actor, same user, same moment: judged.
    directoryUser('00uDANA', 'dana@acme.example', [], []);
    directoryUser('00uHAL', 'hal@acme.example', [], ['HELP_DESK_ADMIN']);
    expect((await changeOf(resetEvent({ id: '00uHAL', login: 'hal@acme.example' }, '00uDANA', 'e5'))).channel).toBe('helpdesk');

    // Warden's identity, but long after anything Warden recorded: judged.
    directoryUser('00uDANA', 'dana@acme.example', [], []);
    directoryUser(WARDEN, 'warden@acme.example', [], ['SUPER_ADMIN']);
    expect((await changeOf(resetEvent({ id: WARDEN, login: 'warden@acme.example' }, '00uDANA', 'e6', '2026-11-25T13:00:00.000Z'))).kind).toBe(
      'factor.reset_all',
    );
  });

  it("decides the reset Warden's broker made for a request (so it matches that request), but not the deactivations Okta logs with it", async () => {
    await store.putOwnChange({
      tenant: 'acme',
      connector: 'okta',
      ref: 'broker:req-42',
      targetId: '00uBEA',
      eventTypes: ['user.mfa.factor.reset_all', 'user.mfa.factor.deactivate'],
      at: new Date('2026-11-25T09:59:59Z'),
    });
    directoryUser('00uBEA', 'bea@acme.example', [], []);
    directoryUser(WARDEN, 'warden@acme.example', [], ['SUPER_ADMIN']);
    const reset = await changeOf(resetEvent({ id: WARDEN, login: 'warden@acme.example' }, '00uBEA', 'e8'));
    expect(reset).toMatchObject({ kind: 'factor.reset_all', actor: { id: WARDEN }, context: { wardenBroker: 'broker:req-42' } });
    const deactivate = {
      ...resetEvent({ id: WARDEN, login: 'warden@acme.example' }, '00uBEA', 'e9'),
      eventType: 'user.mfa.factor.deactivate',
      displayMessage: 'Reset factor for user',
    };
    expect(await connector.inbox!.toChanges(entry(deactivate), ctx)).toEqual({ ignored: "Warden's own change (broker:req-42) reported back by Okta" });
  });

  it("waits for the reset of Okta's rate limit before reading again, and decides without enrichment only after four windows", async () => {
    // ctx's clock is 10:00:05Z; Okta says the bucket resets at 10:00:50Z.
    const reset = String(Date.parse('2026-11-25T10:00:50Z') / 1000);
    const limited = () =>
      okta().get('/api/v1/users/00uERIN').reply(
        429,
        { errorCode: 'E0000047', errorSummary: 'API call exceeded rate limit due to too many requests.' },
        {
          'x-rate-limit-reset': reset,
          date: 'Wed, 25 Nov 2026 10:00:05 GMT',
        },
      );
    const event = resetEvent({ id: '00uHAL', login: 'hal@acme.example' }, '00uERIN', 'e10');
    for (const attempt of [1, 3, 4]) {
      limited();
      const failure = await connector.inbox!.toChanges(entry(event, attempt), ctx).then(
        () => undefined,
        (err: unknown) => err,
      );
      // Past the three attempts an unanswered call gets: still waiting, for the reset plus Okta's second.
      expect(failure).toBeInstanceOf(ActionError);
      expect((failure as ActionError).retryAfterMs).toBe(46_000);
      expect((failure as ActionError).message).toMatch(/429/);
    }
    limited();
    const change = await changeOf(event, 5);
    expect(change).toMatchObject({ channel: 'admin', context: { enrichment: 'failed' } });
  });

  it('decides without enrichment on the last attempt the inbox allows (retries.inbox), never failing the entry for good', async () => {
    // With retries.inbox at 2, a second failure would mark the entry failed: the change would never be decided.
    const fewer = { ...ctx, config: { ...ctx.config, retries: { ...ctx.config.retries, inbox: 2 } } };
    const reset = String(Date.parse('2026-11-25T10:00:50Z') / 1000);
    const limited = () => okta().get('/api/v1/users/00uIVO').reply(429, { errorCode: 'E0000047' }, { 'x-rate-limit-reset': reset });
    const event = resetEvent({ id: '00uHAL', login: 'hal@acme.example' }, '00uIVO', 'e11');
    limited();
    await expect(connector.inbox!.toChanges(entry(event, 1), fewer)).rejects.toBeInstanceOf(ActionError);
    limited();
    const limitedResult = await connector.inbox!.toChanges(entry(event, 2), fewer);
    expect(limitedResult).toMatchObject({ changes: [{ channel: 'admin', context: { enrichment: 'failed' } }] });
    // An unanswered call, with one attempt allowed: decided at once.
    okta().get('/api/v1/users/00uIVO').reply(503, 'unavailable');
    const once = { ...ctx, config: { ...ctx.config, retries: { ...ctx.config.retries, inbox: 1 } } };
    expect(await connector.inbox!.toChanges(entry(event, 1), once)).toMatchObject({ changes: [{ context: { enrichment: 'failed' } }] });
  });

  it('retries while Okta does not answer enrichment calls, then decides without them', async () => {
    okta().get('/api/v1/users/00uDANA').reply(503, 'unavailable');
    await expect(connector.inbox!.toChanges(entry(resetEvent({ id: '00uHAL', login: 'hal@acme.example' }, '00uDANA', 'e7'), 1), ctx)).rejects.toThrow(/503/);
    okta().get('/api/v1/users/00uDANA').reply(503, 'unavailable');
    const change = await changeOf(resetEvent({ id: '00uHAL', login: 'hal@acme.example' }, '00uDANA', 'e7'), 3);
    expect(change).toMatchObject({ channel: 'admin', context: { enrichment: 'failed' }, target: { id: '00uDANA', login: 'john.doe@example.com' } });
  });

  describe('learning which principal Warden acts as (GET /api/v1/users/me)', () => {
    const clock = { now: new Date('2026-11-25T10:00:05Z') };

    /** A connector of its own (nothing learnt yet), with no serviceIdentity configured and an API token: Warden acts as the token's user. */
    const fresh = () => {
      const connector = oktaConnector();
      const config = oktaTenantConfig(
        connector,
        `      orgUrl: ${ORG}\n      auth: { type: api_token, token: oktaToken }\n      eventHook: { secret: hook }\n      enrichment: { cacheSeconds: 0 }\n`,
        { OKTA_TOKEN: 'tok', HOOK: 'h' },
      );
      return { inbox: connector.inbox!, ctx: testConnectorContext(config, store, clock) };
    };
    /** Enrichment's reads of one user, with no groups or roles. */
    const plainUser = (id: string, login: string) => {
      okta().get(`/api/v1/users/${id}`).reply(200, user(id, login));
      okta().get(`/api/v1/users/${id}/groups`).reply(200, []);
      okta().get(`/api/v1/users/${id}/roles`).reply(200, []);
    };
    const failureOf = (p: Promise<unknown>) =>
      p.then(
        () => undefined,
        (err: unknown) => err,
      );

    it("waits for the rate limit's reset instead of deciding without it, asks once per reset, and then decides", async () => {
      clock.now = new Date('2026-11-25T10:00:05Z');
      const { inbox, ctx } = fresh();
      const reset = String(Date.parse('2026-11-25T10:00:50Z') / 1000);
      okta().get('/api/v1/users/me').once().reply(429, { errorCode: 'E0000047' }, { 'x-rate-limit-reset': reset, date: 'Wed, 25 Nov 2026 10:00:05 GMT' });
      const first = resetEvent({ id: '00uHAL', login: 'hal@acme.example' }, '00uDANA', 'me1');
      const second = resetEvent({ id: '00uHAL', login: 'hal@acme.example' }, '00uERIN', 'me2');
      // The second entry does not ask Okta again before the reset (nock answers once): the refusal is remembered until then.
      for (const event of [first, second]) {
        const failure = await failureOf(inbox.toChanges(entry(event, 1), ctx));
        expect(failure).toBeInstanceOf(ActionError);
        expect((failure as ActionError).retryAfterMs).toBe(46_000);
      }
      // After the reset: asked again, learnt, and the change decided, enriched as usual.
      clock.now = new Date('2026-11-25T10:00:52Z');
      okta()
        .get('/api/v1/users/me')
        .reply(200, { id: WARDEN, status: 'ACTIVE', profile: { login: 'warden@acme.example' } });
      plainUser('00uDANA', 'dana@acme.example');
      plainUser('00uHAL', 'hal@acme.example');
      expect(await inbox.toChanges(entry(first, 2), ctx)).toMatchObject({ changes: [{ kind: 'factor.reset_all', target: { id: '00uDANA' } }] });
    });

    it('decides without it on the last attempt the inbox allows, and at once when Okta refuses it for good (403)', async () => {
      clock.now = new Date('2026-11-25T10:05:00Z');
      const event = resetEvent({ id: '00uHAL', login: 'hal@acme.example' }, '00uFAY', 'me3');
      const down = fresh();
      okta().get('/api/v1/users/me').reply(503, 'unavailable');
      expect(await failureOf(down.inbox.toChanges(entry(event, 1), down.ctx))).toBeInstanceOf(ActionError);
      okta().get('/api/v1/users/me').reply(503, 'unavailable');
      plainUser('00uFAY', 'fay@acme.example');
      plainUser('00uHAL', 'hal@acme.example');
      expect(await down.inbox.toChanges(entry(event, 5), down.ctx)).toMatchObject({ changes: [{ target: { id: '00uFAY' } }] });

      const refused = fresh();
      okta().get('/api/v1/users/me').reply(403, { errorCode: 'E0000006', errorSummary: 'You do not have permission to perform the requested action' });
      plainUser('00uFAY', 'fay@acme.example');
      plainUser('00uHAL', 'hal@acme.example');
      expect(await refused.inbox.toChanges(entry(event, 1), refused.ctx)).toMatchObject({ changes: [{ target: { id: '00uFAY' } }] });
    });
  });
});
