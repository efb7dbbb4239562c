import { describe, expect, it } from 'vitest';
import type { Approval, ChangeRequest } from '../core/change-request.js';
import { WardenError } from '../core/errors.js';
import type { Principal } from '../core/identity-change.js';
import type { Directory } from '../connector/contract.js';
import type { UserCaller } from './caller.js';
import { PersonResolver, samePerson } from './resolve-person.js';
import { WorkflowContext, type WorkflowDeps } from './request-context.js';

const principal = (id: string, login: string): Principal => ({
  id,
  login,
  email: login,
  groups: [],
  adminRoles: [],
  flags: { shared: false, executive: false, serviceAccount: false, breakGlass: false },
  attributes: {},
});

/** An Okta-like directory: ids are case-sensitive, logins are not (GET /api/v1/users/{id or login}). */
function directory(users: Principal[], calls: string[] = []): Directory {
  return {
    async getUser(_tenant, idOrLogin) {
      calls.push(idOrLogin);
      return users.find((u) => u.id === idOrLogin || u.login?.toLowerCase() === idOrLogin.toLowerCase());
    },
  };
}

const ANN = principal('00u1Ann', 'ann.approver@acme.example');
const BOB = principal('00u1Bob', 'bob.approver@acme.example');
const CARL = principal('00u1Carl', 'carl@acme.com');

/** A resolver for tenant acme; `null`: the tenant has no directory connector. */
function resolver(dir: Directory | null = directory([ANN, BOB, CARL]), domains: Record<string, string> = {}) {
  const deps = {
    config: { tenants: [{ id: 'acme', detection: { identities: { domains, aliases: {} } } }] },
    ports: { directory: () => dir ?? undefined, proofer: () => undefined, broker: () => undefined, tickets: () => undefined },
    connectorContext: () => ({}),
    clock: () => new Date('2026-03-02T09:00:00Z'),
  } as unknown as WorkflowDeps;
  return new PersonResolver(new WorkflowContext(deps), 'acme');
}

const user = (subject: string): UserCaller => ({ type: 'user', tenant: 'acme', subject, names: [], groups: [], roles: ['approver'], amr: ['mfa'] });

async function codeOf(p: Promise<unknown>): Promise<string | undefined> {
  try {
    await p;
    return undefined;
  } catch (err) {
    return err instanceof WardenError ? err.code : String(err);
  }
}

