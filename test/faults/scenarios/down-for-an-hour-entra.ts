import { waitUntil } from '../harness/deadline.js';
import { EntraWorld } from '../harness/entra-world.js';
import type { FaultResult } from '../harness/fault-result.js';
import { FaultStore, type StoreKind } from '../harness/fault-store.js';
import { TENANT, tallyAudit } from '../harness/okta-world.js';
import { SuiteClock } from '../harness/suite-clock.js';
import { START_TIMEOUT_MS, type WardenProcess } from '../harness/warden-process.js';

const MINUTE = 60_000;

/**
 * Warden down for an hour, Entra side, on the suite clock: the
 * directoryAudits poller has stored its cursor, Warden is killed, an hour of
 * phone registrations for Global Administrators (denied) and help-desk
 * password resets (held) happens in the tenant, and Warden restarts an hour
 * later. The back-fill from the stored cursor must find every change and
 * decide it once, and every action the decisions ask for must run once.
 * The first poll of a tenant reads only 5 minutes back
 * (`initialLookbackMinutes: 5`), so only the stored cursor reaches the
 * start of the hour.
 * (Detection is compared with the live path only on the Okta side:
 * `down-for-an-hour`.)
 */
export async function downForAnHourEntra(kind: StoreKind, options: { people: number; timeoutMs: number }): Promise<FaultResult> {
  const store = await FaultStore.create(kind, 'down-1h-entra');
  const clock = new SuiteClock();
  const world = await EntraWorld.create(store, clock, { entraYaml: '      poller: { intervalSeconds: 10, initialLookbackMinutes: 5 }\n' });
  const { sim, admin } = world;
  let warden: WardenProcess | undefined;
  let ok = false;
  try {
    const helpdesk = sim.directory.addUser({ userPrincipalName: 'hal.desk@contoso.example', displayName: 'Hal Desk' });
    sim.directory.assignRole(helpdesk.id, 'Helpdesk Administrator');
    const people = Array.from({ length: options.people }, (_, i) => ({
      global: world.globalAdmin(i),
      user: sim.directory.addUser({ userPrincipalName: `user${i}@contoso.example`, displayName: `User${i} Example`, employeeType: 'employee' }),
    }));
    warden = await (await world.warden('serve')).start(START_TIMEOUT_MS, world.env());
    const polls = () => world.auditPolls();
    // Two answered polls: the first one's cursor is stored.
    await waitUntil('two directoryAudits polls before the outage (the cursor stored)', 60_000, () => polls() >= 2);
    await warden.kill9();

    const step = Math.floor(60 / options.people) * MINUTE;
    const expected: string[] = [];
    for (const p of people) {
      clock.jump(step / 2);
      sim.act.registerPhone(admin.id, p.global.id, { phoneNumber: '+1 206 555 0100', phoneType: 'mobile' });
      expected.push(p.global.id);
      clock.jump(step / 2);
      sim.act.resetPassword(helpdesk.id, p.user.id);
      expected.push(p.user.id);
    }
    const pollsBefore = polls();
    await warden.start(START_TIMEOUT_MS, world.env());

    const decisionsOf = async () =>
      (await store.audit(TENANT))
        .filter((r) => r.type === 'decision.recorded')
        .map((r) => r.data as { outcome: string; change: { targetId: string; source: { via: string; rawType: string } } });
    const tally = await waitUntil(
      'every change of the hour back-filled and decided, its actions settled',
      options.timeoutMs,
      async () => {
        const decisions = await decisionsOf();
        const t = tallyAudit(await store.audit(TENANT));
        return expected.every((id) => decisions.some((d) => d.change.targetId === id)) && t.expectedActions.every((k) => t.executed.has(k) || t.failed.has(k))
          ? t
          : undefined;
      },
      {
        intervalMs: 1000,
        describe: async () => `${(await decisionsOf()).length} decided of ${expected.length}, ${polls() - pollsBefore} polls since the restart`,
      },
    );
    const decisions = await decisionsOf();
    const duplicated = expected.filter((id) => decisions.filter((d) => d.change.targetId === id).length > 1).length;
    const lostActions = tally.expectedActions.filter((k) => !tally.executed.has(k)).length;
    const outcomes = new Map<string, number>();
    for (const d of decisions) outcomes.set(`${d.change.source.rawType} → ${d.outcome}`, (outcomes.get(`${d.change.source.rawType} → ${d.outcome}`) ?? 0) + 1);
    const result: FaultResult = {
      name: 'down-for-an-hour-entra',
      store: kind,
      sent: 0, // nothing was delivered: the poller found it all
      acked: expected.length, // what Entra logged is what Warden owes a decision
      decided: expected.filter((id) => decisions.some((d) => d.change.targetId === id)).length,
      duplicated,
      lost: expected.filter((id) => !decisions.some((d) => d.change.targetId === id)).length + lostActions,
      actions: tally.executed.size,
      doubleActions: [...tally.executed.values()].filter((n) => n > 1).length,
      auditOk: false,
      notes: [
        `${expected.length} changes over a simulated hour while Warden was down, back-filled from the stored directoryAudits cursor: ${[...outcomes].map(([k, n]) => `${n}× ${k}`).join('; ')}`,
      ],
    };
    if (decisions.some((d) => d.change.source.via !== 'poll')) throw new Error('a decision not from the poller: the scenario has no other path');
    await warden.stop();
    const audit = await world.cli(['audit', 'verify', '--tenant', TENANT], 'audit-verify');
    result.auditOk = audit.code === 0 && /ok, \d+ records?/.test(audit.out);
    if (!result.auditOk) result.notes.push(`audit verify: ${audit.out.trim()}`);
    ok = true;
    return result;
  } finally {
    await warden?.stop();
    await world.close();
    await store.dispose(!ok);
  }
}
