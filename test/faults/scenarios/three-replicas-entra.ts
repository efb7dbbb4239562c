import { waitUntil } from '../harness/deadline.js';
import { EntraWorld } from '../harness/entra-world.js';
import type { FaultResult } from '../harness/fault-result.js';
import { FaultStore } from '../harness/fault-store.js';
import { TENANT } from '../harness/okta-world.js';
import { SuiteClock } from '../harness/suite-clock.js';
import { START_TIMEOUT_MS, type WardenProcess } from '../harness/warden-process.js';

/**
 * Three replicas on one PostgreSQL, started at once on an empty database,
 * each configured with the same Entra tenant and its `/users` change
 * subscription (checked every 5 s): exactly one Graph subscription manager
 * per tenant. Graph must see one subscription created (one `POST
 * /subscriptions`), never three, and the manager's lease one holder at a
 * time, through at least four check cycles after the subscription exists.
 */
export async function threeReplicasEntra(options: { timeoutMs: number }): Promise<FaultResult> {
  const store = await FaultStore.create('postgres', 'replicas-entra');
  const clock = new SuiteClock();
  const world = await EntraWorld.create(store, clock, { subscription: true, entraYaml: '      poller: { intervalSeconds: 10 }\n' });
  const { sim } = world;
  const replicas: WardenProcess[] = [];
  let ok = false;
  try {
    for (let r = 0; r < 3; r++) replicas.push(await world.warden(`replica${r}`));
    world.front!.target(replicas[0]!.url);
    await Promise.all(replicas.map((w) => w.start(START_TIMEOUT_MS, world.env())));

    const subscriptionCalls = () => sim.requests.filter((r) => r.appId === world.clientId && /\/subscriptions(\/[^/]+)?$/.test(r.path));
    const holders = new Set<string>();
    const sampleLease = async () => {
      for (const row of await store.query<{ holder: string }>(`SELECT holder FROM leases WHERE name = 'entra:${TENANT}:subscriptions'`))
        holders.add(row.holder);
    };
    await waitUntil(
      'the subscription created and checked four more times',
      options.timeoutMs,
      async () => {
        await sampleLease();
        const created = sim.subscriptions.size > 0;
        const after = subscriptionCalls().filter((r) => r.method !== 'POST').length;
        return created && after >= 4;
      },
      {
        intervalMs: 500,
        describe: () =>
          `${sim.subscriptions.size} subscription(s), calls: ${subscriptionCalls()
            .map((r) => `${r.method} ${r.status}`)
            .join(', ')}`,
      },
    );
    await sampleLease();

    const creates = subscriptionCalls().filter((r) => r.method === 'POST');
    const migrations = await store.query<{ n: string }>('SELECT count(*)::text AS n FROM schema_migrations').catch(() => [] as Array<{ n: string }>);
    const problems: string[] = [];
    if (creates.length !== 1) problems.push(`Graph saw ${creates.length} POST /subscriptions, expected 1`);
    if (sim.subscriptions.size !== 1) problems.push(`${sim.subscriptions.size} subscriptions in Graph, expected 1`);
    if (problems.length) throw new Error(`three-replicas-entra: ${problems.join(' | ')}`);
    const result: FaultResult = {
      name: 'three-replicas-entra',
      store: 'postgres',
      sent: 0,
      acked: 0,
      decided: 0,
      duplicated: 0,
      lost: 0,
      actions: 0,
      // A second subscription for the tenant is the side effect replicas must not double.
      doubleActions: creates.length - 1 + (sim.subscriptions.size - 1),
      auditOk: false,
      notes: [
        `three replicas, one subscription (${creates.length} POST /subscriptions, ${subscriptionCalls().length - creates.length} checks after it); manager lease holders seen: ${holders.size}${migrations[0] ? `; ${migrations[0].n} migrations recorded` : ''}`,
      ],
    };
    for (const w of replicas) await w.stop();
    const audit = await world.cli(['audit', 'verify', '--tenant', TENANT], 'audit-verify');
    result.auditOk = audit.code === 0 && /ok, \d+ records?/.test(audit.out);
    if (!result.auditOk) result.notes.push(`audit verify: ${audit.out.trim()}`);
    ok = true;
    return result;
  } finally {
    for (const w of replicas) await w.stop();
    await world.close();
    await store.dispose(!ok);
  }
}
