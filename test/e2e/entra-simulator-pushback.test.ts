import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { GraphCallError } from '../../connectors/entra/graph-session.js';
import { startEntraHarness, type EntraHarness } from '../helpers/entra-harness.js';

/**
 * The Graph simulator pushes back like Graph, on the harness's simulated
 * clock: access tokens expire an hour after issue by that clock (Warden's
 * session then takes a new one), and injected 429/5xx answers with
 * `Retry-After` reach Warden on any endpoint.
 */

describe('Graph simulator push-back', () => {
  let h: EntraHarness;
  beforeAll(async () => {
    h = await startEntraHarness();
  });
  afterAll(async () => {
    await h?.close();
  });

  const getAlice = () => h.tenant.session.call('getUser', { user: h.users.alice.id }, (r) => r.select(['id']).get()) as Promise<{ id: string }>;
  const tokenRequests = () => h.sim.requests.filter((r) => /\/oauth2\/v2\.0\/token$/.test(r.path)).length;

  it('expires the token on the simulated clock; the session drops it, takes a new one and the call succeeds', async () => {
    expect((await getAlice()).id).toBe(h.users.alice.id);
    const tokens = tokenRequests();
    const renewals = h.tenant.session.renewals;
    h.advance(3600_000); // the identity library still holds the token by the machine's clock; Graph's clock says it has expired
    expect((await getAlice()).id).toBe(h.users.alice.id);
    expect(h.tenant.session.renewals).toBe(renewals + 1);
    expect(tokenRequests()).toBe(tokens + 1);
    const calls = h.sim.requests.filter((r) => r.path === `/v1.0/users/${h.users.alice.id}`).slice(-2);
    expect(calls.map((c) => c.status)).toEqual([401, 200]);
    // The new token is good for the next hour: no renewal in between.
    h.advance(3000_000);
    expect((await getAlice()).id).toBe(h.users.alice.id);
    expect(h.tenant.session.renewals).toBe(renewals + 1);
  });

  it('injects 429 and 503 with Retry-After and other 5xx without, on any endpoint; nothing is performed', async () => {
    await getAlice();
    h.sim.faults.inject({ status: 429, retryAfterSeconds: 120 });
    const throttled = (await getAlice().catch((e: unknown) => e)) as GraphCallError;
    expect([throttled.status, throttled.graphCode, throttled.retryAfterMs]).toEqual([429, 'TooManyRequests', 120_000]);

    h.sim.faults.inject({ status: 503, retryAfterSeconds: 300, path: /revokeSignInSessions$/ });
    const before = h.sim.directory.users.get(h.users.alice.id)!.signInSessionsValidFromDateTime;
    const unavailable = (await h.tenant.session
      .call('revokeSignInSessions', { user: h.users.alice.id }, (r) => r.post({}))
      .catch((e: unknown) => e)) as GraphCallError;
    expect([unavailable.status, unavailable.graphCode, unavailable.retryAfterMs, unavailable.retryable]).toEqual([503, 'ServiceUnavailable', 300_000, true]);
    expect(h.sim.directory.users.get(h.users.alice.id)!.signInSessionsValidFromDateTime).toBe(before);

    h.sim.faults.inject({ status: 502, method: 'GET' });
    const gateway = (await getAlice().catch((e: unknown) => e)) as GraphCallError;
    expect([gateway.status, gateway.retryAfterMs, gateway.retryable]).toEqual([502, undefined, true]);
    expect([h.sim.faults.pending, (await getAlice()).id]).toEqual([0, h.users.alice.id]);
  });

  it('answers with a Date on the simulated clock', async () => {
    const res = await fetch(`${h.sim.url}/v1.0/users`, { headers: { authorization: 'Bearer nothing' } });
    expect([res.status, res.headers.get('date')]).toEqual([401, h.clock.now.toUTCString()]);
  });
});
