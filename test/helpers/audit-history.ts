import { Registry } from 'prom-client';
import type { ResolvedDetection } from '../../src/config/load-config.js';
import type { ChangeKind } from '../../src/core/identity-change.js';
import { closeAlertIn } from '../../src/requests/close-alert.js';
import { DetectionRegistry } from '../../src/detect/detection-registry.js';
import { StoreDetector } from '../../src/detect/store-detector.js';
import { decideChange } from '../../src/engine/decide-change.js';
import type { Store } from '../../src/store/store.js';
import { makeChange } from './changes.js';
import { examplePolicy } from './policies.js';

const MIN = 60_000;
const HOUR = 60 * MIN;
const DETECTION: ResolvedDetection = {
  enabled: true,
  allowedLatenessMs: 30 * MIN,
  sourceIdleAfterMs: 3 * HOUR,
  groupForMs: 24 * HOUR,
  inPolicyForMs: 7 * 24 * HOUR,
  identities: { domains: {}, aliases: {} },
};

/** The kinds `seedAuditHistory` decides, in order, and who they are about. */
export const SEEDED_CHANGES: Array<{ kind: ChangeKind; channel: 'helpdesk' | 'self_service' | 'admin'; target: string }> = [
  { kind: 'password.change', channel: 'self_service', target: 'bo' },
  { kind: 'factor.enroll', channel: 'self_service', target: 'eve' },
  { kind: 'password.reset', channel: 'self_service', target: 'eve' }, // completes factor-change-and-password-reset
  { kind: 'factor.remove', channel: 'self_service', target: 'cy' },
  { kind: 'factor.reset_all', channel: 'helpdesk', target: 'alice' },
  { kind: 'account.suspend', channel: 'admin', target: 'dan' },
  { kind: 'tap.issue', channel: 'admin', target: 'fay' },
  { kind: 'factor.enroll', channel: 'self_service', target: 'eve' },
  { kind: 'password.reset', channel: 'self_service', target: 'eve' }, // matches again: grouped into the open alert
];

/**
 * A tenant history made by Warden's own code, not by hand: decisions on
 * observed changes of several kinds (the example policy), an alert raised by
 * the shipped detection rules, grouped, and closed. Every record is on the
 * tenant's hash chain.
 */
export async function seedAuditHistory(store: Store, tenant: string, startIso = '2026-03-02T09:00:00Z'): Promise<{ alertId: string }> {
  await store.ensureTenants([tenant]);
  const t0 = Date.parse(startIso);
  const detector = new StoreDetector(new DetectionRegistry([{ id: tenant, detection: DETECTION }]), { registry: new Registry() });
  let now = new Date(t0);
  let alertId = '';
  for (const [i, c] of SEEDED_CHANGES.entries()) {
    const occurredAt = new Date(t0 + i * 10 * MIN).toISOString();
    now = new Date(t0 + i * 10 * MIN + MIN);
    const change = makeChange({
      tenant,
      kind: c.kind,
      channel: c.channel,
      occurredAt,
      observedAt: occurredAt,
      target: { id: `00u-${c.target}`, login: `${c.target}@acme.example` },
      actor:
        c.channel === 'self_service'
          ? { id: `00u-${c.target}`, login: `${c.target}@acme.example` }
          : { id: '00u-agent', login: '=HYPERLINK("http://x")@acme.example' },
      source: { idp: 'okta', eventIds: [`evt-${i}`], rawType: 'x', via: 'poll' },
    });
    const at = now;
    const r = await decideChange(
      { store, policies: { get: examplePolicy }, clock: () => at, detection: detector },
      { change, actor: { type: 'idp', id: 'okta' }, observed: true },
    );
    for (const a of r.alerts) if (a.rule === 'factor-change-and-password-reset') alertId = a.id;
  }
  if (!alertId) throw new Error('seedAuditHistory: factor-change-and-password-reset was not raised');
  await store.transaction((tx) =>
    closeAlertIn(
      tx,
      { endpointsFor: () => [] },
      { tenant, id: alertId!, actor: { type: 'cli', id: 'ops' }, reason: 'reviewed: user confirmed', now: new Date(now.getTime() + HOUR) },
    ),
  );
  return { alertId };
}