describe('PersonResolver: every name of a person is one IdP user id', () => {
  it('resolves a token subject that is the IdP id and one that is the login to the same person', async () => {
    const people = resolver();
    const byId = await people.ofCaller(user('00u1Ann'));
    const byLogin = await people.ofCaller(user('ann.approver@acme.example'));
    expect([byId.id, byLogin.id]).toEqual(['00u1Ann', '00u1Ann']);
    expect(samePerson(byId, byLogin)).toBe(true);
  });

  it('resolves an id with a trailing space', async () => {
    expect((await resolver().ofName('00u1Bob ', 'requester')).id).toBe('00u1Bob');
  });

  it('resolves a full-width login', async () => {
    expect((await resolver().ofName('ｂｏｂ．ａｐｐｒｏｖｅｒ＠ａｃｍｅ．ｅｘａｍｐｌｅ', 'requester')).id).toBe('00u1Bob');
  });

  it('resolves a login whose domain ends in a dot', async () => {
    expect((await resolver().ofName('bob.approver@acme.example.', 'requester')).id).toBe('00u1Bob');
  });

  it('resolves a login in another case', async () => {
    expect((await resolver().ofName('BOB.Approver@Acme.Example', 'requester')).id).toBe('00u1Bob');
  });

  it('resolves a login in an aliased domain (detection.identities.domains), both ways', async () => {
    const people = resolver(directory([ANN, BOB, CARL]), { 'acme.onmicrosoft.com': 'acme.com' });
    expect((await people.ofName('carl@acme.onmicrosoft.com', 'requester')).id).toBe('00u1Carl');
  });

  it('tells two people apart', async () => {
    const people = resolver();
    expect(samePerson(await people.ofName('00u1Ann', 'a'), await people.ofName('00u1Bob', 'b'))).toBe(false);
  });

  it('refuses a name the IdP does not know: ERR_IDENTITY_UNRESOLVED', async () => {
    expect(await codeOf(resolver().ofName('mallory@acme.example', 'requester'))).toBe('ERR_IDENTITY_UNRESOLVED');
    expect(await codeOf(resolver().ofCaller(user('00u1nobody')))).toBe('ERR_IDENTITY_UNRESOLVED');
  });

  it('refuses an empty or blank name: ERR_IDENTITY_UNRESOLVED', async () => {
    expect(await codeOf(resolver().ofName(' \u3000 ', 'requester'))).toBe('ERR_IDENTITY_UNRESOLVED');
  });

  it('does not case-fold ids: an Okta id in another case is not the person (ERR_IDENTITY_UNRESOLVED)', async () => {
    expect(await codeOf(resolver().ofName('00u1bob', 'requester'))).toBe('ERR_IDENTITY_UNRESOLVED');
  });

  it('refuses every name when the tenant has no directory: ERR_IDENTITY_UNRESOLVED', async () => {
    expect(await codeOf(resolver(null).ofName('00u1Ann', 'requester'))).toBe('ERR_IDENTITY_UNRESOLVED');
    expect(await codeOf(resolver(null).ofCaller(user('00u1Ann')))).toBe('ERR_IDENTITY_UNRESOLVED');
  });

  it('refuses a party whose id and login are two different people: ERR_IDENTITY_UNRESOLVED', async () => {
    expect(await codeOf(resolver().ofParty({ id: '00u1Ann', login: 'bob.approver@acme.example' }, 'requester'))).toBe('ERR_IDENTITY_UNRESOLVED');
  });

  it('accepts a party whose names are all the same person', async () => {
    expect((await resolver().ofParty({ id: '00u1Ann ', login: 'ANN.approver@acme.example.', email: 'ann.approver@acme.example' }, 'requester')).id).toBe(
      '00u1Ann',
    );
  });

  it('keeps a service executor the IdP does not know by its id, not as a person', async () => {
    const svc = await resolver().ofParty({ id: '0oa-integration', type: 'service' }, 'executor');
    expect(svc).toMatchObject({ id: '0oa-integration', resolved: false });
    expect(samePerson(svc, await resolver().ofName('00u1Ann', 'requester'))).toBe(false);
    expect(await codeOf(resolver().ofParty({ id: '0oa-integration', type: 'user' }, 'executor'))).toBe('ERR_IDENTITY_UNRESOLVED');
  });

  it('wraps a directory failure as ERR_UPSTREAM (not as an unresolved name)', async () => {
    const failing: Directory = { getUser: () => Promise.reject(new Error('Okta answered 503')) };
    expect(await codeOf(resolver(failing).ofName('00u1Ann', 'requester'))).toBe('ERR_UPSTREAM');
  });

  it('looks each name up once per operation', async () => {
    const calls: string[] = [];
    const people = resolver(directory([ANN], calls));
    await people.ofName('00u1Ann', 'a');
    await people.ofName('00u1Ann ', 'b');
    expect(calls).toEqual(['00u1Ann']);
  });

  it('names an earlier approval by its IdP id; one recorded by a login subject resolves to the same person', async () => {
    const people = resolver();
    const base = { tenant: 'acme', requestId: 'r1', verdict: 'approve' as const, at: '2026-03-02T09:00:00Z', groups: [], roles: [], amr: [], names: [] };
    const current: Approval = { ...base, approverId: '00u1Ann', subject: 'ann.approver@acme.example', names: [] };
    const legacy: Approval = { ...base, approverId: 'ann.approver@acme.example', names: [] };
    const me = await people.ofCaller(user('00u1Ann'));
    expect(samePerson(me, await people.ofApproval(current))).toBe(true);
    expect(samePerson(me, await people.ofApproval(legacy))).toBe(true);
    expect(samePerson(await people.ofCaller(user('00u1Bob')), await people.ofApproval(legacy))).toBe(false);
  });

  it('judges a request filed before people were resolved by resolving its parties now, and a current one by its stored ids without a look-up', async () => {
    const calls: string[] = [];
    const people = resolver(directory([ANN, BOB, CARL], calls));
    const request = {
      requester: { id: 'BOB.approver@acme.example. ' },
      executor: { id: '00u1Carl', type: 'user' },
      target: ANN,
      createdBy: { type: 'user', id: 'carl@acme.com' },
    } as unknown as ChangeRequest;
    const legacy = await people.partiesOf(request);
    expect([legacy.requester.id, legacy.executor.id, legacy.target.id, legacy.filer.id]).toEqual(['00u1Bob', '00u1Carl', '00u1Ann', '00u1Carl']);
    calls.length = 0;
    const current = await people.partiesOf({ ...request, people: { requester: '00u1Bob', executor: '00u1Carl', target: '00u1Ann', filer: '00u1Carl' } });
    expect([current.requester.id, current.filer.id, calls]).toEqual(['00u1Bob', '00u1Carl', []]);
    expect(await codeOf(people.partiesOf({ ...request, requester: { id: 'gone@acme.example' } }))).toBe('ERR_IDENTITY_UNRESOLVED');
  });
});
