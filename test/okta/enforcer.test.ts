import nock from 'nock';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { oktaConnector } from '../../connectors/okta/index.js';
import { uuidv7 } from '../../src/core/ids.js';
import { ActionError, type Enforcer, type ConnectorContext } from '../../src/connector/contract.js';
import type { ActionRow, Store } from '../../src/store/store.js';
import { makeChange } from '../helpers/changes.js';
import { oktaTenantConfig, testConnectorContext } from '../helpers/okta-context.js';
import { pgliteTestStore, type TestStore } from '../helpers/test-stores.js';

/**
 * The Okta enforcer against nock (the SDK's node-fetch goes through Node's
 * https, which nock intercepts): the calls each action makes, idempotency,
 * and how Okta's failures become retryable or permanent ActionErrors.
 */

const ORG = 'https://acme.okta.com';
const TOKEN = '00abcdefghijklmnopqrstuvwxyz0123456789ABCD';
const NOW = new Date('2026-11-25T10:00:00Z');

describe('Okta enforcer', () => {
  let handle: TestStore;
  let store: Store;
  let ctx: ConnectorContext;
  let enforcer: Enforcer;

  beforeAll(async () => {
    handle = await pgliteTestStore();
    store = handle.store;
    await store.ensureTenants(['acme']);
    const connector = oktaConnector();
    const config = oktaTenantConfig(
      connector,
      `      orgUrl: ${ORG}\n      auth: { type: api_token, token: oktaToken }\n      eventHook: { secret: hook }\n      holdGroup: { name: Warden Hold, id: 00gHOLD }\n`,
      { OKTA_TOKEN: TOKEN, HOOK: 'h' },
    );
    ctx = testConnectorContext(config, store, { now: NOW });
    enforcer = connector.enforcer!;
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

  const okta = () => nock(ORG, { reqheaders: { authorization: `SSWS ${TOKEN}` } });
  const action = (kind: string, params: Record<string, unknown> = {}, targetId = '00uDANA'): ActionRow => ({
    id: uuidv7(),
    tenant: 'acme',
    kind,
    connector: 'okta',
    targetId,
    params,
    idempotencyKey: uuidv7(),
    dryRun: false,
    createdAt: NOW,
    state: 'running',
    attempts: 1,
    nextAttemptAt: NOW,
  });
  const failure = async (p: Promise<unknown>) => {
    try {
      await p;
    } catch (err) {
      return err as ActionError;
    }
    throw new Error('expected a failure');
  };

  it('puts the user in the hold group (PUT, idempotent) and records it as its own change', async () => {
    okta().put('/api/v1/groups/00gHOLD/users/00uDANA').times(2).reply(204);
    const a = action('hold_group');
    expect(await enforcer.execute(a, ctx)).toEqual({ group: 'Warden Hold', groupId: '00gHOLD' });
    expect(await enforcer.execute(a, ctx)).toEqual({ group: 'Warden Hold', groupId: '00gHOLD' }); // again after a crash: same outcome
    expect(await store.getOwnChange('acme', 'okta', `action:${a.id}`)).toMatchObject({
      targetId: '00uDANA',
      eventTypes: ['group.user_membership.add'],
      result: { groupId: '00gHOLD' },
    });
  });

  it('takes the user out of the hold group, also when already out (404)', async () => {
    okta().delete('/api/v1/groups/00gHOLD/users/00uDANA').reply(204);
    okta().delete('/api/v1/groups/00gHOLD/users/00uDANA').reply(404, { errorCode: 'E0000007', errorSummary: 'Not found' });
    expect(await enforcer.execute(action('release_hold_group'), ctx)).toEqual({ group: 'Warden Hold', groupId: '00gHOLD' });
    expect(await enforcer.execute(action('release_hold_group'), ctx)).toEqual({ group: 'Warden Hold', groupId: '00gHOLD', alreadyRemoved: true });
  });

  it('revokes sessions and OAuth tokens', async () => {
    okta().delete('/api/v1/users/00uDANA/sessions').query({ oauthTokens: 'true' }).reply(204);
    expect(await enforcer.execute(action('revoke_sessions'), ctx)).toEqual({ revoked: true, oauthTokens: true });
  });

  it('removes the factor a change enrolled; one already gone counts as removed', async () => {
    okta().delete('/api/v1/users/00uDANA/factors/opfNEW').reply(204);
    okta().delete('/api/v1/users/00uDANA/factors/opfNEW').reply(404, { errorCode: 'E0000007', errorSummary: 'Not found' });
    expect(await enforcer.execute(action('remove_new_factor', { factorId: 'opfNEW' }), ctx)).toEqual({ removed: ['opfNEW'] });
    expect(await enforcer.execute(action('remove_new_factor', { factorId: 'opfNEW' }), ctx)).toEqual({ removed: [], alreadyRemoved: ['opfNEW'] });
  });

  it('after a reset, removes every factor enrolled since the change and keeps older ones', async () => {
    const change = makeChange({ target: { id: '00uDANA' }, occurredAt: '2026-11-25T09:00:00.000Z' });
    await store.putChange(change);
    okta()
      .get('/api/v1/users/00uDANA/factors')
      .reply(200, [
        { id: 'opfOLD', factorType: 'push', provider: 'OKTA', status: 'ACTIVE', created: '2026-01-01T00:00:00.000Z', lastUpdated: '2026-01-01T00:00:00.000Z' },
        { id: 'mblNEW', factorType: 'sms', provider: 'OKTA', status: 'ACTIVE', created: '2026-11-25T09:00:05.000Z', lastUpdated: '2026-11-25T09:00:05.000Z' },
      ]);
    okta().delete('/api/v1/users/00uDANA/factors/mblNEW').reply(204);
    expect(await enforcer.execute(action('remove_new_factor', { changeId: change.id }), ctx)).toEqual({
      removed: ['mblNEW'],
      since: '2026-11-25T08:59:59.000Z',
    });
  });

  it('resets factors, expires the password, raises user risk', async () => {
    okta().post('/api/v1/users/00uDANA/lifecycle/reset_factors').reply(200, {});
    okta().post('/api/v1/users/00uDANA/lifecycle/expire_password').reply(200, { id: '00uDANA', status: 'PASSWORD_EXPIRED' });
    okta().put('/api/v1/users/00uDANA/risk', { riskLevel: 'HIGH' }).reply(200, { riskLevel: 'HIGH' });
    expect(await enforcer.execute(action('reset_factors'), ctx)).toEqual({ reset: true });
    expect(await enforcer.execute(action('expire_password'), ctx)).toEqual({ expired: true });
    expect(await enforcer.execute(action('raise_risk'), ctx)).toEqual({ riskLevel: 'HIGH' });
  });

  it('suspends an active user and leaves a suspended one as is; unsuspends likewise', async () => {
    okta().get('/api/v1/users/00uDANA').reply(200, { id: '00uDANA', status: 'ACTIVE' });
    okta().post('/api/v1/users/00uDANA/lifecycle/suspend').reply(200, {});
    okta().get('/api/v1/users/00uDANA').reply(200, { id: '00uDANA', status: 'SUSPENDED' });
    okta().get('/api/v1/users/00uDANA').reply(200, { id: '00uDANA', status: 'SUSPENDED' });
    okta().post('/api/v1/users/00uDANA/lifecycle/unsuspend').reply(200, {});
    expect(await enforcer.execute(action('suspend'), ctx)).toEqual({ status: 'SUSPENDED' });
    expect(await enforcer.execute(action('suspend'), ctx)).toEqual({ status: 'SUSPENDED', already: true });
    expect(await enforcer.execute(action('unsuspend'), ctx)).toEqual({ status: 'ACTIVE' });
  });

  it('turns a 429 into a retryable error that waits for X-Rate-Limit-Reset', async () => {
    const reset = Math.floor(NOW.getTime() / 1000) + 30;
    okta()
      .delete('/api/v1/users/00uDANA/sessions')
      .query(true)
      .reply(
        429,
        { errorCode: 'E0000047', errorSummary: 'API call exceeded rate limit due to too many requests.' },
        { 'x-rate-limit-limit': '600', 'x-rate-limit-remaining': '0', 'x-rate-limit-reset': String(reset), date: NOW.toUTCString() },
      );
    const err = await failure(enforcer.execute(action('revoke_sessions'), ctx));
    expect(err).toBeInstanceOf(ActionError);
    expect([err.permanent, err.retryAfterMs]).toEqual([false, 31_000]);
    expect(err.message).toContain('HTTP 429');
  });

  it('retries 5xx and network failures; 4xx are permanent', async () => {
    okta().post('/api/v1/users/00uDANA/lifecycle/reset_factors').reply(503, 'upstream unavailable');
    okta()
      .post('/api/v1/users/00uDANA/lifecycle/reset_factors')
      .reply(403, { errorCode: 'E0000006', errorSummary: 'You do not have permission to perform the requested action' });
    okta().post('/api/v1/users/00uDANA/lifecycle/reset_factors').replyWithError('socket hang up');
    const e503 = await failure(enforcer.execute(action('reset_factors'), ctx));
    const e403 = await failure(enforcer.execute(action('reset_factors'), ctx));
    const eNet = await failure(enforcer.execute(action('reset_factors'), ctx));
    expect([e503.permanent, e403.permanent, eNet.permanent]).toEqual([false, true, false]);
    expect(e403.message).toContain('You do not have permission');
  });

  it('revokes the API token a change created; one already revoked counts as revoked', async () => {
    okta().delete('/api/v1/api-tokens/00Tnew1').reply(204);
    okta().delete('/api/v1/api-tokens/00Tgone').reply(404, { errorCode: 'E0000007', errorSummary: 'Not found: Resource not found: 00Tgone (ApiToken)' });
    expect(await enforcer.execute(action('revoke_new_credential', { credentialId: '00Tnew1', credentialType: 'api_token' }), ctx)).toEqual({
      revoked: ['00Tnew1'],
    });
    expect(await enforcer.execute(action('revoke_new_credential', { credentialId: '00Tgone', credentialType: 'api_token' }), ctx)).toEqual({
      revoked: [],
      alreadyRevoked: ['00Tgone'],
    });
  });

  it('refuses for good to revoke when the change named no API token, or a credential of another kind', async () => {
    const missing = await failure(enforcer.execute(action('revoke_new_credential', {}), ctx));
    expect([missing.permanent, missing.message]).toEqual([true, expect.stringContaining('names no Okta API token')]);
    const other = await failure(enforcer.execute(action('revoke_new_credential', { credentialId: 'x', credentialType: 'client_secret' }), ctx));
    expect(other.permanent).toBe(true);
  });

  it('refuses an action it does not know, for good', async () => {
    const err = await failure(enforcer.execute(action('teleport'), ctx));
    expect([err instanceof ActionError, err.permanent]).toEqual([true, true]);
  });
});
