import { randomUUID } from 'node:crypto';
import { afterEach, describe, expect, it } from 'vitest';
import { AUDIT_CURSOR } from '../../connectors/entra/audit-poller.js';
import { runCli } from '../../src/app/cli-main.js';
import { startEntraHarness, type EntraHarness } from '../helpers/entra-harness.js';
import { exchangeRecord } from '../helpers/exchange-records.js';

/**
 * The pollers against the simulator: audit latency (a record that shows up
 * 4 minutes late is found and processed once), paging, throttling, the
 * backfill command, and the Management Activity API for mailbox rules.
 */

const MINUTE = 60_000;

describe('Entra directoryAudits poller', () => {
  let h: EntraHarness | undefined;
  afterEach(async () => {
    await h?.close();
    h = undefined;
  });

  const decisions = async (harness: EntraHarness) => (await harness.audit()).filter((r) => r.type === 'decision.recorded');

  it('finds a record that appears 4 minutes late, and processes it once', async () => {
    h = await startEntraHarness();
    const poller = h.connector.tasks.get('acme')!.audit!;
    await poller.pollOnce();
    const t0 = h.clock.now.getTime();
    h.advance(20_000);
    // Entra writes the record at the time of the change; the API shows it 4 minutes later (simulated clock).
    h.sim.act.registerPhone(h.users.admin.id, h.users.privileged.id, { phoneNumber: '+1 206 555 0199', delayMs: 4 * MINUTE });

    for (const at of [1, 2, 3]) {
      h.clock.now = new Date(t0 + at * MINUTE);
      expect(await poller.pollOnce()).toMatchObject({ read: 0, new: 0 });
    }
    h.clock.now = new Date(t0 + 4 * MINUTE + 21_000);
    expect(await poller.pollOnce()).toMatchObject({ read: 1, new: 1 });
    h.clock.now = new Date(t0 + 6 * MINUTE);
    expect(await poller.pollOnce()).toMatchObject({ read: 1, new: 0, duplicate: 1 });

    expect(await h.drainInbox()).toBe(1);
    expect(await h.drainOutbox()).toBe(3);
    h.clock.now = new Date(t0 + 8 * MINUTE);
    await poller.pollOnce();
    await h.drainInbox();
    expect(await h.drainOutbox()).toBe(0);
    const decided = await decisions(h);
    expect(decided).toHaveLength(1);
    expect(decided[0]!.data).toMatchObject({ outcome: 'deny', change: { kind: 'factor.enroll', occurredAt: new Date(t0 + 20_000).toISOString() } });
    expect((await h.audit()).filter((r) => r.type === 'action.executed')).toHaveLength(3);
  });

  it('pages through many records, waits out a short Retry-After in place and defers the next poll for a long one', async () => {
    h = await startEntraHarness({ entraYaml: '      poller: { pageSize: 10 }' });
    const poller = h.connector.tasks.get('acme')!.audit!;
    for (let i = 0; i < 23; i++) h.sim.act.updateJobTitle(h.users.admin.id, h.users.alice.id, `Title ${i}`);
    h.sim.throttle({ path: /auditLogs/, count: 1, retryAfterSeconds: 1 });
    h.advance(MINUTE);
    const stats = await poller.pollOnce();
    expect(stats).toMatchObject({ read: 23, new: 23 });
    const audits = h.sim.requests.filter((r) => r.path === '/v1.0/auditLogs/directoryAudits');
    expect(audits.map((r) => r.status)).toEqual([429, 200, 200, 200]); // retried in place, then three pages
    expect(audits.slice(2).every((r) => r.query.includes('$skiptoken='))).toBe(true);

    h.sim.throttle({ path: /auditLogs/, count: 5, retryAfterSeconds: 120 });
    h.advance(MINUTE);
    expect(await poller.pollOnce()).toBeUndefined();
    const cursor = (await h.server.store.getCursor('acme', AUDIT_CURSOR)) as { notBefore: string; lastError: string };
    expect(cursor.notBefore).toBe(new Date(h.clock.now.getTime() + 120_000).toISOString());
    expect(cursor.lastError).toMatch(/429 TooManyRequests/);
    const asked = h.sim.requests.length;
    h.advance(60_000);
    expect(await poller.step()).toBe(0);
    expect(h.sim.requests.length).toBe(asked); // not before the time Graph asked for
    const metrics = await (await fetch(`${h.server.url}/metrics`)).text();
    expect(metrics).toContain('warden_entra_polls_total{tenant="acme",source="directory_audits",result="throttled"} 1');
  });

  it('backfills a past period with progress and an ETA on stderr, and never stores a record twice', async () => {
    h = await startEntraHarness();
    const start = h.clock.now.getTime();
    for (let i = 0; i < 5; i++) {
      h.clock.now = new Date(start - (5 - i) * 3_600_000);
      h.sim.act.resetPassword(h.users.helpdesk.id, h.users.alice.id);
    }
    h.clock.now = new Date(start);
    const out: string[] = [];
    const err: string[] = [];
    const io = { out: (s: string) => void out.push(s), err: (s: string) => void err.push(s) };
    // The CLI runs on the harness's clock, as the server does.
    const since = new Date(start - 24 * 3_600_000).toISOString();
    const until = new Date(start).toISOString();
    expect(
      await runCli(
        ['--config', h.configFile, 'entra', 'backfill', '--tenant', 'acme', '--since', since, '--until', until],
        io,
        [h.connector],
        () => h!.clock.now,
      ),
    ).toBe(0);
    expect(err.join('')).toMatch(/^backfill acme entra directoryAudits: 100% up to \S+, 5 records \(5 new\), 1 pages, [\d.]+ records\/s, ETA 0s\n$/m);
    expect(out.join('')).toMatch(/Done: 5 records read in 1 page, 5 new stored, 0 already stored or skipped/);
    out.length = 0;
    expect(
      await runCli(
        ['--config', h.configFile, 'entra', 'backfill', '--tenant', 'acme', '--since', since, '--until', until],
        io,
        [h.connector],
        () => h!.clock.now,
      ),
    ).toBe(0);
    expect(out.join('')).toContain('5 records read in 1 page, 0 new stored, 5 already stored or skipped');
    h.advance(1_000);
    expect(await h.drainInbox()).toBe(5);
    const decided = await decisions(h);
    expect(
      decided.map((d) => [(d.data.change as { kind: string; channel: string }).kind, (d.data.change as { channel: string }).channel, d.data.outcome]),
    ).toEqual(Array.from({ length: 5 }, () => ['password.reset', 'helpdesk', 'hold']));
  });
});

