import { waitUntil } from '../harness/deadline.js';
import { EntraWorld } from '../harness/entra-world.js';
import type { FaultResult } from '../harness/fault-result.js';
import { FaultStore, type StoreKind } from '../harness/fault-store.js';
import { TENANT, tallyAudit } from '../harness/okta-world.js';
import { SuiteClock } from '../harness/suite-clock.js';
import { START_TIMEOUT_MS, type WardenProcess } from '../harness/warden-process.js';

/** Attempts the outbox makes before giving up, in this scenario (`retries.outbox`). */
const ATTEMPTS = 5;

/**
 * IdP storms, Entra side: the Graph simulator (HTTPS, a throw-away
 * certificate the spawned Warden trusts through `NODE_EXTRA_CA_CERTS`) runs
 * in the suite's process. An administrator registers phones for three
 * Global Administrators (Warden learns it from directoryAudits, polled every
 * 10 s, and denies it: hold group, sessions revoked, phone removed) while
 * Graph answers 429 with `Retry-After: 3` on every endpoint and 503 with
 * `Retry-After: 2` on session revocation — at most four faults on one call,
 * fewer than `retries.outbox` (5); a fourth administrator's session
 * revocation answers 503 every time. In-place retries are off
 * (`maxInlineRetrySeconds: 0`), so every retry is the outbox's.
 *
 * Must hold: every change decided once; every other action executed once;
 * each retry of a call answered with `Retry-After` came at least that long
 * after the answer; the doomed call tried exactly 5 times, then audited
 * `action.failed`, counted and listed by `warden holds list`.
 */
