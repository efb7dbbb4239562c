/**
 * The load side of `npm run soak` (bench/soak.ts starts it as a child
 * process, so that the figures of the Warden process are Warden's own): the
 * Okta simulator and the Entra / Graph simulator with its HTTPS front, their
 * people, and the stream of changes they deliver to Warden. Talks to its
 * parent over IPC: `ready` (URLs and secrets for warden.yaml) → `server`
 * (Warden's URL) → `subscribed` → `start` → `stats` (asked every minute) →
 * `stop`.
 */
import { monitorEventLoopDelay, performance } from 'node:perf_hooks';
import { OktaSimulator } from '../connectors/okta/simulator/okta-simulator.js';
import { startEntraWorld, trustedOrRerun, until } from './idp-world.js';

export type Slot = 'okta-push' | 'okta-enroll' | 'okta-reset' | 'entra-edit' | 'entra-reset';

/** One cycle of 200 deliveries: what each slot does (110 push approvals, 8 enrollments, 2 held resets for Okta; 78 profile edits and 2 held resets for Entra). */
export const CYCLE: Slot[] = [];
for (let i = 0; i < 200; i++) {
  if (i % 5 === 0 || i % 5 === 3) CYCLE.push(i % 100 === 0 ? 'entra-reset' : 'entra-edit');
  else if (i % 100 === 1) CYCLE.push('okta-reset');
  else if (i % 25 === 2) CYCLE.push('okta-enroll');
  else CYCLE.push('okta-push');
}

export type ToLoad =
  | { type: 'server'; url: string }
  | { type: 'start'; rate: number }
  | { type: 'stats' }
  | { type: 'open' }
  | { type: 'stop' }
  | { type: 'exit' };
export type FromLoad =
  | { type: 'ready'; yaml: string; env: Record<string, string>; oktaUrl: string; oktaToken: string }
  | { type: 'subscribed' }
  | {
      type: 'stats';
      acks: number[];
      bad: number;
      statuses: Record<string, number>;
      loadDelayP99: number;
      behind: number;
      sent: number;
      failed: number;
      held: { okta: number; entra: number };
      contained: { okta: number; entra: number };
      open: number;
      /** Load actions offered since the last statistics, and over how many seconds. */
      offered: number;
      seconds: number;
    }
  | { type: 'stopped'; sent: number }
  | { type: 'open'; okta: OpenHeld[] };

/** A held Okta reset the simulator has not seen contained (no session clear yet): who, and the System Log events of its resets. */
export interface OpenHeld {
  userId: string;
  eventIds: string[];
  firstAt: string;
}

