import { writeFileSync } from 'node:fs';
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import { loadConfig } from '../../src/config/load-config.js';
import { renderConfigDocs } from '../../src/config/render-config-docs.js';
import { isWardenError } from '../../src/core/errors.js';
import { ActionError } from '../../src/connector/contract.js';
import { createLogger } from '../../src/runtime/logger.js';
import { startServer, type RunningServer } from '../../src/app/start-server.js';
import { fakeConnector, type FakeConnector } from '../helpers/fake-connector.js';
import { runCli } from '../../src/app/cli-main.js';
import { tempConfigDir } from '../helpers/temp-config.js';

const TENANT_SECTION = '    fakeidp: { org: demo }\n';

function configWith(section = TENANT_SECTION) {
  const dirs = tempConfigDir();
  writeFileSync(
    dirs.configFile,
    `listen: { host: 127.0.0.1, port: 0 }\ndataDir: data\ndurability: relaxed\ntenants:\n  - id: acme\n    policy: policies/acme.yaml\n${section}`,
  );
  return dirs;
}

/** A help-desk factor reset on a standard user: the example policy holds it. */
const RESET = { kind: 'factor.reset_all', channel: 'helpdesk', target: { id: 'u-dana', login: 'dana@acme.example' }, actor: { id: 'u-agent' } };

describe('connector configuration', () => {
  it('validates a connector section with its schema and hands it over', () => {
    const { configFile } = configWith();
    const fake = fakeConnector();
    const cfg = loadConfig({ path: configFile, env: {}, connectors: [fake.connector] });
    expect(cfg.tenants[0]!.connectors).toEqual({ fakeidp: { org: 'demo' } });
  });

  it('refuses a bad connector section with file:line:column', () => {
    const { configFile } = configWith('    fakeidp: { org: demo, orgg: typo }\n');
    try {
      loadConfig({ path: configFile, env: {}, connectors: [fakeConnector().connector] });
      expect.unreachable();
    } catch (err) {
      expect(isWardenError(err, 'ERR_CONFIG_INVALID')).toBe(true);
      expect((err as Error).message).toMatch(/warden\.yaml:7:33: tenants\.0\.fakeidp: Unrecognized key: "orgg"/);
    }
  });

  it('refuses a connector section no connector claims', () => {
    const { configFile } = configWith();
    expect(() => loadConfig({ path: configFile, env: {} })).toThrow(/Unrecognized key: "fakeidp"/);
  });

  it('documents connector sections in the configuration reference', () => {
    expect(renderConfigDocs([fakeConnector().connector])).toContain('| `tenants[].fakeidp.org` | string | yes |  | The fake org |');
  });
});

