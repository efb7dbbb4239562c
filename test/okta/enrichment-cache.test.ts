import { readFileSync } from 'node:fs';
import path from 'node:path';
import nock from 'nock';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { oktaConnector } from '../../connectors/okta/index.js';
import { uuidv7 } from '../../src/core/ids.js';
import type { ConnectorContext, Connector } from '../../src/connector/contract.js';
import type { IdentityChange } from '../../src/core/identity-change.js';
import { packageRoot } from '../../src/package-root.js';
import type { ActionRow, InboxRow, Store } from '../../src/store/store.js';
import { oktaTenantConfig, testConnectorContext } from '../helpers/okta-context.js';
import { pgliteTestStore, type TestStore } from '../helpers/test-stores.js';

/**
 * The enrichment cache across a hold: the hold-group add changes the held
 * user's groups, so that user is read again; the help-desk agent who made
 * the change is not, so a burst of held changes by one agent costs Okta the
 * target's reads only (each read is a call against Okta's per-minute limits).
 */

const ORG = 'https://acme.okta.com';
const TOKEN = '00abcdefghijklmnopqrstuvwxyz0123456789ABCD';
const FIXTURES = path.join(packageRoot(), 'test', 'fixtures', 'okta');
const NOW = new Date('2026-11-25T10:00:05Z');

/** Okta's System Log sample, as a governed event: `actor` resets `target`'s factors. */
function resetEvent(actor: { id: string; login: string }, targetId: string, uuid: string): Record<string, unknown> {
  const sample = JSON.parse(readFileSync(path.join(FIXTURES, 'system-log-event-user-lifecycle-deactivate.json'), 'utf8')) as Record<string, unknown> & {
    actor: Record<string, unknown>;
    target: Array<Record<string, unknown>>;
  };
  return {
    ...sample,
    uuid,
    published: '2026-11-25T10:00:00.000Z',
    eventType: 'user.mfa.factor.reset_all',
    displayMessage: 'Reset all factors for user',
    actor: { ...sample.actor, id: actor.id, alternateId: actor.login },
    target: [{ ...sample.target[0], id: targetId }],
  };
}

describe('Okta enrichment cache across a hold', () => {
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
      `      orgUrl: ${ORG}\n      auth: { type: api_token, token: oktaToken }\n      eventHook: { secret: hook }\n      serviceIdentity: 00uWARDEN\n      helpdesk: { roles: [HELP_DESK_ADMIN], groups: [] }\n      holdGroup: { name: Warden Hold, id: 00gHOLD }\n      enrichment: { cacheSeconds: 300 }\n`,
      { OKTA_TOKEN: TOKEN, HOOK: 'h' },
    );
    ctx = testConnectorContext(config, store, { now: NOW });
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
  /** The directory's three calls for one user. */
  const directoryUser = (id: string, login: string, groups: string[], roles: string[]) => {
    okta()
      .get(`/api/v1/users/${id}`)
      .reply(200, { id, status: 'ACTIVE', profile: { login, email: login, firstName: 'A', lastName: 'B' } });
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
  const changeOf = async (payload: { uuid: string }): Promise<IdentityChange> => {
    const entry: InboxRow = {
      id: 1,
      tenant: 'acme',
      source: 'okta',
      eventId: payload.uuid,
      via: 'hook',
      payload,
      receivedAt: NOW,
      state: 'pending',
      attempts: 1,
    } as InboxRow;
    const result = await connector.inbox!.toChanges(entry, ctx);
    if ('ignored' in result) throw new Error(result.ignored);
    return result.changes[0]!;
  };
  const holdGroup = (targetId: string): ActionRow => ({
    id: uuidv7(),
    tenant: 'acme',
    kind: 'hold_group',
    connector: 'okta',
    targetId,
    params: {},
    idempotencyKey: uuidv7(),
    dryRun: false,
    createdAt: NOW,
    state: 'running',
    attempts: 1,
    nextAttemptAt: NOW,
  });
  const hal = { id: '00uHAL', login: 'hal@acme.example' };

  it("reads the held user again after the hold-group add, but not the agent's groups and roles", async () => {
    directoryUser('00uDANA', 'dana@acme.example', ['Everyone'], []);
    directoryUser('00uHAL', 'hal@acme.example', ['Everyone'], ['HELP_DESK_ADMIN']);
    expect((await changeOf(resetEvent(hal, '00uDANA', 'c1') as { uuid: string })).channel).toBe('helpdesk');

    okta().put('/api/v1/groups/00gHOLD/users/00uDANA').reply(204);
    await connector.enforcer!.execute(holdGroup('00uDANA'), ctx);

    // The next change by the same agent: only the new target is read (nock fails the test on any call to Hal).
    directoryUser('00uERIN', 'erin@acme.example', ['Everyone'], []);
    expect((await changeOf(resetEvent(hal, '00uERIN', 'c2') as { uuid: string })).channel).toBe('helpdesk');
    // Dana's groups changed: she is read again.
    directoryUser('00uDANA', 'dana@acme.example', ['Everyone', 'Warden Hold'], []);
    expect((await changeOf(resetEvent(hal, '00uDANA', 'c3') as { uuid: string })).target.groups).toEqual(['Everyone', 'Warden Hold']);
  });
});