async function main(): Promise<void> {
  const tls = await trustedOrRerun();
  const send = (m: FromLoad) => process.send!(m);
  const okta = await new OktaSimulator().start();
  const entra = await startEntraWorld(tls);
  okta.addGroup('Warden Hold');
  const oktaAdmin = okta.addUser(
    { login: 'sam.agent@acme.example', firstName: 'Sam', lastName: 'Agent' },
    { roles: ['HELP_DESK_ADMIN'], groups: ['Everyone', 'Service Desk'] },
  );
  const pushers = Array.from({ length: 500 }, (_, i) => {
    const u = okta.addUser({ login: `p${i}@acme.example`, firstName: 'Push', lastName: `User${i}` }, { groups: ['Everyone'] });
    okta.addFactor(u.id, 'push');
    return u;
  });
  const oktaPeople = Array.from({ length: 500 }, (_, i) =>
    okta.addUser({ login: `r${i}@acme.example`, firstName: 'Reset', lastName: `User${i}` }, { groups: ['Everyone'] }),
  );
  const entraPeople = Array.from({ length: 500 }, () => entra.addPerson());

  // Held changes, and their containment as the simulators see the calls arrive.
  const held = { okta: 0, entra: 0 };
  const contained = { okta: 0, entra: 0 };
  const oktaOpen = new Map<string, OpenHeld>();
  const entraOpen = new Set<string>();
  const push = okta.requests.push.bind(okta.requests);
  okta.requests.push = (...items) => {
    for (const r of items) if (r.method === 'DELETE' && r.path.endsWith('/sessions') && oktaOpen.delete(r.path.split('/')[4]!)) contained.okta++;
    return push(...items);
  };
  const directory = entra.sim.directory;
  const revoke = directory.revokeSessions.bind(directory);
  directory.revokeSessions = (actor, target) => {
    if (entraOpen.delete(target.id)) contained.entra++;
    revoke(actor, target);
  };

  let sent = 0;
  let failed = 0;
  let okIdx = 0;
  let enIdx = 0;
  let pushIdx = 0;
  const act = (slot: Slot) => {
    try {
      switch (slot) {
        case 'okta-push':
          okta.signInPush(pushers[pushIdx++ % pushers.length]!.id, 'approve');
          break;
        case 'okta-enroll':
          okta.selfEnroll(oktaPeople[okIdx++ % oktaPeople.length]!.id, 'push');
          break;
        case 'okta-reset': {
          const u = oktaPeople[okIdx++ % oktaPeople.length]!;
          const event = okta.adminResetFactors(oktaAdmin.id, u.id);
          const open = oktaOpen.get(u.id);
          if (open) open.eventIds.push(event.uuid);
          else {
            held.okta++;
            oktaOpen.set(u.id, { userId: u.id, eventIds: [event.uuid], firstAt: event.published });
          }
          break;
        }
        case 'entra-reset': {
          // A help-desk password reset has no change notification of its own (Graph notifies on user
          // properties); the same agent's edit of the user's profile right after is what Graph posts.
          const u = entraPeople[enIdx++ % entraPeople.length]!;
          if (!entraOpen.has(u.id)) held.entra++;
          entraOpen.add(u.id);
          entra.sim.act.resetPassword(entra.helpdesk.id, u.id);
          entra.sim.act.updateJobTitle(entra.helpdesk.id, u.id, `Title ${sent}`);
          break;
        }
        case 'entra-edit':
          entra.sim.act.updateJobTitle(entra.helpdesk.id, entraPeople[enIdx++ % entraPeople.length]!.id, `Title ${sent}`);
          break;
      }
    } catch (err) {
      failed++;
      if (failed < 5) console.error(`load: ${slot} failed: ${(err as Error).message}`);
    }
    sent++;
  };

  const eld = monitorEventLoopDelay({ resolution: 10 });
  eld.enable();
  const stats = (): FromLoad => {
    const acks: number[] = [];
    let bad = 0;
    const statuses: Record<string, number> = {};
    for (const d of okta.deliveries.splice(0)) {
      if (d.ms !== undefined) acks.push(d.ms);
      if (typeof d.status !== 'number' || d.status >= 300) {
        bad++;
        statuses[`okta ${d.status}`] = (statuses[`okta ${d.status}`] ?? 0) + 1;
      }
    }
    for (const d of entra.sim.deliveries.splice(0)) {
      if (d.kind !== 'notification') continue;
      acks.push(d.ms);
      if (d.status >= 300) {
        bad++;
        statuses[`graph ${d.status}`] = (statuses[`graph ${d.status}`] ?? 0) + 1;
      }
    }
    const loadDelayP99 = eld.percentile(99) / 1e6;
    eld.reset();
    // The simulators keep every event and request: drop what nobody reads any more. The System Log
    // and the audit log keep 10 minutes, more than the pollers' overlap (Okta's default 5 minutes).
    okta.requests.length = 0;
    entra.sim.requests.length = 0;
    const keepAfter = Date.now() - 10 * 60_000;
    const keepAfterIso = new Date(keepAfter).toISOString();
    let dropLog = 0;
    while (dropLog < okta.log.length && okta.log[dropLog]!.published < keepAfterIso) dropLog++;
    okta.log.splice(0, dropLog);
    let drop = 0;
    while (drop < directory.audits.length && directory.audits[drop]!.visibleAt < keepAfter) drop++;
    directory.audits.splice(0, drop);
    const now = performance.now();
    const offered = sent - sentAtStats;
    const seconds = (now - statsAt) / 1000;
    sentAtStats = sent;
    statsAt = now;
    return {
      type: 'stats',
      acks,
      bad,
      statuses,
      loadDelayP99,
      behind,
      sent,
      failed,
      held: { ...held },
      contained: { ...contained },
      open: oktaOpen.size + entraOpen.size,
      offered,
      seconds,
    };
  };

  let running = false;
  let behind = 0;
  let sentAtStats = 0;
  let statsAt = performance.now();
  const run = async (rate: number) => {
    running = true;
    const t0 = performance.now();
    sentAtStats = sent;
    statsAt = t0;
    while (running) {
      const due = Math.floor(((performance.now() - t0) / 1000) * rate);
      // Send everything due, however late the timer ran (a count per turn would cap the rate at
      // count / timer period: 120/s on a busy host); but yield after 20 ms of sending so that the
      // simulators answer Warden and the statistics are answered while the process catches up.
      const sliceEnd = performance.now() + 20;
      while (sent < due && performance.now() < sliceEnd) act(CYCLE[sent % CYCLE.length]!);
      behind = due - sent;
      await new Promise((r) => (sent < due ? setImmediate(r) : setTimeout(r, 5)));
    }
  };

  process.on('message', (m: ToLoad) => {
    void (async () => {
      switch (m.type) {
        case 'server':
          entra.front.target(m.url);
          await until(() => entra.sim.subscriptions.size > 0, 60_000, 'the Graph subscription');
          send({ type: 'subscribed' });
          break;
        case 'start':
          void run(m.rate);
          break;
        case 'stats':
          send(stats());
          break;
        case 'open':
          send({ type: 'open', okta: [...oktaOpen.values()] });
          break;
        case 'stop':
          running = false;
          // Every delivery ends within Okta's two 3 s attempts (Graph's likewise); bounded all the same.
          await Promise.race([Promise.all([okta.settled(), entra.sim.settle()]), new Promise((r) => setTimeout(r, 60_000))]);
          send({ type: 'stopped', sent });
          break;
        case 'exit':
          await entra.close();
          await okta.close();
          process.exit(0);
      }
    })();
  });
  send({
    type: 'ready',
    yaml:
      `    secrets: { hook: { env: HOOK }, token: { env: OKTA_TOKEN } }\n` +
      // The System Log poller runs as operators run it (its defaults): it is Warden's back-stop for the
      // deliveries Okta drops after its retry.
      `    okta:\n      orgUrl: ${okta.url}\n      simulator: true\n      auth: { type: api_token, token: token }\n      eventHook: { secret: hook }\n` +
      entra.yaml('acme'),
    env: { OKTA_TOKEN: okta.token, ...entra.env() },
    oktaUrl: okta.url,
    oktaToken: okta.token,
  });
}

// The parent (bench/soak.ts) gone, for whatever reason: nothing is left to load.
process.on('disconnect', () => process.exit(0));
if (process.send) await main();
