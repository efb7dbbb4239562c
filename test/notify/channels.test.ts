import { afterAll, afterEach, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { defaultDetection, Secret, type ResolvedTenant } from '../../src/config/load-config.js';
import { NotificationsConfig } from '../../src/config/notifications-config-schema.js';
import { OidcConfig } from '../../src/config/workflow-config-schema.js';
import { ChannelRoutes } from '../../src/notify/channels/channel-routes.js';
import { ChannelWorker } from '../../src/notify/channels/channel-worker.js';
import { publishDeliveryStopped } from '../../src/notify/publish-delivery-stopped.js';
import { publishEvent } from '../../src/notify/publish-event.js';
import { createLogger } from '../../src/runtime/logger.js';
import type { Store } from '../../src/store/store.js';
import { pgliteTestStore } from '../helpers/test-stores.js';
import { fakeSlack, fakeTeams, slackAnswers, slackFields, SmtpSink, type FakeHttp } from './fake-endpoints.js';

const T0 = new Date('2026-05-01T10:00:00Z');

/** A request waiting for approval, as `request.pending_approval` carries it (src/requests/workflow-context.ts `note`). */
const pendingApproval = {
  request: {
    id: '01900000-0000-7000-8000-000000000001',
    state: 'pending_approval',
    kind: 'factor.reset_all',
    target: { id: '00u-cfo', login: 'cfo@acme.com' },
    requester: { id: '00u-cfo' },
    executor: { id: '00u-agent7' },
    breakGlass: false,
    expiresAt: '2026-05-01T11:00:00.000Z',
    tier: 'executive',
    rules: ['exec-reset-needs-two-approvals'],
    changeChannel: 'helpdesk',
  },
  actor: { type: 'system', id: 'warden' },
  from: 'proofing',
  reason: 'proofing met',
};

/** A held change, as `hold.placed` carries it (src/notify/publish-hold-event.ts). */
const held = {
  decisionId: '01900000-0000-7000-8000-0000000000d1',
  tier: 'privileged',
  outcome: 'hold',
  mode: 'enforce',
  rules: [{ id: 'admin-factor-reset', outcome: 'hold', reason: 'privileged reset without an approved request' }],
  change: {
    id: 'c1',
    kind: 'factor.reset_all',
    channel: 'admin',
    idp: 'okta',
    target: { id: '00u-admin', login: 'root-admin@acme.com' },
    actor: { id: '00u-agent7', login: 'agent7@acme.com', type: 'user' },
  },
};

describe('chat and e-mail notifications through local Slack, Teams and SMTP fakes', () => {
  let store: Store;
  let dispose: () => Promise<void>;
  let slack: FakeHttp;
  let teams: FakeHttp;
  let smtp: SmtpSink;
  let routes: ChannelRoutes;
  let worker: ChannelWorker;
  let now: Date;
  const log = createLogger('silent');

  const tenant = (over: Partial<{ teamsUrl: string; maxAttempts: number; console: boolean }> = {}): ResolvedTenant => ({
    id: 'acme',
    policyFile: '/dev/null',
    secrets: {
      slackBot: new Secret('xoxb-test-token'),
      teamsHook: new Secret(over.teamsUrl ?? `${teams.url}/workflows/abc/triggers/manual/paths/invoke?sig=s3cret`),
    },
    secretRefs: {},
    detection: defaultDetection(),
    connectors: {},
    ...(over.console
      ? {
          oidc: OidcConfig.parse({
            issuer: 'https://idp.acme.test',
            audience: 'warden',
            console: { clientId: 'warden-console', publicUrl: 'https://warden.acme.test' },
          }),
        }
      : {}),
    notifications: NotificationsConfig.parse({
      publicUrl: 'https://warden.acme.test',
      maxAttempts: over.maxAttempts ?? 3,
      channels: [
        { name: 'secops-slack', type: 'slack', token: 'slackBot', conversation: 'C123ABC456', slackApiUrl: `${slack.url}/api/` },
        { name: 'secops-teams', type: 'teams', webhookUrl: 'teamsHook' },
        { name: 'mail', type: 'email', host: '127.0.0.1', port: smtp.port, requireTls: false, from: 'Warden <warden@acme.test>' },
      ],
      routes: [
        { role: 'approvers', events: ['request.pending_approval'], channel: 'secops-slack' },
        { role: 'approvers', events: ['request.pending_approval'], channel: 'mail', to: ['approvers@acme.test'] },
        { role: 'security', events: ['hold.placed', 'delivery.stopped'], channel: 'secops-teams' },
        { role: 'security', events: ['hold.placed'], channel: 'mail', to: ['soc@acme.test', 'oncall@acme.test'] },
      ],
    }),
  });

  const publish = (type: string, data: Record<string, unknown>) => store.transaction((tx) => publishEvent(tx, routes, { tenant: 'acme', type, data, at: now }));
  const deliveries = () => store.listDeliveries('acme', 50, { kind: 'channel' });

  beforeAll(async () => {
    ({ store, dispose } = await pgliteTestStore());
    await store.ensureTenants(['acme']);
    slack = await fakeSlack().start();
    teams = await fakeTeams().start();
    smtp = await new SmtpSink().start();
  });
  afterAll(async () => {
    await Promise.all([slack?.stop(), teams?.stop(), smtp?.stop()]);
    await dispose?.();
  });

  const setUp = (over: Parameters<typeof tenant>[0] = {}) => {
    routes?.close();
    routes = new ChannelRoutes([tenant(over)]);
    worker = new ChannelWorker({
      store,
      routes,
      log,
      clock: () => now,
      random: () => 0.5,
      onGaveUp: (d, error) => store.transaction(async (tx) => void (await publishDeliveryStopped(tx, routes, d, error, now))),
    });
  };
  beforeEach(() => {
    now = new Date(T0.getTime() + Math.floor(Math.random() * 1e9));
    slack.received.length = 0;
    teams.received.length = 0;
    smtp.mails.length = 0;
    setUp();
  });
  afterEach(() => routes.close());

  it('links to the console page when the tenant offers the web console', async () => {
    setUp({ console: true });
    await publish('request.pending_approval', pendingApproval);
    expect(await worker.runOnce()).toBe(2);
    const text = JSON.stringify(JSON.parse(slackFields(slack.received[0]!).blocks!));
    expect(text).toContain('https://warden.acme.test/console/requests/01900000-0000-7000-8000-000000000001');
    expect(text).not.toContain('/v1/requests/');
    expect(smtp.mails[0]!.raw).toContain('https://warden.acme.test/console/requests/01900000-0000-7000-8000-000000000001');
  });

  it('posts a Block Kit message to Slack and an e-mail for a request waiting for approval: who, what, tier, why, deep link', async () => {
    const eventId = await publish('request.pending_approval', pendingApproval);
    expect(eventId).toBeDefined();
    expect(await worker.runOnce()).toBe(2);

    expect(slack.received).toHaveLength(1);
    const call = slack.received[0]!;
    expect(call.path).toBe('/api/chat.postMessage');
    expect(call.headers.authorization).toBe('Bearer xoxb-test-token');
    const fields = slackFields(call);
    expect(fields.channel).toBe('C123ABC456');
    const blocks = JSON.parse(fields.blocks!) as Array<Record<string, unknown>>;
    const text = JSON.stringify(blocks);
    expect(blocks[0]).toMatchObject({ type: 'header' });
    expect(text).toContain('factor.reset_all for cfo@acme.com');
    expect(text).toContain('requested by 00u-cfo, to be done by 00u-agent7');
    expect(text).toContain('executive');
    expect(text).toContain('exec-reset-needs-two-approvals');
    expect(text).toContain('https://warden.acme.test/v1/requests/01900000-0000-7000-8000-000000000001?tenant=acme');
    // No interactive button: the only element opens a URL.
    const actions = blocks.find((b) => b.type === 'actions') as { elements: Array<Record<string, unknown>> };
    expect(actions.elements.every((e) => typeof e.url === 'string' && e.action_id === undefined)).toBe(true);

    expect(smtp.mails).toHaveLength(1);
    const mail = smtp.mails[0]!;
    expect(mail.to).toEqual(['approvers@acme.test']);
    expect(mail.from).toBe('warden@acme.test');
    expect(mail.raw).toContain('Subject: [Warden] Change request waiting for approval');
    expect(mail.raw).toContain('Tier:     executive');
    expect(mail.raw).toContain('https://warden.acme.test/v1/requests/01900000-0000-7000-8000-000000000001?tenant=acme');
    expect(mail.raw).toContain('never by replying to this e-mail');

    expect(
      (await deliveries())
        .filter((d) => d.eventId === eventId)
        .map((d) => [d.endpoint, d.state])
        .sort(),
    ).toEqual([
      ['channel:mail', 'delivered'],
      ['channel:secops-slack', 'delivered'],
    ]);
  });

  it('posts an Adaptive Card to the Teams webhook and mails every address of the route when a change is held', async () => {
    await publish('hold.placed', held);
    expect(await worker.runOnce()).toBe(2);
    expect(teams.received).toHaveLength(1);
    expect(teams.received[0]!.path).toBe('/workflows/abc/triggers/manual/paths/invoke?sig=s3cret');
    const card = JSON.parse(teams.received[0]!.body) as {
      type: string;
      attachments: Array<{
        contentType: string;
        content: { type: string; body: Array<{ facts?: Array<{ title: string; value: string }> }>; actions: Array<{ type: string; url: string }> };
      }>;
    };
    expect(card.type).toBe('message');
    expect(card.attachments[0]!.contentType).toBe('application/vnd.microsoft.card.adaptive');
    const content = card.attachments[0]!.content;
    expect(content.type).toBe('AdaptiveCard');
    const facts = Object.fromEntries(content.body.flatMap((b) => b.facts ?? []).map((f) => [f.title, f.value]));
    expect(facts).toMatchObject({
      Who: 'by agent7@acme.com (admin, okta)',
      What: 'factor.reset_all for root-admin@acme.com',
      Tier: 'privileged',
      Why: 'admin-factor-reset: privileged reset without an approved request',
    });
    expect(content.actions).toEqual([
      { type: 'Action.OpenUrl', title: 'Requests for this person', url: 'https://warden.acme.test/v1/requests?target=00u-admin&tenant=acme' },
    ]);
    expect(smtp.mails.map((m) => m.to)).toEqual([['soc@acme.test', 'oncall@acme.test']]);
  });

  it('queues nothing for an event no route names', async () => {
    expect(await publish('request.approved', pendingApproval)).toBeUndefined();
    expect(await worker.runOnce()).toBe(0);
  });

  it('retries failing endpoints with backoff (Slack rate limit honoured, Teams 503, SMTP 451) and delivers once they recover', async () => {
    slack.answers.push(slackAnswers.rateLimited(120));
    teams.answers.push({ status: 503 });
    smtp.reject = 1;
    const a = await publish('request.pending_approval', pendingApproval);
    const b = await publish('hold.placed', held);
    expect(await worker.runOnce()).toBe(4);
    const mine = async () => (await deliveries()).filter((d) => d.eventId === a || d.eventId === b);
    const failed = (await mine()).filter((d) => d.lastError);
    expect(failed.map((d) => d.endpoint).sort()).toEqual(['channel:mail', 'channel:secops-slack', 'channel:secops-teams']);
    expect(failed.every((d) => d.state === 'queued')).toBe(true);
    const slackRow = failed.find((d) => d.endpoint === 'channel:secops-slack')!;
    expect(slackRow.lastError).toContain('rate-limited');
    // Slack asked for 120 s: not before.
    expect(slackRow.nextAttemptAt.getTime() - now.getTime()).toBe(120_000);

    now = new Date(now.getTime() + 10_000);
    expect(await worker.runOnce()).toBe(2); // Teams and SMTP after 5 s; Slack still waits
    now = new Date(now.getTime() + 120_000);
    expect(await worker.runOnce()).toBe(1);
    expect((await mine()).every((d) => d.state === 'delivered')).toBe(true);
    expect(slack.received).toHaveLength(2);
    expect(teams.received).toHaveLength(2);
  });

  it('gives up after maxAttempts, keeps the message listed as failed, and publishes delivery.stopped', async () => {
    setUp({ maxAttempts: 2 });
    teams.answers.push({ status: 500 }, { status: 500 });
    smtp.reject = 0;
    const id = await publish('hold.placed', held);
    await worker.runOnce();
    now = new Date(now.getTime() + 60_000);
    await worker.runOnce();
    const failed = await store.listDeliveries('acme', 50, { kind: 'channel', state: 'failed' });
    const row = failed.find((d) => d.eventId === id)!;
    expect(row).toMatchObject({ endpoint: 'channel:secops-teams', state: 'failed', attempts: 2, lastError: 'the Teams webhook answered HTTP 500' });
    // Security hears that the channel stopped (here through the same Teams route, which now answers).
    const stopped = (await store.listDeliveries('acme', 50, { kind: 'channel' })).find(
      (d) => d.event.type === 'delivery.stopped' && JSON.parse(d.event.body).data.eventId === id,
    );
    expect(stopped).toBeDefined();
    expect(JSON.parse(stopped!.event.body).data).toMatchObject({ kind: 'channel', name: 'secops-teams', eventType: 'hold.placed', attempts: 2 });
    await worker.runOnce();
    expect(JSON.stringify(teams.received.at(-1)!.body)).toContain('Delivery stopped');
  });

  it('a wrong Teams webhook URL fails at once with an error naming the setting, without the URL (a credential)', async () => {
    setUp({ teamsUrl: `${teams.url}/workflows/deleted?sig=zzz` });
    teams.answers.push({ status: 404, body: '{"error":{"code":"WorkflowTriggerIsNotEnabled"}}' });
    const id = await publish('hold.placed', held);
    await worker.runOnce();
    const row = (await store.listDeliveries('acme', 50, { kind: 'channel', state: 'failed' })).find(
      (d) => d.eventId === id && d.endpoint === 'channel:secops-teams',
    )!;
    expect(row.attempts).toBe(1);
    expect(row.lastError).toContain('HTTP 404');
    expect(row.lastError).toContain('tenants[acme].notifications.channels[secops-teams].webhookUrl');
    expect(row.lastError).not.toContain('sig=zzz');
  });

  it('a webhook URL that is not https is refused naming the setting', async () => {
    setUp({ teamsUrl: 'http://teams.example.com/hook' });
    const id = await publish('hold.placed', held);
    await worker.runOnce();
    const row = (await store.listDeliveries('acme', 50, { kind: 'channel', state: 'failed' })).find(
      (d) => d.eventId === id && d.endpoint === 'channel:secops-teams',
    )!;
    expect(row.lastError).toBe(
      'tenants[acme].notifications.channels[secops-teams].webhookUrl (secret teamsHook) must be an https URL (http only to localhost)',
    );
    expect(teams.received).toHaveLength(0);
  });

  it('a Slack token Slack refuses fails at once naming the token setting', async () => {
    slack.answers.push(slackAnswers.invalidAuth());
    const id = await publish('request.pending_approval', pendingApproval);
    await worker.runOnce();
    const row = (await store.listDeliveries('acme', 50, { kind: 'channel', state: 'failed' })).find((d) => d.eventId === id)!;
    expect(row).toMatchObject({ endpoint: 'channel:secops-slack', attempts: 1 });
    expect(row.lastError).toContain('invalid_auth');
    expect(row.lastError).toContain('tenants[acme].notifications.channels[secops-slack].token');
  });

  it('escapes event data in Slack mrkdwn and e-mail HTML, so a crafted login cannot inject a link, a mention or markup', async () => {
    const crafted = '<!channel> <https://evil.test|click>';
    await publish('request.pending_approval', { ...pendingApproval, request: { ...pendingApproval.request, target: { id: '00u-x', login: crafted } } });
    await worker.runOnce();
    const fields = slackFields(slack.received.at(-1)!);
    // mrkdwn is where Slack parses `<…>`; the header is plain_text, shown as typed.
    const mrkdwn = JSON.stringify(JSON.parse(fields.blocks!), (k, v: unknown) =>
      k === 'text' && typeof v === 'object' && v && (v as { type?: string }).type === 'plain_text' ? undefined : v,
    );
    for (const text of [mrkdwn, fields.text!]) {
      expect(text).not.toContain('<!channel>');
      expect(text).not.toContain('<https://evil.test');
    }
    expect(fields.blocks).toContain('&lt;!channel&gt;');
    expect(smtp.mails.at(-1)!.raw).toContain('&lt;!channel&gt; &lt;https://evil.test|click&gt;');
  });
});
