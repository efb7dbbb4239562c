import type { LogEventSim } from '../../../connectors/okta/simulator/okta-simulator.js';
import { waitUntil } from '../harness/deadline.js';
import type { FaultResult } from '../harness/fault-result.js';
import { FaultStore } from '../harness/fault-store.js';
import { oktaDelivery, sendDeliveries, type Delivery } from '../harness/okta-deliveries.js';
import { HOOK_PATH, HOOK_SECRET, OktaWorld, TENANT, tallyAudit } from '../harness/okta-world.js';
import { SuiteClock } from '../harness/suite-clock.js';
import type { StallingProxy } from '../harness/stalling-proxy.js';
import { START_TIMEOUT_MS, type WardenProcess } from '../harness/warden-process.js';
import { countKillResult } from './kill-under-load.js';

/**
 * The System Log requests each replica made (told apart by its own proxy to
 * the org): how many overlapped in time with another replica's (two pollers
 * at once), and how often the polling replica changed (lease handovers).
 */
function systemLogPolls(proxies: readonly StallingProxy[]): { perReplica: number[]; overlapping: number; handovers: number } {
  const polls = proxies.flatMap((p, replica) =>
    p.requests.filter((r) => r.method === 'GET' && r.path === '/api/v1/logs').map((r) => ({ replica, start: r.start, end: r.end ?? Infinity })),
  );
  polls.sort((a, b) => a.start - b.start);
  let overlapping = 0;
  let handovers = 0;
  for (let i = 0; i < polls.length; i++) {
    if (i > 0 && polls[i]!.replica !== polls[i - 1]!.replica) handovers++;
    for (let j = i + 1; j < polls.length && polls[j]!.start < polls[i]!.end; j++) if (polls[j]!.replica !== polls[i]!.replica) overlapping++;
  }
  return { perReplica: proxies.map((_, r) => polls.filter((p) => p.replica === r).length), overlapping, handovers };
}

/** LogEvents the replica's System Log poller read (`warden_okta_polled_events_total`, all labels). */
async function polledEvents(w: WardenProcess): Promise<number> {
  const text = await (await fetch(`${w.url}/metrics`)).text();
  let n = 0;
  for (const m of text.matchAll(/^warden_okta_polled_events_total\{[^}]*\} (\d+(?:\.\d+)?)$/gm)) n += Number(m[1]);
  return n;
}

/**
 * Three replicas on one PostgreSQL, started at once on an empty database (the
 * migration lock serialises them), the System Log poller on in each. Every
 * delivery goes to two replicas, and the poller finds every event a third
 * time: one change, one decision and one set of actions per event (no IdP
 * call made twice: nothing crashed), one poller per tenant (its lease), and
 * `warden audit verify` passes.
 */
export async function threeReplicas(options: { deliveries: number; concurrency: number; holdEvery: number; timeoutMs: number }): Promise<FaultResult> {
  const store = await FaultStore.create('postgres', 'replicas');
  const clock = new SuiteClock();
  // Replicas, not rate limits (idp-storms has those): 600 events read by three replicas' enrichment spend the
  // org's 1,200-a-minute `api` bucket, and a call answered 429 and retried counted here as an IdP call made twice.
  const world = await OktaWorld.create(store, clock, { poller: true, rateLimits: { api: 100000, users: 100000, 'user-write': 100000, 'user-get': 100000 } });
  const replicas: WardenProcess[] = [];
  let ok = false;
  try {
    const events: LogEventSim[] = [];
    for (let i = 0; i < options.deliveries; i++) {
      const user = world.employee(i);
      events.push(i % options.holdEvery === 0 ? world.helpDeskReset(user) : world.selfPasswordReset(user));
    }
    const proxies: StallingProxy[] = [];
    for (let r = 0; r < 3; r++) {
      const { warden, proxy } = await world.replica(`replica${r}`);
      replicas.push(warden);
      proxies.push(proxy);
    }
    await Promise.all(replicas.map((w) => w.start(START_TIMEOUT_MS, world.env(clock))));
    const migrations = await store.query<{ version: number }>('SELECT version FROM schema_migrations ORDER BY version');
    const versions = migrations.map((m) => Number(m.version));
    if (new Set(versions).size !== versions.length) throw new Error(`migrations applied more than once: ${versions.join(',')}`);

    const source = `${world.sim.url}/api/v1/eventHooks/whofaults`;
    const first: Delivery[] = events.map((e) => oktaDelivery(e, source));
    const second: Delivery[] = events.map((e) => oktaDelivery(e, source)); // Okta's at-least-once: the same event, another delivery
    const target = (w: WardenProcess) => ({ url: () => w.url, secret: HOOK_SECRET, ready: () => Promise.resolve() });
    await Promise.all([
      sendDeliveries(first, (i) => target(replicas[i % 3]!), { concurrency: options.concurrency / 2, timeoutMs: options.timeoutMs, path: HOOK_PATH }),
      sendDeliveries(second, (i) => target(replicas[(i + 1) % 3]!), { concurrency: options.concurrency / 2, timeoutMs: options.timeoutMs, path: HOOK_PATH }),
    ]);

    const tally = await waitUntil(
      'every event decided, every action settled, and the System Log poll read them',
      options.timeoutMs,
      async () => {
        const t = tallyAudit(await store.audit(TENANT));
        const settled = events.every((e) => t.decisionsPerEvent.has(e.uuid)) && t.expectedActions.every((k) => t.executed.has(k) || t.failed.has(k));
        const polled = (await Promise.all(replicas.map(polledEvents))).reduce((a, b) => a + b, 0);
        return settled && polled >= events.length ? t : undefined;
      },
      { intervalMs: 1000 },
    );

    const leases = await store.query<{ name: string; holder: string }>('SELECT name, holder FROM leases ORDER BY name');
    const polls = systemLogPolls(proxies);
    if (polls.overlapping > 0)
      throw new Error(
        `two replicas polled the System Log of ${TENANT} at the same time (${polls.overlapping} overlapping requests; requests per replica ${polls.perReplica.join('/')}); leases: ${JSON.stringify(leases)}`,
      );

    // Each event counted once per event: the deliveries of the first round stand for the event.
    for (const [i, d] of first.entries()) if (second[i]!.acked) d.acked = true;
    const result = countKillResult('three-replicas', 'postgres', first, tally, world);
    const repeated = [...world.mutatingCalls().values()].reduce((n, c) => n + Math.max(0, c - 1), 0);
    result.doubleActions += repeated; // nothing crashed: any IdP call made twice is a double action
    result.sent = first.length + second.length;
    result.acked = [...first, ...second].filter((d) => d.acked).length;
    result.notes = [
      `${events.length} events, each delivered to two replicas and read by the System Log poller; migrations ${versions.join(',')} applied once`,
      `System Log polls per replica ${polls.perReplica.join('/')}, never two at once, ${polls.handovers} lease handovers (lease ${leases.map((l) => `${l.name} held by ${l.holder}`).join('; ')})`,
      `IdP calls made twice: ${repeated}`,
    ];
    await Promise.all(replicas.map((w) => w.stop()));
    const audit = await world.auditVerify(clock);
    result.auditOk = audit.ok;
    if (!audit.ok) result.notes.push(`audit verify: ${audit.out.trim()}`);
    ok = true;
    return result;
  } finally {
    await Promise.all(replicas.map((w) => w.stop()));
    await world.close();
    await store.dispose(!ok);
  }
}
