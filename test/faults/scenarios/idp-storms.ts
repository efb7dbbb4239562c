import { waitUntil } from '../harness/deadline.js';
import type { FaultResult } from '../harness/fault-result.js';
import { FaultStore, type StoreKind } from '../harness/fault-store.js';
import { oktaDelivery, sendDeliveries, type Delivery } from '../harness/okta-deliveries.js';
import { HOOK_PATH, HOOK_SECRET, OktaWorld, TENANT, tallyAudit, type AuditTally } from '../harness/okta-world.js';
import type { ProxiedRequest } from '../harness/stalling-proxy.js';
import { SuiteClock } from '../harness/suite-clock.js';
import { START_TIMEOUT_MS, type WardenProcess } from '../harness/warden-process.js';

/** Attempts the outbox makes before giving up, in this scenario (`retries.outbox`). */
export const STORM_OUTBOX_ATTEMPTS = 5;

/**
 * IdP storms (Okta): while held help-desk resets and allowed self-service
 * resets arrive, the Okta org answers bursts of 5xx on every endpoint,
 * 429 with `x-rate-limit-reset` on the hold-group call and on directory
 * reads, 500 on session revocation and 503 on factor listing — at most four
 * faults on any one call, fewer than the outbox's `retries.outbox` (5). One
 * more held user's hold-group call answers 503 every time.
 *
 * Must hold: every delivery decided once; every action of the stormed users
 * executed once and applied in the org once (no call succeeded twice); each
 * retry of a call answered 429 came after its `x-rate-limit-reset`; the
 * doomed call was tried exactly `retries.outbox` times, then given up —
 * audited `action.failed`, counted in `warden_actions_total{result="failed"}`
 * and listed under its hold by `warden holds list` (`failedActions`). The
 * doomed action is accounted for (audited as failed), not lost; any other
 * give-up counts as lost.
 */