describe('a server with a connector', () => {
  let server: RunningServer;
  let fake: FakeConnector;
  let clock: { now: Date };

  beforeAll(async () => {
    fake = fakeConnector();
    clock = { now: new Date('2026-01-05T10:00:00Z') };
    const { configFile } = configWith();
    const config = loadConfig({ path: configFile, env: {}, connectors: [fake.connector], resolveSecrets: true });
    // Workers are driven by hand (runOnce) so each step can be checked.
    server = await startServer({
      config,
      connectors: [fake.connector],
      log: createLogger('silent'),
      watchPolicies: false,
      workers: false,
      clock: () => clock.now,
    });
  });
  afterAll(() => server?.close());

  const deliver = (event: unknown) =>
    fetch(`${server.url}/hooks/fakeidp/acme`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify(event) });
  const records = async () =>
    (await server.store.readAudit('acme', 0, 1000)).map(
      (r) => JSON.parse(r.record) as { type: string; subject: Record<string, string>; data: Record<string, unknown> },
    );

  it('mounts the receiver and documents it', async () => {
    expect((await deliver({ id: 'x0', type: 'noise' })).status).toBe(202);
    expect((await fetch(`${server.url}/hooks/fakeidp/globex`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: '{}' })).status).toBe(
      404,
    );
    const doc = (await (await fetch(`${server.url}/openapi.json`)).json()) as {
      paths: Record<string, unknown>;
      components: { schemas: Record<string, unknown> };
    };
    expect(doc.paths['/hooks/fakeidp/{tenant}']).toBeDefined();
    expect(doc.components.schemas.FakeEvent).toBeDefined();
  });

  it('keeps and counts deliveries it does not govern', async () => {
    await server.inbox.runOnce();
    const metrics = await (await fetch(`${server.url}/metrics`)).text();
    expect(metrics).toContain('warden_inbox_entries_total{source="fakeidp",result="ignored"} 1');
  });

  it('decides a delivered change once, however often it arrives, and executes its actions once', async () => {
    for (let i = 0; i < 3; i++) expect((await deliver({ id: 'evt-1', type: 'user.reset', change: RESET })).status).toBe(202);
    expect(await server.inbox.runOnce()).toBe(1);
    expect(await server.inbox.runOnce()).toBe(0);
    const decided = (await records()).filter((r) => r.type === 'decision.recorded');
    expect(decided).toHaveLength(1);
    expect(decided[0]!.data).toMatchObject({ outcome: 'hold', change: { source: { idp: 'fakeidp', eventIds: ['evt-1'], via: 'hook' } } });

    expect(await server.outbox.runOnce()).toBe(3);
    expect(fake.executed.map((a) => a.kind).sort()).toEqual(['hold_group', 'remove_new_factor', 'revoke_sessions']);
    expect((await records()).filter((r) => r.type === 'action.executed').map((r) => r.data.kind)).toHaveLength(3);
    expect(await server.outbox.runOnce()).toBe(0);
  });

  it('retries an action no sooner than the connector asks, and gives up on a permanent failure', async () => {
    fake.actionErrors.set('hold_group', new ActionError('429 Too Many Requests', { retryAfterMs: 60_000 }));
    fake.actionErrors.set('revoke_sessions', new ActionError('403 Forbidden', { permanent: true }));
    await deliver({ id: 'evt-2', type: 'user.reset', change: { ...RESET, target: { id: 'u-eve' } } });
    await server.inbox.runOnce();
    fake.executed.length = 0;
    await server.outbox.runOnce();
    expect(fake.executed.map((a) => a.kind)).toEqual(['remove_new_factor']);
    const failed = (await records()).filter((r) => r.type === 'action.failed');
    expect(failed.map((r) => [r.data.kind, r.data.error])).toEqual([['revoke_sessions', '403 Forbidden']]);

    fake.actionErrors.clear();
    clock.now = new Date(clock.now.getTime() + 30_000);
    expect(await server.outbox.runOnce()).toBe(0); // not before the 60 s the connector asked for
    clock.now = new Date(clock.now.getTime() + 31_000);
    expect(await server.outbox.runOnce()).toBe(1);
    expect(fake.executed.map((a) => a.kind)).toEqual(['remove_new_factor', 'hold_group']);
  });

  it('retries a delivery the connector cannot normalize yet', async () => {
    fake.failing.add('evt-3');
    await deliver({ id: 'evt-3', type: 'user.reset', change: { ...RESET, target: { id: 'u-frank' } } });
    await server.inbox.runOnce();
    expect((await records()).some((r) => r.type === 'decision.recorded' && (r.data.change as { targetId: string }).targetId === 'u-frank')).toBe(false);
    fake.failing.delete('evt-3');
    clock.now = new Date(clock.now.getTime() + 5_000);
    expect(await server.inbox.runOnce()).toBe(1);
    expect((await records()).some((r) => r.type === 'decision.recorded' && (r.data.change as { targetId: string }).targetId === 'u-frank')).toBe(true);
  });

  it('gives decide() to inline receivers and starts background work under a lease', async () => {
    const result = await server.context.decide(
      { ...(await import('../helpers/changes.js')).makeChange({ kind: 'mfa.bypass', channel: 'self_service' }) },
      { type: 'idp', id: 'fakeidp' },
      { observed: false },
    );
    expect(result.decision.outcome).toBe('deny');
    await vi.waitFor(() => expect(fake.ticks).toBeGreaterThan(0), { timeout: 2000 });
  });
});

describe('connector commands and operations', () => {
  it('adds its commands to warden and runs its operations against the store', async () => {
    const { configFile } = configWith();
    const fake = fakeConnector();
    const out: string[] = [];
    const code = await runCli(['--config', configFile, 'fakeidp', 'ping', '--tenant', 'acme'], { out: (s) => void out.push(s), err: () => undefined }, [
      fake.connector,
    ]);
    expect([code, out.join('')]).toEqual([0, 'pong acme via pglite\n']);
  });

  it('runs them inside the running server when it holds the embedded store', async () => {
    const { configFile } = configWith();
    const fake = fakeConnector();
    const config = loadConfig({ path: configFile, env: {}, connectors: [fake.connector], resolveSecrets: true });
    const server = await startServer({ config, connectors: [fake.connector], log: createLogger('silent'), watchPolicies: false });
    try {
      const out: string[] = [];
      const code = await runCli(['--config', configFile, 'fakeidp', 'ping', '--tenant', 'acme'], { out: (s) => void out.push(s), err: () => undefined }, [
        fake.connector,
      ]);
      expect([code, out.join('')]).toEqual([0, 'pong acme via pglite\n']);
    } finally {
      await server.close();
    }
  });
});
