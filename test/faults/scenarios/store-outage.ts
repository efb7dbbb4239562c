import { startTcpProxy, type TcpProxy } from '../../helpers/tcp-proxy.js';
import { pause, waitUntil } from '../harness/deadline.js';
import type { FaultResult } from '../harness/fault-result.js';
import { adminDatabaseUrl, FaultStore } from '../harness/fault-store.js';
import { oktaDelivery, sendDeliveries, type Delivery } from '../harness/okta-deliveries.js';
import { HOOK_PATH, HOOK_SECRET, OktaWorld, TENANT, tallyAudit } from '../harness/okta-world.js';
import { SuiteClock } from '../harness/suite-clock.js';
import { START_TIMEOUT_MS, type WardenProcess } from '../harness/warden-process.js';
import { countKillResult } from './kill-under-load.js';

/**
 * Store outage: Warden on PostgreSQL through a TCP proxy, under Okta hook
 * load; the proxy is cut (every connection reset, new ones refused) for
 * `cutSeconds`, then restored. During the cut `/readyz` must answer 503 and
 * the hooks 503 (a delivery not stored is never acknowledged; 503 makes
 * Okta retry); the same process recovers by itself, and every delivery
 * acknowledged before, during or after the cut is decided exactly once.
 */
export async function storeOutage(options: {
  deliveries: number;
  concurrency: number;
  holdEvery: number;
  cutSeconds: number;
  cutAt: number;
  timeoutMs: number;
}): Promise<FaultResult> {
  const store = await FaultStore.create('postgres', 'outage');
  const clock = new SuiteClock();
  const world = await OktaWorld.create(store, clock);
  const target = new URL(adminDatabaseUrl());
  let proxy: TcpProxy | undefined;
  let warden: WardenProcess | undefined;
  let ok = false;
  try {
    proxy = await startTcpProxy({ target: { host: target.hostname, port: Number(target.port || 5432) } });
    const proxied = new URL(store.databaseUrl!);
    proxied.host = proxy.address;
    const env = { ...world.env(clock), DATABASE_URL: proxied.toString() };
    const deliveries: Delivery[] = [];
    const source = `${world.sim.url}/api/v1/eventHooks/whofaults`;
    for (let i = 0; i < options.deliveries; i++) {
      const user = world.employee(i);
      deliveries.push(oktaDelivery(i % options.holdEvery === 0 ? world.helpDeskReset(user) : world.selfPasswordReset(user), source));
    }
    warden = await (await world.warden('serve')).start(START_TIMEOUT_MS, env);
    const w = warden;
    const pid = w.pid;

    let cut: { from: number; to?: number } | undefined;
    const readyz: Array<{ at: number; status: number | 'error' }> = [];
    let outage: Promise<void> | undefined;
    const probeReadyz = async () => {
      while (cut?.to === undefined) {
        const at = performance.now();
        const status = await fetch(`${w.url}/readyz`, { signal: AbortSignal.timeout(5000) }).then(
          (r) => {
            void r.arrayBuffer();
            return r.status;
          },
          () => 'error' as const,
        );
        readyz.push({ at, status });
        await pause(500);
      }
    };
    const cutAt = Math.floor(options.deliveries * options.cutAt);
    const hookTarget = {
      url: () => w.url,
      secret: HOOK_SECRET,
      ready: () => pause(cut && cut.to === undefined ? 500 : 100),
    };
    const sending = sendDeliveries(deliveries, hookTarget, {
      concurrency: options.concurrency,
      timeoutMs: options.timeoutMs,
      path: HOOK_PATH,
      onAck: (acked) => {
        if (cut || acked < cutAt) return;
        cut = { from: performance.now() };
        proxy!.cut();
        outage = (async () => {
          const probing = probeReadyz();
          await pause(options.cutSeconds * 1000);
          proxy!.resume();
          cut!.to = performance.now();
          await probing;
        })();
      },
    });
    await sending;
    await outage;
    if (!cut?.to) throw new Error('the store was never cut: too few deliveries were acknowledged');

    await waitUntil(
      '/readyz 200 again after the cut, in the same process',
      60_000,
      async () => w.running && w.pid === pid && (await fetch(`${w.url}/readyz`)).status === 200,
    );
    const acked = deliveries.filter((d) => d.acked).map((d) => d.event.uuid);
    const tally = await waitUntil(
      'every acknowledged delivery decided and its actions settled after the outage',
      options.timeoutMs,
      async () => {
        const t = tallyAudit(await store.audit(TENANT));
        return acked.every((id) => t.decisionsPerEvent.has(id)) && t.expectedActions.every((k) => t.executed.has(k) || t.failed.has(k)) ? t : undefined;
      },
      { intervalMs: 1000 },
    );

    // During the cut (after a second to notice it): /readyz 503, hooks 503, never 200 or 500.
    const inside = (at: number) => at > cut!.from + 1000 && at < cut!.to!;
    const readyDuring = readyz.filter((r) => inside(r.at));
    const hookStatuses = new Map<string, number>();
    for (const d of deliveries) for (const s of d.answers) if (s !== 200) hookStatuses.set(String(s), (hookStatuses.get(String(s)) ?? 0) + 1);
    const badReady = readyDuring.filter((r) => r.status !== 503);
    if (readyDuring.length === 0 || badReady.length)
      throw new Error(`/readyz during the cut: ${readyDuring.length} probes, not 503: ${JSON.stringify(badReady.slice(0, 5))}`);
    const badHooks = [...hookStatuses.keys()].filter((s) => s !== '503');
    if (!hookStatuses.has('503') || badHooks.length)
      throw new Error(`hook answers other than 200: ${JSON.stringify(Object.fromEntries(hookStatuses))} (want only 503)`);

    const result = countKillResult('store-outage', 'postgres', deliveries, tally, world);
    result.notes = [
      ...result.notes.filter((n) => !n.startsWith('IdP calls')),
      `store cut for ${options.cutSeconds} s after ${cutAt} acknowledgements: /readyz 503 on ${readyDuring.length} of ${readyDuring.length} probes, hooks answered 503 ${hookStatuses.get('503')} times (then resent and acknowledged), same process (pid ${pid}) recovered`,
    ];
    await warden.stop();
    const audit = await world.auditVerify(clock);
    result.auditOk = audit.ok;
    if (!audit.ok) result.notes.push(`audit verify: ${audit.out.trim()}`);
    ok = true;
    return result;
  } finally {
    await warden?.stop();
    await proxy?.close();
    await world.close();
    await store.dispose(!ok);
  }
}
