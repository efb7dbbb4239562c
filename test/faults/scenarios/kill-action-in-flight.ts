import { waitUntil, within } from '../harness/deadline.js';
import type { FaultResult } from '../harness/fault-result.js';
import { FaultStore, type StoreKind } from '../harness/fault-store.js';
import { oktaDelivery, sendDeliveries } from '../harness/okta-deliveries.js';
import { HOOK_PATH, HOOK_SECRET, OktaWorld, TENANT, tallyAudit } from '../harness/okta-world.js';
import { SuiteClock } from '../harness/suite-clock.js';
import { START_TIMEOUT_MS, type WardenProcess } from '../harness/warden-process.js';
import { countKillResult, LEASE_JUMP_MS } from './kill-under-load.js';

/**
 * kill -9 while an outbox action is in flight: a help-desk reset is held,
 * the IdP call that puts the user in the hold group is stalled on its way
 * to the org, and Warden is SIGKILLed meanwhile. The stalled call then
 * reaches the org (as a request Okta had received would be applied), and the
 * restarted Warden runs the action again. The action must not be lost (the
 * user is held, the action is audited as executed) nor doubled (executed
 * once, membership added once).
 */
export async function killActionInFlight(kind: StoreKind, options: { timeoutMs: number }): Promise<FaultResult> {
  const store = await FaultStore.create(kind, 'kill9-inflight');
  const clock = new SuiteClock();
  const world = await OktaWorld.create(store, clock);
  let warden: WardenProcess | undefined;
  let ok = false;
  try {
    const user = world.employee(1);
    const holdGroup = [...world.sim.groups.values()].find((g) => g.profile.name === 'Warden Hold')!.id;
    const stall = world.proxy.stallNext((method, path) => method === 'PUT' && path === `/api/v1/groups/${holdGroup}/users/${user.id}`);
    const delivery = oktaDelivery(world.helpDeskReset(user), `${world.sim.url}/api/v1/eventHooks/whofaults`);
    warden = await (await world.warden('serve')).start(START_TIMEOUT_MS, world.env(clock));
    const w = warden;
    await sendDeliveries(
      [delivery],
      { url: () => w.url, secret: HOOK_SECRET, ready: () => Promise.resolve() },
      { concurrency: 1, timeoutMs: 30_000, path: HOOK_PATH },
    );
    await within('the hold_group call to reach the org (stalled there)', options.timeoutMs, stall.arrived);
    await warden.kill9();
    stall.release();
    await waitUntil('the stalled call to be applied in the org', 10_000, () => world.sim.groupNames(user.id).includes('Warden Hold'));
    clock.jump(LEASE_JUMP_MS);
    await warden.start(START_TIMEOUT_MS, world.env(clock));

    const tally = await waitUntil(
      'the held reset decided and its actions settled after the restart',
      options.timeoutMs,
      async () => {
        const t = tallyAudit(await store.audit(TENANT));
        return t.decisionsPerEvent.has(delivery.event.uuid) &&
          t.expectedActions.length > 0 &&
          t.expectedActions.every((k) => t.executed.has(k) || t.failed.has(k))
          ? t
          : undefined;
      },
      { intervalMs: 500 },
    );
    const result = countKillResult('kill9-action-in-flight', kind, [delivery], tally, world);
    const holdCalls = world.mutatingCalls().get(`PUT /api/v1/groups/${holdGroup}/users/${user.id}`) ?? 0;
    if (holdCalls < 2) throw new Error(`expected the restarted Warden to call hold_group again (at-least-once), the org saw ${holdCalls} call(s)`);
    await warden.stop();
    const audit = await world.auditVerify(clock);
    result.auditOk = audit.ok;
    if (!audit.ok) result.notes.push(`audit verify: ${audit.out.trim()}`);
    ok = true;
    return result;
  } finally {
    await warden?.stop();
    await world.close();
    await store.dispose(!ok);
  }
}
