import { describe, expect, it } from 'vitest';
import { normalizeLogEvent } from '../normalize-log-event.js';
import { OktaSimulator } from './okta-simulator.js';

/** The simulator's people actions log what the connector reads (no server needed: nothing is delivered without a hook). */
describe('OktaSimulator people actions', () => {
  const at = new Date('2026-03-02T09:00:00.000Z');
  const setup = () => {
    const sim = new OktaSimulator({ clock: () => at });
    const agent = sim.addUser({ login: 'sam.agent@acme.example' }, { roles: ['HELP_DESK_ADMIN'] });
    const user = sim.addUser({ login: 'dana.lee@acme.example' });
    return { sim, agent, user };
  };
  const normalized = (event: unknown) => {
    const result = normalizeLogEvent(event, { tenant: 'acme', via: 'hook', observedAt: at });
    if (!('change' in result)) throw new Error(`ignored: ${result.ignored}`);
    return result.change;
  };

  it('resetPassword by an administrator: the user is in RECOVERY, and the event is an admin password reset', () => {
    const { sim, agent, user } = setup();
    const event = sim.resetPassword(agent.id, user.id);
    expect(sim.users.get(user.id)!.status).toBe('RECOVERY');
    expect(event).toMatchObject({
      eventType: 'user.account.reset_password',
      actor: { id: agent.id },
      target: [{ id: user.id, type: 'User', alternateId: 'dana.lee@acme.example' }],
    });
    expect(normalized(event)).toMatchObject({
      kind: 'password.reset',
      channel: 'admin',
      target: { id: user.id },
      actor: { id: agent.id },
      occurredAt: at.toISOString(),
    });
  });

  it('resetPassword by the user: self-service recovery, the user stays ACTIVE', () => {
    const { sim, user } = setup();
    const event = sim.resetPassword(user.id, user.id);
    expect(sim.users.get(user.id)!.status).toBe('ACTIVE');
    expect(normalized(event)).toMatchObject({ kind: 'password.reset', channel: 'self_service', target: { id: user.id }, actor: { id: user.id } });
  });

  it('signIn opens a session and logs user.session.start, which Warden does not govern', () => {
    const { sim, user } = setup();
    const before = sim.users.get(user.id)!.sessions;
    const event = sim.signIn(user.id);
    expect(sim.users.get(user.id)!.sessions).toBe(before + 1);
    expect(event).toMatchObject({ eventType: 'user.session.start', actor: { id: user.id } });
    expect(normalizeLogEvent(event, { tenant: 'acme', via: 'hook', observedAt: at })).toMatchObject({ ignored: expect.any(String) });
  });
});

/** The Users API's listing, as `warden okta directory export` reads it. */
describe('OktaSimulator GET /api/v1/users', () => {
  it('pages by `limit`, with the next page in Link rel="next" until the last', async () => {
    const sim = await new OktaSimulator().start();
    try {
      for (let i = 0; i < 4; i++) sim.addUser({ login: `user${i}@acme.example` });
      const seen: string[] = [];
      let url: string | undefined = `${sim.url}/api/v1/users?limit=2`;
      let pages = 0;
      while (url) {
        const res: Response = await fetch(url, { headers: { authorization: `SSWS ${sim.token}`, accept: 'application/json' } });
        expect(res.status).toBe(200);
        const page = (await res.json()) as Array<{ id: string; profile: { login: string } }>;
        expect(page.length).toBeLessThanOrEqual(2);
        seen.push(...page.map((u) => u.profile.login));
        pages++;
        url = /<([^>]+)>;\s*rel="next"/.exec(res.headers.get('link') ?? '')?.[1];
      }
      // The token's owner and the four users, each once.
      expect(seen.sort()).toEqual([...[0, 1, 2, 3].map((i) => `user${i}@acme.example`), 'warden-service@example.com'].sort());
      expect(pages).toBe(3);
    } finally {
      await sim.close();
    }
  });
});