export async function idpStorms(kind: StoreKind, options: { stormed: number; timeoutMs: number }): Promise<FaultResult> {
  const store = await FaultStore.create(kind, 'storms');
  const clock = new SuiteClock();
  const world = await OktaWorld.create(store, clock, { retries: { outbox: STORM_OUTBOX_ATTEMPTS } });
  let warden: WardenProcess | undefined;
  let ok = false;
  try {
    warden = await (await world.warden('serve')).start(START_TIMEOUT_MS, world.env(clock));
    const w = warden;
    const holdGroup = [...world.sim.groups.values()].find((g) => g.profile.name === 'Warden Hold')!.id;
    const stormed = Array.from({ length: options.stormed }, (_, i) => world.employee(i + 1));
    const bystanders = Array.from({ length: options.stormed }, (_, i) => world.employee(100 + i));
    const doomed = world.employee(999);
    const doomedPath = `/api/v1/groups/${holdGroup}/users/${doomed.id}`;

    // The storm, switched on in the running org (first matching rule answers).
    const faults = world.sim.faults;
    faults.inject({ status: 503, count: 1_000_000, method: 'PUT', path: new RegExp(`^${doomedPath}$`) });
    const storm = [
      { status: 502, count: 2 }, // a burst on whatever endpoint is called next
      { status: 429, count: 2, method: 'PUT', path: new RegExp(`^/api/v1/groups/${holdGroup}/users/`), resetSeconds: 4 },
      { status: 500, count: 2, method: 'DELETE', path: /\/sessions$/ },
      { status: 503, count: 2, method: 'GET', path: /\/factors$/ },
      { status: 429, count: 2, method: 'GET', path: /^\/api\/v1\/users\/[^/]+$/, resetSeconds: 3 },
    ];
    for (const rule of storm) faults.inject(rule);
    const stormFaults = storm.reduce((n, r) => n + r.count, 0);

    const events = [...stormed.map((u) => world.helpDeskReset(u)), ...bystanders.map((u) => world.selfPasswordReset(u)), world.helpDeskReset(doomed)];
    const deliveries: Delivery[] = events.map((e) => oktaDelivery(e, `${world.sim.url}/api/v1/eventHooks/whofaults`));
    await sendDeliveries(
      deliveries,
      { url: () => w.url, secret: HOOK_SECRET, ready: () => Promise.resolve() },
      { concurrency: 4, timeoutMs: 60_000, path: HOOK_PATH },
    );

    const doomedKey = (t: AuditTally) => t.expectedActions.find((k) => k.startsWith(`${doomed.id} hold_group `));
    const tally = await waitUntil(
      'every delivery decided and every action executed or given up',
      options.timeoutMs,
      async () => {
        const t = tallyAudit(await store.audit(TENANT));
        const decided = deliveries.every((d) => t.decisionsPerEvent.has(d.event.uuid));
        return decided && doomedKey(t) && t.expectedActions.every((k) => t.executed.has(k) || t.failed.has(k)) ? t : undefined;
      },
      {
        intervalMs: 1000,
        describe: async () =>
          `${faults.injected} faults answered, ${JSON.stringify([...tallyAudit(await store.audit(TENANT)).executed.keys()].length)} actions executed`,
      },
    );

    const notes: string[] = [];
    const problems: string[] = [];
    const giveUp = doomedKey(tally)!;
    const acked = deliveries.filter((d) => d.acked);
    const duplicated = deliveries.filter((d) => (tally.decisionsPerEvent.get(d.event.uuid) ?? 0) > 1).length;
    const lostDeliveries = acked.filter((d) => !tally.decisionsPerEvent.has(d.event.uuid)).length;
    const lostActions = tally.expectedActions.filter((k) => k !== giveUp && !tally.executed.has(k)).length;
    if (tally.executed.has(giveUp)) problems.push('the doomed hold_group call was recorded as executed');
    if (tally.failed.get(giveUp) !== 1)
      problems.push(`the doomed hold_group call was audited action.failed ${tally.failed.get(giveUp) ?? 0} time(s), not once`);

    // Applied once: no mutating call answered 2xx twice, nobody added to the hold group twice.
    const requests = world.proxy.requests;
    const succeeded = new Map<string, number>();
    for (const r of requests)
      if (r.method !== 'GET' && r.status !== undefined && r.status < 300)
        succeeded.set(`${r.method} ${r.path}`, (succeeded.get(`${r.method} ${r.path}`) ?? 0) + 1);
    const appliedTwice = [...succeeded.values()].filter((n) => n > 1).length + [...world.holdGroupAdds().values()].filter((n) => n > 1).length;
    const executedTwice = [...tally.executed.values()].filter((n) => n > 1).length;

    // The hints: every retry of a call answered 429 came after that answer's x-rate-limit-reset.
    const hints = honouredHints(requests, clock);
    if (hints.mutating.broken.length) problems.push(`retries before x-rate-limit-reset: ${hints.mutating.broken.join('; ')}`);
    notes.push(`${faults.injected} faults answered (${stormFaults} storm faults on every kind of call; ${faults.injected - stormFaults} to the doomed call)`);
    notes.push(
      `429s answered to actions: ${hints.mutating.total}, each retried after its x-rate-limit-reset (earliest margin ${hints.mutating.minMarginMs ?? '-'} ms); to directory reads: ${hints.reads.total}, ${hints.reads.total - hints.reads.broken.length} retried after the reset`,
    );
    if (hints.reads.broken.length)
      notes.push(`directory reads retried before the reset (not an action; enrichment retries on its own schedule): ${hints.reads.broken.join('; ')}`);

    // The give-up: tried exactly `retries.outbox` times, audited, counted, listed.
    const doomedCalls = requests.filter((r) => r.method === 'PUT' && r.path === doomedPath).length;
    if (doomedCalls !== STORM_OUTBOX_ATTEMPTS) problems.push(`the doomed call reached the org ${doomedCalls} times, expected ${STORM_OUTBOX_ATTEMPTS}`);
    const metrics = await (await fetch(`${w.url}/metrics`)).text();
    const failedCount = metrics
      .split('\n')
      .filter((l) => l.startsWith('warden_actions_total{') && l.includes('kind="hold_group"') && l.includes('result="failed"'))
      .reduce((n, l) => n + Number(l.split(' ').pop()), 0);
    if (failedCount !== 1) problems.push(`warden_actions_total{kind="hold_group",result="failed"} is ${failedCount}, expected 1`);
    const holds = await world.cli(['holds', 'list', '--tenant', TENANT, '--json'], clock, 'holds-list');
    const listed = JSON.parse(holds.stdout || '[]') as Array<{ id: string; failedActions: Array<{ kind: string; attempts: number; error: string | null }> }>;
    const doomedDecision = giveUp.split(' ')[2];
    const shown = listed.find((d) => d.id === doomedDecision)?.failedActions ?? [];
    if (holds.code !== 0 || shown.length !== 1 || shown[0]!.kind !== 'hold_group' || shown[0]!.attempts !== STORM_OUTBOX_ATTEMPTS)
      problems.push(`warden holds list does not show the give-up under its hold (exit ${holds.code}): ${JSON.stringify(shown)}`);
    const otherFailed = listed.filter((d) => d.id !== doomedDecision && d.failedActions.length > 0).length;
    if (otherFailed) problems.push(`${otherFailed} other hold(s) list failed actions`);
    notes.push(
      `give-up: hold_group of ${doomed.profile.login} tried ${doomedCalls} times, audited action.failed, warden_actions_total{result="failed"} ${failedCount}, listed by warden holds list: ${shown.map((a) => `${a.kind} after ${a.attempts} attempts (${a.error ?? ''})`).join(', ')}`,
    );
    if (problems.length) throw new Error(`idp-storms: ${problems.join(' | ')}`);

    const result: FaultResult = {
      name: 'idp-storms',
      store: kind,
      sent: deliveries.length,
      acked: acked.length,
      decided: deliveries.filter((d) => tally.decisionsPerEvent.has(d.event.uuid)).length,
      duplicated,
      lost: lostDeliveries + lostActions,
      actions: tally.executed.size,
      doubleActions: executedTwice + appliedTwice,
      auditOk: false,
      notes,
    };
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

/**
 * For every request the org answered 429 with `x-rate-limit-reset`, whether
 * the next request of the same method and path came at or after that reset
 * (on the suite clock, which the simulator's headers are on).
 */
function honouredHints(requests: readonly ProxiedRequest[], clock: SuiteClock) {
  const out = { mutating: { total: 0, broken: [] as string[], minMarginMs: undefined as number | undefined }, reads: { total: 0, broken: [] as string[] } };
  requests.forEach((r, i) => {
    if (r.status !== 429 || r.rateLimitReset === undefined) return;
    const next = requests.slice(i + 1).find((n) => n.method === r.method && n.path === r.path);
    const bucket = r.method === 'GET' ? out.reads : out.mutating;
    bucket.total++;
    if (!next) {
      bucket.broken.push(`${r.method} ${r.path} never retried`);
      return;
    }
    const margin = clock.at(next.start).getTime() - r.rateLimitReset * 1000;
    if (margin < 0) bucket.broken.push(`${r.method} ${r.path} retried ${-margin} ms before the reset`);
    if (bucket === out.mutating) out.mutating.minMarginMs = Math.min(out.mutating.minMarginMs ?? margin, margin);
  });
  return out;
}
