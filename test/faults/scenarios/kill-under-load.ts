import { waitUntil } from '../harness/deadline.js';
import type { FaultResult } from '../harness/fault-result.js';
import { FaultStore, type StoreKind } from '../harness/fault-store.js';
import { oktaDelivery, sendDeliveries, type Delivery } from '../harness/okta-deliveries.js';
import { HOOK_PATH, HOOK_SECRET, OktaWorld, TENANT, tallyAudit } from '../harness/okta-world.js';
import { SuiteClock } from '../harness/suite-clock.js';
import { START_TIMEOUT_MS, type WardenProcess } from '../harness/warden-process.js';

/** Longest claim lease of Warden's workers (outbox: 120 s): a restart after a crash comes at least this much later on the suite clock. */
export const LEASE_JUMP_MS = 125_000;

/** Settings of the kill -9 under load scenario. */
export interface KillUnderLoadOptions {
  deliveries: number;
  concurrency: number;
  /** One delivery in `holdEvery` is a help-desk reset the policy holds (three actions); the rest are allowed self-service resets. */
  holdEvery: number;
  /** SIGKILL when this share of the deliveries is acknowledged. */
  killAt: number;
  timeoutMs: number;
}

/**
 * kill -9 under load: Okta event hook deliveries at concurrency 16 against a
 * real `warden serve`; SIGKILL at `killAt`, restart on the same store (the
 * suite clock jumps past the workers' leases, as when the restart comes that
 * much later), and the sender resends everything not acknowledged. Then
 * every acknowledged delivery must be decided exactly once, each action the
 * decisions asked for executed once and applied once in the org, and
 * `warden audit verify` must pass.
 */
export async function killUnderLoad(kind: StoreKind, options: KillUnderLoadOptions): Promise<FaultResult> {
  const store = await FaultStore.create(kind, 'kill9-load');
  const clock = new SuiteClock();
  const world = await OktaWorld.create(store, clock);
  let warden: WardenProcess | undefined;
  let ok = false;
  try {
    const deliveries: Delivery[] = [];
    const source = `${world.sim.url}/api/v1/eventHooks/whofaults`;
    for (let i = 0; i < options.deliveries; i++) {
      const user = world.employee(i);
      deliveries.push(oktaDelivery(i % options.holdEvery === 0 ? world.helpDeskReset(user) : world.selfPasswordReset(user), source));
    }
    warden = await (await world.warden('serve')).start(START_TIMEOUT_MS, world.env(clock));
    const w = warden;
    let up: Promise<void> = Promise.resolve();
    let killed = false;
    let restart: Promise<void> | undefined;
    const killAt = Math.floor(options.deliveries * options.killAt);
    const target = { url: () => w.url, secret: HOOK_SECRET, ready: () => up };
    await sendDeliveries(deliveries, target, {
      concurrency: options.concurrency,
      timeoutMs: options.timeoutMs,
      path: HOOK_PATH,
      onAck: (acked) => {
        if (killed || acked < killAt) return;
        killed = true;
        restart = (async () => {
          let markUp!: () => void;
          up = new Promise((resolve) => (markUp = resolve));
          await w.kill9();
          clock.jump(LEASE_JUMP_MS);
          await w.start(START_TIMEOUT_MS, world.env(clock));
          markUp();
        })();
        up = restart;
      },
    });
    await restart;
    if (!killed) throw new Error(`the server was never killed: fewer than ${killAt} deliveries were acknowledged`);

    const ackedIds = deliveries.filter((d) => d.acked).map((d) => d.event.uuid);
    const tallyNow = async () => tallyAudit(await store.audit(TENANT));
    const tally = await waitUntil(
      'every acknowledged delivery decided and every action it asked for settled',
      options.timeoutMs,
      async () => {
        const t = await tallyNow();
        const undecided = ackedIds.filter((id) => !t.decisionsPerEvent.has(id)).length;
        const unsettled = t.expectedActions.filter((k) => !t.executed.has(k) && !t.failed.has(k)).length;
        return undecided === 0 && unsettled === 0 ? t : undefined;
      },
      {
        intervalMs: 1000,
        describe: async () => {
          const t = await tallyNow();
          return `${ackedIds.filter((id) => !t.decisionsPerEvent.has(id)).length} acknowledged deliveries undecided, ${t.expectedActions.filter((k) => !t.executed.has(k) && !t.failed.has(k)).length} of ${t.expectedActions.length} actions unsettled`;
        },
      },
    );
    const result = countKillResult('kill9-under-load', kind, deliveries, tally, world);
    await warden.stop();
    const audit = await world.auditVerify(clock);
    result.auditOk = audit.ok;
    if (!audit.ok) result.notes.push(`audit verify: ${audit.out.trim()}`);
    result.notes.push(
      `resent after the kill: ${deliveries.filter((d) => d.attempts > 1).length} deliveries (${deliveries.reduce((n, d) => n + d.attempts, 0)} requests in all)`,
    );
    ok = true;
    return result;
  } finally {
    await warden?.stop();
    await world.close();
    await store.dispose(!ok);
  }
}

/**
 * The counts of a kill scenario: an acknowledged delivery with no decision is
 * lost, one with more than one is duplicated; an action the decisions asked
 * for that never executed is lost too, one executed twice, or applied twice
 * in the org (hold group membership added twice), is a double action.
 */
export function countKillResult(
  name: string,
  kind: StoreKind,
  deliveries: readonly Delivery[],
  tally: ReturnType<typeof tallyAudit>,
  world: OktaWorld,
): FaultResult {
  const acked = deliveries.filter((d) => d.acked);
  const lostDeliveries = acked.filter((d) => !tally.decisionsPerEvent.has(d.event.uuid)).length;
  const duplicated = deliveries.filter((d) => (tally.decisionsPerEvent.get(d.event.uuid) ?? 0) > 1).length;
  const decided = deliveries.filter((d) => tally.decisionsPerEvent.has(d.event.uuid)).length;
  const lostActions = tally.expectedActions.filter((k) => !tally.executed.has(k)).length;
  const executedTwice = [...tally.executed.values()].filter((n) => n > 1).length;
  const appliedTwice = [...world.holdGroupAdds().values()].filter((n) => n > 1).length;
  const calls = [...world.mutatingCalls().values()];
  const repeated = calls.reduce((n, c) => n + Math.max(0, c - 1), 0);
  return {
    name,
    store: kind,
    sent: deliveries.length,
    acked: acked.length,
    decided,
    duplicated,
    lost: lostDeliveries + lostActions,
    actions: [...tally.executed.keys()].length,
    doubleActions: executedTwice + appliedTwice,
    auditOk: false,
    notes: [
      ...(lostActions ? [`${lostActions} of ${tally.expectedActions.length} actions never executed (${tally.failed.size} failed for good)`] : []),
      `IdP calls repeated after the crash (at-least-once; each idempotent, none changed the org twice): ${repeated}`,
    ],
  };
}
