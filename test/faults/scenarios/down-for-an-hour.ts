import { writeFileSync } from 'node:fs';
import path from 'node:path';
import type { LogEventSim } from '../../../connectors/okta/simulator/okta-simulator.js';
import { waitUntil } from '../harness/deadline.js';
import type { FaultResult } from '../harness/fault-result.js';
import { FaultStore, type StoreKind } from '../harness/fault-store.js';
import type { Delivery } from '../harness/okta-deliveries.js';
import { OktaWorld, TENANT, tallyAudit } from '../harness/okta-world.js';
import { SuiteClock } from '../harness/suite-clock.js';
import { runWardenCli, type WardenProcess, START_TIMEOUT_MS } from '../harness/warden-process.js';
import { countKillResult } from './kill-under-load.js';

const MINUTE = 60_000;

/**
 * Warden down for an hour, on the suite clock: the System Log poller has
 * stored its cursor, Warden is killed, an hour of help-desk resets and
 * password resets happens in the org, and Warden restarts an hour later.
 * The back-fill from the stored cursor must find every event and decide it
 * once, and detection must raise the alerts the live path would have:
 * `warden detect replay` over the same LogEvents in event-time order is
 * the reference (the in-memory detector the store-backed one agrees with).
 */
export async function downForAnHour(kind: StoreKind, options: { people: number; timeoutMs: number }): Promise<FaultResult> {
  const store = await FaultStore.create(kind, 'down-1h');
  const clock = new SuiteClock();
  const world = await OktaWorld.create(store, clock, { poller: true });
  let warden: WardenProcess | undefined;
  let ok = false;
  try {
    warden = await (await world.warden('serve')).start(START_TIMEOUT_MS, world.env(clock));
    const logPolls = () => world.proxy.requests.filter((r) => r.method === 'GET' && r.path === '/api/v1/logs' && r.end !== undefined).length;
    // Two finished polls: the first one's cursor is stored.
    await waitUntil('two System Log polls before the outage (the cursor stored)', 60_000, () => logPolls() >= 2);
    await warden.kill9();

    const events: LogEventSim[] = [];
    const step = Math.floor(60 / options.people) * MINUTE;
    for (let p = 0; p < options.people; p++) {
      const user = world.employee(p);
      clock.jump(step / 2);
      events.push(world.helpDeskReset(user));
      clock.jump(step / 2);
      events.push(world.selfPasswordReset(user));
    }
    await warden.start(START_TIMEOUT_MS, world.env(clock));

    const tally = await waitUntil(
      'every event of the hour back-filled and decided',
      options.timeoutMs,
      async () => {
        const t = tallyAudit(await store.audit(TENANT));
        return events.every((e) => t.decisionsPerEvent.has(e.uuid)) && t.expectedActions.every((k) => t.executed.has(k) || t.failed.has(k)) ? t : undefined;
      },
      { intervalMs: 1000 },
    );
    // Each rule match on each person, whether it opened an alert or was grouped into one.
    const matched = (await store.audit(TENANT))
      .filter((r) => r.type === 'alert.raised' || r.type === 'alert.grouped')
      .map((r) => `${r.data.rule as string} ${r.data.key as string}`);
    const got = [...new Set(matched)].sort();

    const file = path.join(store.dir, 'hour.ndjson');
    writeFileSync(file, events.map((e) => JSON.stringify(e)).join('\n') + '\n');
    const replay = await runWardenCli(['detect', 'replay', '--config', world.configFile, '--tenant', TENANT, '--json', file], {
      env: world.env(clock),
      logFile: path.join(store.dir, 'replay.log'),
      timeoutMs: 60_000,
    });
    if (replay.code !== 0) throw new Error(`warden detect replay exited ${replay.code}: ${replay.out.slice(0, 500)}`);
    const json = replay.stdout.slice(replay.stdout.indexOf('['), replay.stdout.lastIndexOf('\n]') + 2);
    const want = [
      ...new Set((JSON.parse(json) as Array<{ key: string; matches: Array<{ rule: string }> }>).flatMap((a) => a.matches.map((m) => `${m.rule} ${a.key}`))),
    ].sort();
    if (want.length < options.people)
      throw new Error(`the reference replay found only ${want.length} rule matches for ${options.people} people: the scenario would prove nothing`);
    const missing = want.filter((a) => !got.includes(a));
    const extra = got.filter((a) => !want.includes(a));

    const deliveries: Delivery[] = events.map((event) => ({ event, body: '', attempts: 0, acked: true, answers: [] }));
    const result = countKillResult('down-for-an-hour', kind, deliveries, tally, world);
    result.sent = 0; // nothing was delivered: the poller found it all
    result.acked = events.length; // what Okta logged is what Warden owes a decision
    result.lost += missing.length;
    result.notes = [
      `${events.length} events over a simulated hour while Warden was down, back-filled from the stored cursor; rule matches ${got.length}, the live path (replay) ${want.length}`,
      ...(missing.length ? [`alerts the live path raises that the back-fill did not: ${missing.join('; ')}`] : []),
    ];
    if (extra.length) throw new Error(`the back-fill raised alerts the live path does not: ${extra.join('; ')}`);
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
