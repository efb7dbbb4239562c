import { randomUUID } from 'node:crypto';
import { readFileSync } from 'node:fs';
import path from 'node:path';
import type { LogEventSim } from '../../../connectors/okta/simulator/okta-simulator.js';
import { canonicalLogEvent } from '../../../connectors/okta/log-event.js';
import { waitUntil } from '../harness/deadline.js';
import type { FaultResult } from '../harness/fault-result.js';
import { FaultStore, type StoreKind } from '../harness/fault-store.js';
import { oktaDelivery, sendDeliveries } from '../harness/okta-deliveries.js';
import { HOOK_PATH, HOOK_SECRET, OktaWorld, TENANT, tallyAudit } from '../harness/okta-world.js';
import { SuiteClock } from '../harness/suite-clock.js';
import { ROOT, START_TIMEOUT_MS, type WardenProcess } from '../harness/warden-process.js';

/** Attempts the inbox makes before giving up, in this scenario (`retries.inbox`). */
export const POISON_INBOX_ATTEMPTS = 3;

/**
 * The poison record: Okta's `user.mfa.factor.reset_all` LogEvent from the
 * Panther corpus fixture (put back into Okta's key spelling, as the API sends
 * it), with a fresh `uuid` and `published` on the suite clock, and its
 * `target` array turned into its one element. The hook receiver's envelope
 * check (uuid, eventType, published) takes it; the normalizer throws on it
 * (`event.target?.find is not a function`). Found by reading the normalizer:
 * every other field it reads is type-checked, so only a record outside Okta's
 * schema (an array that is not one, or a non-string `actor.type` /
 * `alternateId`) makes it throw.
 */
export function throwingRecord(published: string): LogEventSim {
  const file = path.join(ROOT, 'test/fixtures/corpus/panther-okta/Okta.User.MFA.Reset.All.json');
  const log = (JSON.parse(readFileSync(file, 'utf8')) as Array<{ log: Record<string, unknown> }>)[0]!.log;
  const event = canonicalLogEvent(log) as Record<string, unknown>;
  event.uuid = randomUUID();
  event.published = published;
  event.target = (event.target as unknown[])[0];
  return event as unknown as LogEventSim;
}

/**
 * Poison: a record whose normalizer throws arrives in one hook delivery, a
 * genuine help-desk reset in the next. The poison is acknowledged (stored),
 * tried `retries.inbox` times, then marked failed — audited `inbox.failed`,
 * counted in `warden_inbox_entries_total{result="failed"}`, listed by
 * `warden inbox list --state failed` — and the genuine reset is decided
 * (and contained) before the poison is given up: it never blocks the queue.
 */
