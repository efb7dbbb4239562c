import { randomUUID } from 'node:crypto';
import { waitUntil } from '../harness/deadline.js';
import type { FaultResult } from '../harness/fault-result.js';
import { FaultStore, type StoreKind } from '../harness/fault-store.js';
import { sendDeliveries, type Delivery } from '../harness/okta-deliveries.js';
import { HOOK_PATH, HOOK_SECRET, OktaWorld, TENANT, tallyAudit } from '../harness/okta-world.js';
import { SuiteClock } from '../harness/suite-clock.js';
import { START_TIMEOUT_MS, type WardenProcess } from '../harness/warden-process.js';
import { countKillResult } from './kill-under-load.js';

/**
 * Poison record: a LogEvent holding `\u0000` (which PostgreSQL refuses in
 * text and jsonb) arrives in one hook delivery with a genuine event, and the
 * System Log poller reads both on one page. The delivery must be
 * acknowledged, both events decided once, and the poller must go on polling
 * (its page and cursor not stuck on the record).
 */
export async function poisonNul(kind: StoreKind, options: { timeoutMs: number }): Promise<FaultResult> {
  const store = await FaultStore.create(kind, 'poison');
  const clock = new SuiteClock();
  const world = await OktaWorld.create(store, clock, { poller: true });
  let warden: WardenProcess | undefined;
  let ok = false;
  try {
    warden = await (await world.warden('serve')).start(START_TIMEOUT_MS, world.env(clock));
    const w = warden;
    const victim = world.employee(1);
    const bystander = world.employee(2);
    const poison = world.helpDeskReset(victim);
    // The help desk agent's display name as the event carries it, with a NUL in it (the sim's log holds the same object: the poller reads it too).
    (poison.actor as { displayName: string }).displayName = 'Hal\u0000Desk';
    const genuine = world.selfPasswordReset(bystander);
    const body = JSON.stringify({
      eventType: 'com.okta.event_hook',
      eventTypeVersion: '1.0',
      cloudEventsVersion: '0.1',
      source: `${world.sim.url}/api/v1/eventHooks/whofaults`,
      eventId: randomUUID(),
      eventTime: genuine.published,
      contentType: 'application/json',
      data: { events: [poison, genuine] },
    });
    const delivery: Delivery = { event: poison, body, attempts: 0, acked: false, answers: [] };
    await sendDeliveries(
      [delivery],
      { url: () => w.url, secret: HOOK_SECRET, ready: () => Promise.resolve() },
      { concurrency: 1, timeoutMs: 30_000, path: HOOK_PATH },
    );
    if (!delivery.acked) throw new Error(`the batch with the poison record was not acknowledged: ${delivery.answers.join(', ')}`);

    const pollsBefore = world.proxy.requests.filter((r) => r.method === 'GET' && r.path === '/api/v1/logs').length;
    const tally = await waitUntil(
      'both events decided, their actions settled, and two more System Log polls after them',
      options.timeoutMs,
      async () => {
        const t = tallyAudit(await store.audit(TENANT));
        const polls = world.proxy.requests.filter((r) => r.method === 'GET' && r.path === '/api/v1/logs' && r.end !== undefined).length;
        return t.decisionsPerEvent.has(poison.uuid) &&
          t.decisionsPerEvent.has(genuine.uuid) &&
          t.expectedActions.every((k) => t.executed.has(k) || t.failed.has(k)) &&
          polls >= pollsBefore + 2
          ? t
          : undefined;
      },
      { intervalMs: 1000 },
    );
    const second: Delivery = { event: genuine, body, attempts: 1, acked: true, answers: [200] };
    const result = countKillResult('poison-nul', kind, [delivery, second], tally, world);
    result.sent = 1;
    result.acked = 1;
    result.notes = [
      `one delivery of two events, one holding U+0000: acknowledged, both decided once, the poller polled on (${world.proxy.requests.filter((r) => r.path === '/api/v1/logs').length} polls)`,
    ];
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
