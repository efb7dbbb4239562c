import { randomUUID } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { SimUser } from '../../connectors/entra/simulator/simulated-directory.js';
import type { ActionRow } from '../../src/store/store.js';
import { startEntraHarness, type EntraHarness } from '../helpers/entra-harness.js';

/**
 * The Entra enrichment cache, per person, counted at the Graph simulator on
 * the harness's one clock: many look-ups of a few people (concurrent, as the
 * inbox worker prepares entries) cost three reads a person within
 * `directoryCacheSeconds` (60 s by default); any action Warden takes on a
 * person forgets that person — also an entry looked up by UPN, and also when
 * the action failed.
 */

describe('Entra directory cache (per person, on the Graph simulator)', () => {
  let h: EntraHarness;
  beforeAll(async () => {
    h = await startEntraHarness();
  });
  afterAll(async () => {
    await h.close();
  });

  const person = (name: string): SimUser => h.sim.directory.addUser({ userPrincipalName: `${name}-${randomUUID().slice(0, 8)}@contoso.example` });
  /** Enrichment reads of `u` the simulator served: the user (by id or UPN), its groups, its role assignments. */
  const reads = (u: SimUser) =>
    h.sim.requests.filter(
      (r) =>
        r.method === 'GET' &&
        (r.path.endsWith(`/users/${u.id}`) ||
          r.path.endsWith(`/users/${encodeURIComponent(u.userPrincipalName)}`) ||
          r.path.endsWith(`/users/${u.userPrincipalName}`) ||
          r.path.includes(`/users/${u.id}/transitiveMemberOf`) ||
          (r.path.endsWith('/roleManagement/directory/roleAssignments') && decodeURIComponent(r.query).includes(u.id))),
    ).length;
  const action = (kind: string, targetId: string): ActionRow => ({
    id: randomUUID(),
    tenant: 'acme',
    kind,
    connector: 'entra',
    targetId,
    params: {},
    idempotencyKey: randomUUID(),
    dryRun: false,
    createdAt: h.clock.now,
    state: 'running',
    attempts: 1,
    nextAttemptAt: h.clock.now,
  });

  it('N look-ups over k people, 8 at a time, cost at most k × 3 reads within the TTL', async () => {
    const people = Array.from({ length: 4 }, (_, i) => person(`many${i}`));
    const ids = Array.from({ length: 48 }, (_, i) => people[i % people.length]!.id);
    for (let i = 0; i < ids.length; i += 8) {
      const found = await Promise.all(ids.slice(i, i + 8).map((id) => h.tenant.directory.principal(id)));
      expect(found.every((p) => p !== undefined)).toBe(true);
      h.advance(1_000);
    }
    expect(people.map(reads)).toEqual([3, 3, 3, 3]);
    h.advance(60_000); // past directoryCacheSeconds: read again
    await h.tenant.directory.principal(people[0]!.id);
    expect(reads(people[0]!)).toBe(6);
  });

  it('an action on a person forgets the person, also as looked up by UPN', async () => {
    const dana = person('dana');
    const other = person('other');
    await h.tenant.directory.getUser(dana.userPrincipalName);
    await h.tenant.directory.principal(other.id);
    const [danaBefore, otherBefore] = [reads(dana), reads(other)];
    await h.connector.enforcer!.execute(action('revoke_sessions', dana.id), h.server.context);
    await h.tenant.directory.getUser(dana.userPrincipalName);
    expect(reads(dana)).toBe(danaBefore + 1);
    await h.tenant.directory.principal(other.id);
    expect(reads(other)).toBe(otherBefore); // nobody else is forgotten
  });

  it('a failed action forgets the person too (a call that failed may still have changed them)', async () => {
    const erin = person('erin');
    await h.tenant.directory.principal(erin.id);
    const before = reads(erin);
    h.sim.faults.inject({ status: 500, count: 1, path: /revokeSignInSessions$/ });
    await expect(h.connector.enforcer!.execute(action('revoke_sessions', erin.id), h.server.context)).rejects.toThrow();
    await h.tenant.directory.principal(erin.id);
    expect(reads(erin)).toBe(before + 3);
  });
});
