import { randomUUID } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { SimUser } from '../../connectors/entra/simulator/simulated-directory.js';
import { isWardenError } from '../../src/core/errors.js';
import type { BrokerRequest } from '../../src/connector/contract.js';
import { ActionError } from '../../src/connector/contract.js';
import { rawSql } from '../helpers/test-stores.js';
import { startEntraHarness, type EntraHarness } from '../helpers/entra-harness.js';

/**
 * The TAP broker (broker mode): Warden issues the Temporary Access Pass an
 * approved request asks for, shows it once, records it without the secret,
 * and never issues twice for one request, because a new pass replaces the
 * old one. The change-request workflow that calls it is built elsewhere;
 * these tests call the port directly.
 */

describe('Entra TAP broker', () => {
  let h: EntraHarness;
  beforeAll(async () => {
    h = await startEntraHarness();
  });
  afterAll(async () => {
    await h.close();
  });

  const user = (): SimUser => h.sim.directory.addUser({ userPrincipalName: `tap-${randomUUID().slice(0, 8)}@contoso.example` });
  const request = (target: SimUser, options: Record<string, unknown> = { lifetimeMinutes: 60, oneTimeUse: true }): BrokerRequest => ({
    tenant: 'acme',
    requestId: randomUUID(),
    kind: 'tap.issue',
    targetId: target.id,
    options,
  });
  const execute = (r: BrokerRequest) => h.connector.broker!.execute(r, h.server.context);
  const refusal = (r: BrokerRequest) =>
    execute(r).then(
      () => {
        throw new Error('expected a refusal');
      },
      (err: unknown) => err as Error,
    );
  const posts = (u: SimUser) => h.sim.requests.filter((r) => r.method === 'POST' && r.path === `/v1.0/users/${u.id}/authentication/temporaryAccessPassMethods`);
  const taps = (u: SimUser) => h.sim.directory.methodsOf(u.id).filter((m) => m.collection === 'temporaryAccessPassMethods');

  it("issues the pass with the request's lifetime and one-time use, shows it once and keeps no secret", async () => {
    const u = user();
    const r = request(u, { lifetimeMinutes: 90, oneTimeUse: true });
    const result = await execute(r);
    expect(result.secret).toMatch(/^\S{8}$/);
    const [tap] = taps(u);
    expect(tap!.body).toMatchObject({ id: result.reference, lifetimeInMinutes: 90, isUsableOnce: true });
    expect(result.expiresAt).toBe(new Date(Date.parse(String(tap!.body.startDateTime)) + 90 * 60_000).toISOString());
    expect(result.details).toMatchObject({ lifetimeMinutes: 90, oneTimeUse: true, targetId: u.id });

    const run = await h.server.store.getBrokerRun('acme', r.requestId);
    expect(run).toMatchObject({ state: 'done', connector: 'entra', kind: 'tap.issue', reference: result.reference });
    // Nowhere in the store: not in the run, not in the audit log, not in the inbox.
    const sql = rawSql(h.server.store);
    const dump = JSON.stringify([
      await sql.query('SELECT row_to_json(b)::text AS row FROM own_changes b'),
      await sql.query('SELECT record FROM audit'),
      await sql.query('SELECT payload::text AS payload FROM inbox'),
    ]);
    expect(dump).toContain(result.reference);
    expect(dump).not.toContain(result.secret!);
    const executed = (await h.audit()).find((a) => a.type === 'broker.executed' && a.subject.requestId === r.requestId)!;
    expect(executed.data).toMatchObject({ kind: 'tap.issue', reference: result.reference, lifetimeMinutes: 90 });
  });

  it('never issues twice for one request, even when asked concurrently', async () => {
    const u = user();
    const r = request(u);
    const results = await Promise.allSettled([execute(r), execute(r), execute(r)]);
    expect(results.filter((x) => x.status === 'fulfilled')).toHaveLength(1);
    for (const x of results.filter((x): x is PromiseRejectedResult => x.status === 'rejected')) expect(isWardenError(x.reason, 'ERR_CONFLICT')).toBe(true);
    const again = await refusal(r);
    expect(isWardenError(again, 'ERR_CONFLICT')).toBe(true);
    expect(again.message).toMatch(/never issued twice for one request/);
    expect(posts(u)).toHaveLength(1);
    expect(taps(u)).toHaveLength(1);
  });

  it('recovers an interrupted attempt from Entra instead of issuing a second pass', async () => {
    const u = user();
    const r = request(u);
    // An earlier attempt claimed the request, Entra issued the pass, and the process died before recording it.
    await h.server.store.claimBrokerRun({
      tenant: 'acme',
      requestId: r.requestId,
      connector: 'entra',
      kind: 'tap.issue',
      startedAt: h.clock.now,
      targetId: u.id,
      eventTypes: ['Admin registered security info'],
    });
    const issued = h.sim.directory.createTemporaryAccessPass({ app: h.sim.directory.apps.get(h.clientId)! }, u, { lifetimeInMinutes: 60 });
    h.advance(10 * 60_000);
    const err = await refusal(r);
    expect(isWardenError(err, 'ERR_CONFLICT')).toBe(true);
    expect(err.message).toMatch(new RegExp(`issued TAP ${issued.id}; its secret cannot be shown again`));
    expect(await h.server.store.getBrokerRun('acme', r.requestId)).toMatchObject({ state: 'done', reference: issued.id, details: { recovered: true } });
    expect(posts(u)).toHaveLength(0);
  });

  it('runs a stale claim again when Entra shows nothing was issued, but not while it may be in flight', async () => {
    const u = user();
    const r = request(u);
    await h.server.store.claimBrokerRun({
      tenant: 'acme',
      requestId: r.requestId,
      connector: 'entra',
      kind: 'tap.issue',
      startedAt: h.clock.now,
      targetId: u.id,
      eventTypes: ['Admin registered security info'],
    });
    h.advance(30_000);
    expect((await refusal(r)).message).toMatch(/is being served right now/);
    h.advance(5 * 60_000);
    const result = await execute(r);
    expect(result.secret).toBeDefined();
    expect(posts(u)).toHaveLength(1);
  });

  it('lets a request run again when Entra refused it, and reports the refusal for good', async () => {
    const u = user();
    const r = request(u);
    h.sim.directory.tapPolicyEnabled = false;
    try {
      const err = await refusal(r);
      expect(err).toBeInstanceOf(ActionError);
      expect((err as ActionError).permanent).toBe(true);
      expect(err.message).toMatch(/not enabled for this user by the authentication methods policy/);
      expect(await h.server.store.getBrokerRun('acme', r.requestId)).toBeUndefined();
    } finally {
      h.sim.directory.tapPolicyEnabled = true;
    }
    expect((await execute(r)).reference).toBe(String(taps(u)[0]!.body.id));
  });

  it('refuses bad options, unknown users and kinds it does not perform', async () => {
    const u = user();
    expect(isWardenError(await refusal(request(u, { lifetimeMinutes: 5 })), 'ERR_VALIDATION')).toBe(true);
    expect(isWardenError(await refusal(request(u, { oneTimeUse: 'yes' })), 'ERR_VALIDATION')).toBe(true);
    expect(isWardenError(await refusal({ ...request(u), targetId: 'nobody@contoso.example' }), 'ERR_NOT_FOUND')).toBe(true);
    expect(isWardenError(await refusal({ ...request(u), kind: 'password.reset' }), 'ERR_VALIDATION')).toBe(true);
    expect(posts(u)).toHaveLength(0);
    expect(h.connector.broker!.kinds).toEqual(['tap.issue']);
  });

  it('recognises the pass it issued when it comes back through the audit log', async () => {
    const u = user();
    const r = request(u);
    await execute(r);
    h.advance(60_000);
    await h.connector.tasks.get('acme')!.audit!.pollOnce();
    const before = (await h.audit()).filter((a) => a.type === 'decision.recorded').length;
    await h.drainInbox();
    // One semantics for every IdP (src/connector/own-changes.ts): the change a broker run made is decided, naming its run, so it
    // matches and uses up the request it was made for (none was filed in this harness); it is never taken for somebody else's TAP.
    const decided = (await h.audit()).filter((a) => a.type === 'decision.recorded').slice(before);
    expect(decided.length).toBeGreaterThan(0);
    expect(decided.every((d) => (d.data.change as { kind: string }).kind === 'tap.issue')).toBe(true);
    const changes = await rawSql(h.server.store).query<{ body: string }>("SELECT body::text AS body FROM changes WHERE kind = 'tap.issue'");
    const tapChanges = changes
      .map((c) => JSON.parse(c.body) as { kind: string; target: { id: string }; context: Record<string, unknown> })
      .filter((c) => c.kind === 'tap.issue' && c.target.id === u.id);
    expect(tapChanges).toHaveLength(1);
    expect(tapChanges[0]!.context.wardenBroker).toBe(`broker:${r.requestId}`);
    // Every pass this harness's broker issued (earlier tests' too) names its own run.
    const all = changes.map((c) => JSON.parse(c.body) as { context: Record<string, unknown> });
    expect(all.every((c) => String(c.context.wardenBroker).startsWith('broker:'))).toBe(true);
  });
});