describe('Entra Management Activity poller', () => {
  let h: EntraHarness | undefined;
  afterEach(async () => {
    await h?.close();
    h = undefined;
  });

  /** Office 365 records from the Panther corpus about our user. */
  const exchangeRecords = (harness: EntraHarness): Record<string, unknown>[] =>
    (['Suspicious Forwarding Pattern', 'External Organization Forwarding'] as const).map((name) =>
      exchangeRecord(name, { upn: harness.users.alice.userPrincipalName, at: harness.clock.now, organization: 'contoso.example' }),
    );

  it('reads Exchange inbox-rule and forwarding records into mailbox.rule changes about the right user', async () => {
    h = await startEntraHarness();
    const poller = h.connector.tasks.get('acme')!.activity!;
    h.sim.directory.addExchangeRecords(exchangeRecords(h));
    h.sim.directory.addExchangeRecords([
      {
        Id: randomUUID(),
        CreationTime: h.clock.now.toISOString().slice(0, 19),
        Operation: 'MailItemsAccessed',
        Workload: 'Exchange',
        RecordType: 50,
        UserId: h.users.alice.userPrincipalName,
      },
    ]);
    h.advance(MINUTE);
    expect(await poller.pollOnce()).toMatchObject({ blobs: 2, read: 3, new: 2, skipped: 1 });
    expect(h.sim.directory.activitySubscriptions.has('Audit.Exchange')).toBe(true);
    h.advance(10 * MINUTE);
    expect(await poller.pollOnce()).toMatchObject({ new: 0, duplicate: 2 });
    expect(await h.drainInbox()).toBe(2);
    const changes = (await h.audit()).filter((r) => r.type === 'decision.recorded').map((r) => r.data.change as Record<string, unknown>);
    expect(changes).toHaveLength(2);
    for (const change of changes)
      expect(change).toMatchObject({ kind: 'mailbox.rule', channel: 'self_service', targetId: h.users.alice.id, source: { idp: 'entra', via: 'poll' } });
    expect(changes.map((c) => (c.source as { rawType: string }).rawType).sort()).toEqual(['o365:New-InboxRule', 'o365:Set-Mailbox']);
  });
});
