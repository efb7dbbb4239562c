import { afterAll, afterEach, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { AUDIT_CURSOR, POLL_REQUEST_CURSOR } from '../../connectors/entra/audit-poller.js';
import { SUBSCRIPTION_CURSOR, type SubscriptionState } from '../../connectors/entra/subscription-manager.js';
import { runCli } from '../../src/app/cli-main.js';
import { startEntraHarness, type EntraHarness } from '../helpers/entra-harness.js';

/**
 * The Graph subscription lifecycle, end to end against the simulator:
 * validation, renewal before expiry, reauthorizationRequired,
 * subscriptionRemoved, missed → catch-up, the self-test, and the receiver's
 * refusal of notifications without the right clientState.
 */

const MINUTE = 60_000;

describe('Entra subscriptions', () => {
  let h: EntraHarness;
  beforeEach(async () => {
    h = await startEntraHarness();
  });
  afterEach(async () => {
    await h.close();
  });

  const manager = () => h.connector.runtime.manager(h.server.context, h.tenant);
  const state = async () => (await h.server.store.getCursor('acme', SUBSCRIPTION_CURSOR)) as SubscriptionState;
  const types = async () => (await h.audit()).map((r) => r.type);
  const graphCalls = (method: string, path: RegExp) => h.sim.requests.filter((r) => r.appId === h.clientId && r.method === method && path.test(r.path));

  it('is created only after Graph validated both receivers, which answer the handshake at once', async () => {
    const result = await manager().ensure();
    expect(result.action).toBe('created');
    const [sub] = [...h.sim.subscriptions.values()];
    expect(sub).toMatchObject({
      resource: '/users',
      changeType: 'updated,deleted',
      clientState: h.clientState,
      notificationUrl: `${h.publicUrl}/hooks/entra/acme/notifications`,
      lifecycleNotificationUrl: `${h.publicUrl}/hooks/entra/acme/lifecycle`,
    });
    expect(Date.parse(sub!.expirationDateTime) - h.clock.now.getTime()).toBe(41_000 * MINUTE);
    const validations = h.sim.deliveries.filter((d) => d.kind === 'validation');
    expect(validations.map((d) => [new URL(d.url).pathname, d.status])).toEqual([
      ['/hooks/entra/acme/notifications', 200],
      ['/hooks/entra/acme/lifecycle', 200],
    ]);
    expect(validations.every((d) => d.ms < 2_000)).toBe(true);
    expect((await state()).id).toBe(sub!.id);
    expect(await types()).toContain('entra.subscription.created');

    // The handshake itself: the URL-decoded token, as text/plain, nothing else.
    const token = 'Validation: Testing client application reachability <script>&+1';
    const res = await fetch(`${h.publicUrl}/hooks/entra/acme/notifications?validationToken=${encodeURIComponent(token)}`, {
      method: 'POST',
      headers: { 'content-type': 'text/plain; charset=utf-8' },
    });
    expect([res.status, res.headers.get('content-type'), res.headers.get('x-content-type-options'), await res.text()]).toEqual([
      200,
      'text/plain; charset=utf-8',
      'nosniff',
      token,
    ]);
    const unknown = await fetch(`${h.server.url}/hooks/entra/globex/notifications?validationToken=x`, { method: 'POST' });
    expect([unknown.status, ((await unknown.json()) as { code: string }).code]).toEqual([404, 'ERR_TENANT_UNKNOWN']);
  });

  it('is renewed before it expires, not earlier, and recreated when Graph no longer has it', async () => {
    const created = await manager().ensure();
    const expiresAt = Date.parse(created.state.expiresAt!);
    h.advance(expiresAt - h.clock.now.getTime() - 2_881 * MINUTE); // just outside the 2,880-minute renewal window
    expect((await manager().ensure()).action).toBe('ok');
    expect(graphCalls('PATCH', /^\/v1\.0\/subscriptions\//)).toHaveLength(0);

    h.advance(2 * MINUTE);
    const renewed = await manager().ensure();
    expect(renewed.action).toBe('renewed');
    expect(Date.parse(renewed.state.expiresAt!)).toBe(h.clock.now.getTime() + 41_000 * MINUTE);
    expect(h.sim.subscriptions.get(created.state.id!)!.expirationDateTime).toBe(renewed.state.expiresAt);
    expect(graphCalls('PATCH', /^\/v1\.0\/subscriptions\//)).toHaveLength(1);
    expect(await types()).toContain('entra.subscription.renewed');

    h.sim.subscriptions.clear(); // expired, or deleted by someone
    const recreated = await manager().ensure();
    expect(recreated.action).toBe('recreated');
    expect(recreated.state.id).not.toBe(created.state.id);
    expect([...h.sim.subscriptions.keys()]).toEqual([recreated.state.id]);
  });

  it('answers reauthorizationRequired by reauthorizing and renewing', async () => {
    const { state: s } = await manager().ensure();
    h.advance(10 * MINUTE);
    const delivery = await h.sim.sendLifecycle(s.id!, 'reauthorizationRequired');
    expect(delivery.status).toBe(202);
    expect(await h.drainInbox()).toBe(1);
    expect(graphCalls('POST', new RegExp(`^/v1\\.0/subscriptions/${s.id}/reauthorize$`)).map((c) => c.status)).toEqual([204]);
    expect(graphCalls('PATCH', new RegExp(`^/v1\\.0/subscriptions/${s.id}$`)).map((c) => c.status)).toEqual([200]);
    expect((await state()).expiresAt).toBe(new Date(h.clock.now.getTime() + 41_000 * MINUTE).toISOString());
    expect(await types()).toEqual(expect.arrayContaining(['entra.subscription.reauthorized', 'entra.subscription.renewed']));
  });

  it('answers subscriptionRemoved by creating a new subscription', async () => {
    const { state: s } = await manager().ensure();
    await h.sim.sendLifecycle(s.id!, 'subscriptionRemoved');
    expect(h.sim.subscriptions.size).toBe(0);
    await h.drainInbox();
    const now = await state();
    expect(now.id).toBeDefined();
    expect(now.id).not.toBe(s.id);
    expect([...h.sim.subscriptions.keys()]).toEqual([now.id]);
    const recreated = (await h.audit()).find((r) => r.type === 'entra.subscription.recreated')!;
    expect(recreated.data).toMatchObject({ subscriptionId: now.id, replaces: s.id, reason: 'subscriptionRemoved (lifecycle notification)' });
  });

  it('answers missed with an immediate audit-log catch-up', async () => {
    const { state: s } = await manager().ensure();
    const poller = h.connector.tasks.get('acme')!.audit!;
    await poller.pollOnce();
    h.advance(15_000);
    h.sim.act.registerPhone(h.users.admin.id, h.users.alice.id, { phoneNumber: '+1 425 555 0101' });
    h.advance(10_000);
    expect(await poller.step()).toBe(0);
    expect((await h.server.store.getCursor('acme', AUDIT_CURSOR)) as { lastRead: number }).toMatchObject({ lastRead: 0 }); // not due: the interval is 60 s

    await h.sim.sendLifecycle(s.id!, 'missed');
    await h.drainInbox();
    expect(await h.server.store.getCursor('acme', POLL_REQUEST_CURSOR)).toMatchObject({ reason: 'missed', at: h.clock.now.toISOString() });
    await poller.step();
    expect(await h.server.store.getCursor('acme', AUDIT_CURSOR)).toMatchObject({ lastPollStartedAt: h.clock.now.toISOString(), lastNew: 1 });
    await h.drainInbox();
    expect((await h.audit()).filter((r) => r.type === 'decision.recorded').map((r) => (r.data.change as { kind: string }).kind)).toEqual(['factor.enroll']);
    expect(await types()).toContain('entra.subscription.missed');
  });

  it('turns a change notification into an early audit poll', async () => {
    await manager().ensure();
    const poller = h.connector.tasks.get('acme')!.audit!;
    await poller.pollOnce();
    h.advance(10_000);
    h.sim.act.registerPhone(h.users.helpdesk.id, h.users.alice.id, { phoneNumber: '+1 425 555 0102' });
    h.sim.act.updateJobTitle(h.users.helpdesk.id, h.users.alice.id, 'Analyst');
    await h.sim.settle();
    const notification = h.sim.deliveries.find((d) => d.kind === 'notification')!;
    expect(notification.status).toBe(202);
    expect(notification.ms).toBeLessThan(3_000);
    await h.drainInbox();
    await poller.step();
    expect(await h.server.store.getCursor('acme', AUDIT_CURSOR)).toMatchObject({ lastPollStartedAt: h.clock.now.toISOString() });
    await h.drainInbox();
    const decision = (await h.audit()).find((r) => r.type === 'decision.recorded')!;
    // The actor holds the Helpdesk Administrator role: the change is a help-desk change.
    expect(decision.data).toMatchObject({ outcome: 'hold', change: { kind: 'factor.enroll', channel: 'helpdesk' } });
  });

  it('asks for another early poll when a notification comes right after the poll the previous one asked for', async () => {
    await manager().ensure();
    const poller = h.connector.tasks.get('acme')!.audit!;
    await poller.pollOnce();
    h.advance(10_000);
    h.sim.act.updateJobTitle(h.users.helpdesk.id, h.users.alice.id, 'Analyst');
    await h.sim.settle();
    await h.drainInbox();
    await poller.step();
    expect(await h.server.store.getCursor('acme', AUDIT_CURSOR)).toMatchObject({ lastPollStartedAt: h.clock.now.toISOString() });
    // One second later (inside the handler's 2 s of coalescing), a help-desk change after that poll, and its notification.
    h.advance(1_000);
    h.sim.act.registerPhone(h.users.helpdesk.id, h.users.alice.id, { phoneNumber: '+1 425 555 0103' });
    h.sim.act.updateJobTitle(h.users.helpdesk.id, h.users.alice.id, 'Engineer');
    await h.sim.settle();
    await h.drainInbox();
    expect(await h.server.store.getCursor('acme', POLL_REQUEST_CURSOR)).toMatchObject({ at: h.clock.now.toISOString() });
    h.advance(5_000); // the poller's least gap, far from its 60 s interval
    await poller.step();
    expect(await h.server.store.getCursor('acme', AUDIT_CURSOR)).toMatchObject({ lastPollStartedAt: h.clock.now.toISOString() });
    await h.drainInbox();
    const decision = (await h.audit()).find((r) => r.type === 'decision.recorded' && (r.data.change as { kind: string }).kind === 'factor.enroll')!;
    expect(decision.data).toMatchObject({ outcome: 'hold', change: { kind: 'factor.enroll', channel: 'helpdesk' } });
  });

  it('self-test: reports and replaces a subscription that exists but delivers nothing', async () => {
    const first = await manager().ensure();
    const poller = h.connector.tasks.get('acme')!.audit!;
    h.sim.notificationMode = 'drop';
    h.advance(MINUTE);
    h.sim.act.updateJobTitle(h.users.admin.id, h.users.alice.id, 'Analyst');
    h.advance(MINUTE);
    await poller.pollOnce();
    h.advance(20 * MINUTE);
    expect((await manager().ensure()).action).toBe('ok'); // not silent yet: 30 minutes allowed
    h.advance(15 * MINUTE);
    const repaired = await manager().ensure();
    expect(repaired).toMatchObject({ action: 'recreated', silent: true });
    expect(repaired.state.id).not.toBe(first.state.id);
    const silent = (await h.audit()).find((r) => r.type === 'entra.subscription.silent')!;
    expect(silent.data).toMatchObject({ subscriptionId: first.state.id, silenceMinutes: 30 });
    const metrics = await (await fetch(`${h.server.url}/metrics`)).text();
    expect(metrics).toMatch(/warden_entra_subscription_events_total\{tenant="acme",event="silent"\} 1/);
  });

  it('is managed by one replica: the loop and every change wait for the store leases', async () => {
    const loop = h.connector.tasks.get('acme')!.subscriptions!;
    // Another replica runs this tenant's subscription loop: this one does nothing.
    expect(await h.server.store.acquireLease('entra:acme:subscriptions', 'other-replica', h.clock.now, 900)).toBe(true);
    expect(await loop.step()).toBe(0);
    expect(h.sim.subscriptions.size).toBe(0);
    await h.server.store.releaseLease('entra:acme:subscriptions', 'other-replica');
    // Another replica is changing the subscription right now: a change here is refused, to be retried.
    expect(await h.server.store.acquireLease('entra:acme:subscription-op', 'other-replica', h.clock.now, 120)).toBe(true);
    await expect(manager().ensure()).rejects.toThrow(/another Warden replica is changing the Entra subscription/);
    await h.server.store.releaseLease('entra:acme:subscription-op', 'other-replica');
    // Two managers of this process at once: one subscription.
    await Promise.all([manager().ensure(), manager().ensure(), loop.step()]);
    expect(h.sim.subscriptions.size).toBe(1);
  });

  it('self-test: a subscription that delivers is left alone', async () => {
    const first = await manager().ensure();
    const poller = h.connector.tasks.get('acme')!.audit!;
    h.advance(MINUTE);
    h.sim.act.updateJobTitle(h.users.admin.id, h.users.alice.id, 'Analyst');
    await h.sim.settle();
    await h.drainInbox();
    h.advance(MINUTE);
    await poller.pollOnce();
    h.advance(40 * MINUTE);
    expect(await manager().ensure()).toMatchObject({ action: 'ok', state: { id: first.state.id } });
  });
});

describe('Entra notification receiver refuses what Graph did not send', () => {
  let h: EntraHarness;
  beforeAll(async () => {
    h = await startEntraHarness();
  });
  afterAll(async () => {
    await h.close();
  });

  const notification = (overrides: Record<string, unknown> = {}) => ({
    subscriptionId: '0f4fa0f0-47a8-4d2b-9a6a-8a1d1b4e7f10',
    subscriptionExpirationDateTime: '2026-12-20T10:00:00Z',
    clientState: h.clientState,
    changeType: 'updated',
    resource: `Users/${h.users.alice.id}`,
    resourceData: { '@odata.type': '#Microsoft.Graph.User', '@odata.id': `Users/${h.users.alice.id}`, id: h.users.alice.id, organizationId: h.entraTenantId },
    tenantId: h.entraTenantId,
    ...overrides,
  });
  const post = (body: unknown, contentType = 'application/json; charset=utf-8') =>
    fetch(`${h.server.url}/hooks/entra/acme/notifications`, {
      method: 'POST',
      headers: { 'content-type': contentType },
      body: typeof body === 'string' ? body : JSON.stringify(body),
    });
  const problem = async (res: Response) => [res.status, res.headers.get('content-type')?.split(';')[0], ((await res.json()) as { code: string }).code];
  const metric = async (result: string) => {
    const text = await (await fetch(`${h.server.url}/metrics`)).text();
    return Number(new RegExp(`warden_entra_notifications_total\\{tenant="acme",kind="notification",result="${result}"\\} (\\d+)`).exec(text)?.[1] ?? 0);
  };
  const pending = async () => (await h.server.store.claimInbox(100, new Date(h.clock.now.getTime() + 3_600_000), 1)).length;

  it('rejects a wrong clientState with 401, stores nothing and counts it', async () => {
    const before = await metric('client_state_mismatch');
    expect(await problem(await post({ value: [notification({ clientState: 'not-the-secret' })] }))).toEqual([
      401,
      'application/problem+json',
      'ERR_AUTH_INVALID',
    ]);
    expect(await metric('client_state_mismatch')).toBe(before + 1);
    expect(await pending()).toBe(0);
  });

  it('rejects a missing clientState, and a clientState of another length', async () => {
    const { clientState: _none, ...without } = notification();
    expect(await problem(await post({ value: [without] }))).toEqual([401, 'application/problem+json', 'ERR_AUTH_INVALID']);
    expect(await problem(await post({ value: [notification({ clientState: h.clientState + 'x' })] }))).toEqual([
      401,
      'application/problem+json',
      'ERR_AUTH_INVALID',
    ]);
    expect(await problem(await post({ value: [notification({ clientState: null })] }))).toEqual([401, 'application/problem+json', 'ERR_AUTH_INVALID']);
    expect(await pending()).toBe(0);
  });

  it('rejects a notification for another Entra tenant even with the right clientState', async () => {
    const before = await metric('tenant_mismatch');
    expect(await problem(await post({ value: [notification({ tenantId: '9d0bd0a2-2a7c-4b7e-9f4f-111111111111' })] }))).toEqual([
      401,
      'application/problem+json',
      'ERR_AUTH_INVALID',
    ]);
    expect(await metric('tenant_mismatch')).toBe(before + 1);
  });

  it('keeps the good notifications of a mixed delivery and drops the others', async () => {
    const res = await post({ value: [notification({ clientState: 'forged' }), notification()] });
    expect(res.status).toBe(202);
    const stored = await h.server.store.claimInbox(100, new Date(h.clock.now.getTime() + 3_600_000), 1);
    expect(stored).toHaveLength(1);
    expect(stored[0]!.payload).not.toHaveProperty('notification.clientState'); // the secret is checked, never stored
    // A retry of the same delivery is absorbed by the inbox.
    expect((await post({ value: [notification()] })).status).toBe(202);
    expect(await pending()).toBe(0);
  });

  it('answers 400 for malformed bodies and 415 for other media types', async () => {
    expect(await problem(await post('{"value": ['))).toEqual([400, 'application/problem+json', 'ERR_BODY_MALFORMED']);
    expect(await problem(await post({ notvalue: [] }))).toEqual([400, 'application/problem+json', 'ERR_VALIDATION']);
    expect(await problem(await post({ value: [{ subscriptionId: 'x' }] }))).toEqual([400, 'application/problem+json', 'ERR_VALIDATION']);
    expect(await problem(await post('value', 'text/plain'))).toEqual([415, 'application/problem+json', 'ERR_UNSUPPORTED_MEDIA_TYPE']);
    expect(await problem(await post({ value: [notification()] }, 'application/json; charset=latin1'))).toEqual([
      415,
      'application/problem+json',
      'ERR_UNSUPPORTED_MEDIA_TYPE',
    ]);
    const huge = { value: [notification({ resourceData: { padding: 'x'.repeat(1024 * 1024) } })] };
    expect(await problem(await post(huge))).toEqual([413, 'application/problem+json', 'ERR_BODY_TOO_LARGE']);
    expect(await pending()).toBe(0);
  });

  it('documents both receivers in /openapi.json', async () => {
    const doc = (await (await fetch(`${h.server.url}/openapi.json`)).json()) as {
      paths: Record<string, { post?: { responses: Record<string, unknown> } }>;
      components: { schemas: Record<string, unknown> };
    };
    for (const kind of ['notifications', 'lifecycle'])
      expect(Object.keys(doc.paths[`/hooks/entra/{tenant}/${kind}`]!.post!.responses).sort()).toEqual(['200', '202', '400', '401', '404']);
    expect(doc.components.schemas.EntraGraphNotifications).toBeDefined();
  });

  it('serves warden entra list and subscribe through the running server', async () => {
    const out: string[] = [];
    const io = { out: (s: string) => void out.push(s), err: (s: string) => void out.push(s) };
    expect(await runCli(['--config', h.configFile, 'entra', 'subscribe', '--tenant', 'acme'], io, [h.connector], () => h.clock.now)).toBe(0);
    expect(out.join('')).toMatch(/^tenant acme: created: subscription [0-9a-f-]{36} on \/users, expires /);
    out.length = 0;
    expect(await runCli(['--config', h.configFile, 'entra', 'list', '--tenant', 'acme'], io, [h.connector], () => h.clock.now)).toBe(0);
    expect(out.join('')).toMatch(/Warden's subscription [0-9a-f-]{36}: present in Graph/);
    expect(out.join('')).toMatch(/Graph lists 1 subscription of this app:/);
    out.length = 0;
    expect(await runCli(['--config', h.configFile, 'entra', 'renew', '--tenant', 'acme'], io, [h.connector], () => h.clock.now)).toBe(0);
    expect(out.join('')).toMatch(/^tenant acme: renewed: subscription/);
    const before = [...h.sim.subscriptions.keys()];
    out.length = 0;
    expect(await runCli(['--config', h.configFile, 'entra', 'subscribe', '--tenant', 'acme', '--recreate'], io, [h.connector], () => h.clock.now)).toBe(0);
    expect(out.join('')).toMatch(/^tenant acme: recreated: subscription/);
    expect([...h.sim.subscriptions.keys()]).toHaveLength(1);
    expect([...h.sim.subscriptions.keys()]).not.toEqual(before);
  });
});
