import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { openPgliteStore } from '../../src/store/pglite-store.js';
import { cli } from '../helpers/run-cli.js';
import { tempConfigDir } from '../helpers/temp-config.js';

const AT = new Date('2026-05-01T10:00:00Z');

describe('warden notify list', () => {
  it('lists the messages Warden gave up on with their last error, and only those with --failed', async () => {
    const { dir, configFile } = tempConfigDir();
    const store = await openPgliteStore({ dataDir: path.join(dir, 'data'), durability: 'relaxed' });
    await store.ensureTenants(['acme']);
    const body = (type: string) => JSON.stringify({ type, timestamp: AT.toISOString(), data: {} });
    await store.putNotifyEvent({ id: '01900000-0000-7000-8000-00000000e001', tenant: 'acme', type: 'hold.placed', body: body('hold.placed'), createdAt: AT }, [
      'channel:secops-teams',
      'channel:mail',
    ]);
    await store.putNotifyEvent(
      { id: '01900000-0000-7000-8000-00000000e002', tenant: 'acme', type: 'request.created', body: body('request.created'), createdAt: AT },
      ['soar'],
    );
    const claimed = await store.claimDeliveries(10, AT, 30, 'channel');
    expect(claimed.map((d) => d.endpoint).sort()).toEqual(['channel:mail', 'channel:secops-teams']);
    const teams = claimed.find((d) => d.endpoint === 'channel:secops-teams')!;
    await store.failDelivery(
      teams.id,
      AT,
      'the Teams webhook answered HTTP 404: check tenants[acme].notifications.channels[secops-teams].webhookUrl',
      404,
      null,
    );
    await store.completeDelivery(claimed.find((d) => d.endpoint === 'channel:mail')!.id, AT, 200);
    // The webhook worker's kind is separate: it never takes channel messages, and the channel worker never takes webhooks.
    expect((await store.claimDeliveries(10, AT, 30, 'channel')).length).toBe(0);
    expect((await store.claimDeliveries(10, AT, 30)).map((d) => d.endpoint)).toEqual(['soar']);
    await store.close();

    const failed = await cli('--config', configFile, 'notify', 'list', '--tenant', 'acme', '--failed');
    expect(failed.code).toBe(0);
    const lines = failed.out.trim().split('\n');
    expect(lines).toHaveLength(1);
    expect(lines[0]).toContain('FAILED');
    expect(lines[0]).toContain(
      'channel:secops-teams  hold.placed  attempts 1: the Teams webhook answered HTTP 404: check tenants[acme].notifications.channels[secops-teams].webhookUrl',
    );

    const all = await cli('--config', configFile, 'notify', 'list', '--tenant', 'acme', '--kind', 'channel', '--json');
    const rows = JSON.parse(all.out) as Array<{ endpoint: string; state: string }>;
    expect(rows.map((r) => `${r.endpoint} ${r.state}`).sort()).toEqual(['channel:mail delivered', 'channel:secops-teams failed']);

    const unknown = await cli('--config', configFile, 'notify', 'list', '--tenant', 'nope');
    expect(unknown.code).toBe(2);
  });
});