export async function poisonThrows(kind: StoreKind, options: { timeoutMs: number }): Promise<FaultResult> {
  const store = await FaultStore.create(kind, 'poison-throws');
  const clock = new SuiteClock();
  const world = await OktaWorld.create(store, clock, { retries: { inbox: POISON_INBOX_ATTEMPTS } });
  let warden: WardenProcess | undefined;
  let ok = false;
  try {
    warden = await (await world.warden('serve')).start(START_TIMEOUT_MS, world.env(clock));
    const w = warden;
    const source = `${world.sim.url}/api/v1/eventHooks/whofaults`;
    const poison = oktaDelivery(throwingRecord(clock.now().toISOString()), source);
    const genuine = oktaDelivery(world.helpDeskReset(world.employee(1)), source);
    const deliveries = [poison, genuine];
    await sendDeliveries(
      deliveries,
      { url: () => w.url, secret: HOOK_SECRET, ready: () => Promise.resolve() },
      { concurrency: 1, timeoutMs: 30_000, path: HOOK_PATH },
    );

    const records = await waitUntil(
      'the genuine reset decided and contained, and the poison given up',
      options.timeoutMs,
      async () => {
        const audit = await store.audit(TENANT);
        const t = tallyAudit(audit);
        const failed = audit.some((r) => r.type === 'inbox.failed' && r.subject.eventId === poison.event.uuid);
        return failed && t.decisionsPerEvent.has(genuine.event.uuid) && t.expectedActions.every((k) => t.executed.has(k) || t.failed.has(k))
          ? audit
          : undefined;
      },
      { intervalMs: 1000 },
    );
    const tally = tallyAudit(records);
    const problems: string[] = [];
    const failedRecords = records.filter((r) => r.type === 'inbox.failed');
    const giveUp = failedRecords.find((r) => r.subject.eventId === poison.event.uuid)!;
    if (failedRecords.length !== 1) problems.push(`${failedRecords.length} inbox.failed records, expected 1`);
    if (giveUp.data.attempts !== POISON_INBOX_ATTEMPTS)
      problems.push(`given up after ${String(giveUp.data.attempts)} attempts, expected ${POISON_INBOX_ATTEMPTS}`);
    const decisionAt = records.findIndex(
      (r) => r.type === 'decision.recorded' && (r.data.change as { source: { eventIds: string[] } }).source.eventIds.includes(genuine.event.uuid),
    );
    if (decisionAt > records.indexOf(giveUp)) problems.push('the genuine reset was decided only after the poison was given up');
    if (tally.decisionsPerEvent.has(poison.event.uuid)) problems.push('the poison record was decided');

    const metrics = await (await fetch(`${w.url}/metrics`)).text();
    const inboxCount = (result: string) =>
      metrics
        .split('\n')
        .filter((l) => l.startsWith('warden_inbox_entries_total{') && l.includes('source="okta"') && l.includes(`result="${result}"`))
        .reduce((n, l) => n + Number(l.split(' ').pop()), 0);
    if (inboxCount('failed') !== 1) problems.push(`warden_inbox_entries_total{result="failed"} is ${inboxCount('failed')}, expected 1`);
    if (inboxCount('retried') !== POISON_INBOX_ATTEMPTS - 1)
      problems.push(`warden_inbox_entries_total{result="retried"} is ${inboxCount('retried')}, expected ${POISON_INBOX_ATTEMPTS - 1}`);

    const listed = await world.cli(['inbox', 'list', '--tenant', TENANT, '--state', 'failed', '--json'], clock, 'inbox-list');
    const entries = JSON.parse(listed.stdout || '[]') as Array<{ eventId: string; attempts: number; error?: string | null }>;
    const entry = entries.find((e) => e.eventId === poison.event.uuid);
    if (listed.code !== 0 || entries.length !== 1 || !entry || entry.attempts !== POISON_INBOX_ATTEMPTS)
      problems.push(`warden inbox list --state failed (exit ${listed.code}): ${JSON.stringify(entries)}`);
    if (problems.length) throw new Error(`poison-throws: ${problems.join(' | ')}`);

    const lostActions = tally.expectedActions.filter((k) => !tally.executed.has(k)).length;
    const result: FaultResult = {
      name: 'poison-throws',
      store: kind,
      sent: deliveries.length,
      acked: deliveries.filter((d) => d.acked).length,
      decided: deliveries.filter((d) => tally.decisionsPerEvent.has(d.event.uuid)).length,
      duplicated: deliveries.filter((d) => (tally.decisionsPerEvent.get(d.event.uuid) ?? 0) > 1).length,
      // The poison is accounted for (failed, audited, listed); lost is an acknowledged genuine event never decided, or an action never executed.
      lost: (genuine.acked && !tally.decisionsPerEvent.has(genuine.event.uuid) ? 1 : 0) + (poison.acked ? 0 : 1) + lostActions,
      actions: tally.executed.size,
      doubleActions: [...tally.executed.values()].filter((n) => n > 1).length + [...world.holdGroupAdds().values()].filter((n) => n > 1).length,
      auditOk: false,
      notes: [
        `the poison (normalizer: ${String(giveUp.data.error)}) failed after ${String(giveUp.data.attempts)} attempts, audited inbox.failed, counted (retried ${inboxCount('retried')}, failed ${inboxCount('failed')}), listed by warden inbox list --state failed; the reset after it was decided first`,
      ],
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