export async function idpStormsEntra(kind: StoreKind, options: { timeoutMs: number }): Promise<FaultResult> {
  const store = await FaultStore.create(kind, 'storms-entra');
  const clock = new SuiteClock();
  const world = await EntraWorld.create(store, clock, {
    outboxAttempts: ATTEMPTS,
    entraYaml: '      maxInlineRetrySeconds: 0\n      poller: { intervalSeconds: 10 }\n',
  });
  const { sim, admin, clientId, answeredAt } = world;
  let warden: WardenProcess | undefined;
  let ok = false;
  try {
    const globals = [1, 2, 3, 4].map((i) => world.globalAdmin(i));
    const doomed = globals[3]!;
    warden = await (await world.warden('serve')).start(START_TIMEOUT_MS, world.env());

    sim.faults.inject({ status: 503, count: 1_000_000, method: 'POST', path: new RegExp(`/users/${doomed.id}/revokeSignInSessions$`), retryAfterSeconds: 1 });
    sim.faults.inject({ status: 429, count: 2, retryAfterSeconds: 3 });
    sim.faults.inject({ status: 503, count: 2, path: /revokeSignInSessions$/, retryAfterSeconds: 2 });
    for (const g of globals) sim.act.registerPhone(admin.id, g.id, { phoneNumber: '+1 206 555 0100', phoneType: 'mobile' });

    const tally = await waitUntil(
      "the four phone registrations' actions (three each) executed or given up",
      options.timeoutMs,
      async () => {
        const t = tallyAudit(await store.audit(TENANT));
        return t.expectedActions.length >= globals.length * 3 && t.expectedActions.every((k) => t.executed.has(k) || t.failed.has(k)) ? t : undefined;
      },
      {
        intervalMs: 1000,
        describe: async () => {
          const t = tallyAudit(await store.audit(TENANT));
          return `${sim.faults.injected} faults answered, ${t.expectedActions.length} actions asked for, ${t.executed.size} executed, ${t.failed.size} failed`;
        },
      },
    );

    const problems: string[] = [];
    const decisions = (await store.audit(TENANT))
      .filter((r) => r.type === 'decision.recorded')
      .map((r) => r.data as { outcome: string; change: { kind: string; targetId: string; actorId: string; source: { rawType: string } } });
    const byType = new Map<string, number>();
    for (const d of decisions)
      byType.set(
        `${d.change.source.rawType} (${d.change.actorId === admin.id ? 'admin' : d.change.actorId}) → ${d.outcome}`,
        (byType.get(`${d.change.source.rawType} (${d.change.actorId === admin.id ? 'admin' : d.change.actorId}) → ${d.outcome}`) ?? 0) + 1,
      );
    const giveUp = tally.expectedActions.find((k) => k.startsWith(`${doomed.id} revoke_sessions `));
    if (!giveUp || !tally.failed.has(giveUp)) problems.push(`the doomed revoke_sessions was not given up: ${JSON.stringify([...tally.failed.keys()])}`);
    const otherFailed = [...tally.failed.keys()].filter((k) => k !== giveUp);
    if (otherFailed.length) problems.push(`other actions given up: ${otherFailed.join(', ')}`);
    const requests = sim.requests.filter((r) => r.appId === clientId || r.path.includes('/oauth2/'));
    const doomedCalls = sim.requests.filter((r) => r.method === 'POST' && r.path.endsWith(`/users/${doomed.id}/revokeSignInSessions`)).length;
    if (doomedCalls !== ATTEMPTS) problems.push(`the doomed call reached Graph ${doomedCalls} times, expected ${ATTEMPTS}`);
    // Retry-After honoured: the next request of the same method and path came at least that long after the answer.
    let hinted = 0;
    let minMargin: number | undefined;
    const all = sim.requests;
    all.forEach((r, i) => {
      if (r.status !== 429 && r.status !== 503) return;
      const rule = r.status === 429 ? 3 : r.path.endsWith(`/users/${doomed.id}/revokeSignInSessions`) ? 1 : 2;
      const next = all.slice(i + 1).find((n) => n.method === r.method && n.path === r.path);
      if (!next) return;
      hinted++;
      const margin = answeredAt.get(next)! - answeredAt.get(r)! - rule * 1000;
      minMargin = Math.min(minMargin ?? margin, margin);
      if (margin < 0) problems.push(`${r.method} ${r.path} retried ${-margin} ms before Retry-After`);
    });
    const metrics = await (await fetch(`${warden.url}/metrics`)).text();
    const failedCount = metrics
      .split('\n')
      .filter((l) => l.startsWith('warden_actions_total{') && l.includes('kind="revoke_sessions"') && l.includes('result="failed"'))
      .reduce((n, l) => n + Number(l.split(' ').pop()), 0);
    if (failedCount !== 1) problems.push(`warden_actions_total{kind="revoke_sessions",result="failed"} is ${failedCount}`);
    const holds = await world.cli(['holds', 'list', '--tenant', TENANT, '--json'], 'holds-list');
    const listed = JSON.parse(holds.stdout || '[]') as Array<{ id: string; failedActions: Array<{ kind: string; attempts: number }> }>;
    const shown = listed.find((d) => d.id === giveUp?.split(' ')[2])?.failedActions ?? [];
    if (shown.length !== 1 || shown[0]!.kind !== 'revoke_sessions' || shown[0]!.attempts !== ATTEMPTS)
      problems.push(`warden holds list (exit ${holds.code}): ${JSON.stringify(shown)}`);
    if (problems.length) throw new Error(`idp-storms-entra: ${problems.join(' | ')}`);

    const expectedOk = tally.expectedActions.filter((k) => k !== giveUp);
    const result: FaultResult = {
      name: 'idp-storms-entra',
      store: kind,
      sent: globals.length,
      acked: globals.length,
      decided: new Set(decisions.map((d) => d.change.targetId)).size,
      duplicated: globals.filter((g) => decisions.filter((d) => d.change.targetId === g.id).length > 1).length,
      lost: globals.filter((g) => !decisions.some((d) => d.change.targetId === g.id)).length + expectedOk.filter((k) => !tally.executed.has(k)).length,
      actions: tally.executed.size,
      doubleActions: [...tally.executed.values()].filter((n) => n > 1).length,
      auditOk: false,
      notes: [
        `decisions: ${[...byType].map(([k, n]) => `${n}× ${k}`).join('; ')}`,
        `${sim.faults.injected} Graph faults answered (429 Retry-After 3, 503 Retry-After 2, and the doomed call's 503s); ${hinted} retries after a Retry-After, each at least that long after the answer (earliest margin ${minMargin ?? '-'} ms); ${requests.length} Graph requests in all`,
        `give-up: revoke_sessions of ${doomed.userPrincipalName} tried ${doomedCalls} times, audited action.failed, counted (${failedCount}), listed by warden holds list`,
      ],
    };
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
