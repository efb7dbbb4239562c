import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { randomBytes } from 'node:crypto';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { SUBSCRIPTION_CURSOR, type SubscriptionState } from '../../connectors/entra/subscription-manager.js';
import { startEntraHarness, type EntraHarness } from '../helpers/entra-harness.js';

/**
 * A vendor feed that stops delivering to Warden is reported like a channel
 * that gave up: an Entra Graph subscription that Graph refuses to create
 * publishes `delivery.stopped` (through the connector context's
 * `deliveryStopped` port), routed to the tenant's webhook that asked for it;
 * once per run of failures, and again after the subscription recovered and
 * failed anew.
 */
describe('delivery.stopped for a vendor feed', () => {
  let h: EntraHarness | undefined;
  let dir: string | undefined;
  afterEach(async () => {
    await h?.close();
    if (dir) rmSync(dir, { recursive: true, force: true });
    h = undefined;
  });

  /** A webhook that asks for delivery.stopped, and one that does not. */
  const soarYaml = () => {
    dir = mkdtempSync(path.join(tmpdir(), 'warden-feed-stopped-'));
    const secretFile = path.join(dir, 'soar.key');
    writeFileSync(secretFile, `whsec_${randomBytes(32).toString('base64')}`);
    return [
      `    secrets: { soarKey: { file: ${JSON.stringify(secretFile)} } }`,
      '    webhooks:',
      '      - { name: soar, url: "http://127.0.0.1:9/hook", secret: soarKey, events: [delivery.stopped] }',
      '      - { name: other, url: "http://127.0.0.1:9/other", secret: soarKey, events: [request.*] }',
    ].join('\n');
  };
  const stopped = async () =>
    (await h!.server.store.listDeliveries('acme', 100))
      .filter((d) => d.event.type === 'delivery.stopped')
      .map((d) => ({ endpoint: d.endpoint, ...JSON.parse(d.event.body) }));

  it('is published and routed when Graph refuses to create the Entra subscription, once per run of failures', async () => {
    // Graph validates the notification URL before it creates a subscription: Warden has no tenant "globex", so validation fails.
    h = await startEntraHarness({
      notificationUrl: (front) => `${front}/hooks/entra/globex/notifications`,
      tenantYaml: soarYaml(),
    });
    const loop = h.connector.tasks.get('acme')!.subscriptions!;

    await expect(loop.step()).rejects.toThrow(/validation request failed/i);
    const [first, ...rest] = await stopped();
    expect(rest).toEqual([]);
    expect(first).toMatchObject({ endpoint: 'soar', type: 'delivery.stopped', data: { kind: 'subscription', name: 'entra:/users' } });
    expect(first.data.error).toMatch(/validation request failed/i);
    expect(((await h.server.store.getCursor('acme', SUBSCRIPTION_CURSOR)) as SubscriptionState).lastError).toMatch(/validation/i);

    // Still failing at the next check: not reported again.
    h.advance(60_000);
    await expect(loop.step()).rejects.toThrow();
    expect(await stopped()).toHaveLength(1);
    expect(h.sim.subscriptions.size).toBe(0);
  });

  it('is published again when the subscription failed anew after it recovered', async () => {
    h = await startEntraHarness({ tenantYaml: soarYaml() });
    const loop = h.connector.tasks.get('acme')!.subscriptions!;
    h.sim.faults.inject({ status: 502, count: 1000, path: /^\/v1\.0\/subscriptions$/, method: 'POST' });
    await expect(loop.step()).rejects.toThrow();
    expect(await stopped()).toHaveLength(1);

    h.sim.faults.clear();
    h.advance(60_000);
    expect(await loop.step()).toBe(0);
    expect(h.sim.subscriptions.size).toBe(1);
    expect(((await h.server.store.getCursor('acme', SUBSCRIPTION_CURSOR)) as SubscriptionState).lastError).toBeUndefined();

    // Gone, and Graph fails to create a new one.
    h.sim.subscriptions.clear();
    h.sim.faults.inject({ status: 502, count: 1000, path: /^\/v1\.0\/subscriptions$/, method: 'POST' });
    h.advance(60_000);
    await expect(loop.step()).rejects.toThrow();
    const both = await stopped();
    expect(both.map((d) => [d.endpoint, d.data.kind, d.data.name])).toEqual([
      ['soar', 'subscription', 'entra:/users'],
      ['soar', 'subscription', 'entra:/users'],
    ]);
  });
});
