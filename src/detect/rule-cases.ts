import { z } from 'zod';
import { RequestSnapshot, RequestState } from '../core/change-request.js';
import { ChangeContext, ChangeInput, ChangeKind, Channel, completeChange, Factor, type IdentityChange } from '../core/identity-change.js';
import { uuidv7 } from '../core/ids.js';
import { DURATION_PATTERN, parseDuration } from '../core/policy/duration.js';
import { Tier } from '../core/tiers.js';
import { Severity, type Alert } from '../core/alert.js';
import type { CompiledRulePack } from './compile-rule-pack.js';
import { DetectionEngine, type ChangeFacts } from './detection-engine.js';
import { IdentityResolver, type IdentityConfig } from './identity-keys.js';
import { MemoryDetector } from './memory-detector.js';
import { RuleId } from './rule-pack-document.js';

/**
 * Rule test cases as data (`warden detect test`): a story of changes in
 * arrival order, each with its own event time, and the alerts wanted. The
 * shipped pack's cases live in src/detect/rules/cases/; a tenant keeps its
 * own next to its rule overrides.
 *
 * @example
 *   cases:
 *     - description: enrollment then help-desk password reset 40 minutes later
 *       events:
 *         - { id: enroll, at: 0m, kind: factor.enroll, target: alice@acme.example }
 *         - { id: reset, at: 40m, kind: password.reset, channel: helpdesk, target: alice@acme.example, actor: agent@acme.example }
 *       want:
 *         alerts:
 *           - { rules: [factor-change-and-password-reset], key: alice@acme.example, changes: [enroll, reset] }
 */

const Duration = z.string().regex(DURATION_PATTERN, 'a duration such as 30m, 1h');
const IsoTime = z.iso.datetime({ offset: true });
const EventName = z.string().regex(/^[A-Za-z0-9][A-Za-z0-9._-]{0,63}$/, 'event ids are letters, digits, ".", "_" or "-"');

/** A principal: a login (its id is the login too), or a full Principal / Actor. */
const Who = z.union([z.string().min(1), z.record(z.string(), z.unknown())]);

export const CaseEvent = z
  .object({
    id: EventName.describe('Name of the event in this case, used in `want`'),
    at: z
      .string()
      .regex(/^(?:[+-]?(?:\d+[smhd])+|\d{4}-\d\d-\d\dT.+)$/, 'a time: an offset from the case start such as 40m or -5m, or an ISO 8601 time')
      .describe('Event time (occurredAt): an offset from `start`, or an ISO time'),
    kind: ChangeKind,
    channel: Channel.default('self_service'),
    target: Who,
    actor: Who.optional().describe('Default: the target (a self-service change)'),
    factor: Factor.optional(),
    context: ChangeContext.optional(),
    source: z
      .string()
      .regex(/^[a-z][a-z0-9_-]{0,31}$/)
      .default('okta')
      .describe('The IdP: okta, entra, m365, …'),
    via: z
      .enum(['hook', 'poll', 'ssf', 'inline', 'api'])
      .default('poll')
      .describe(
        'How it reached Warden; with `source`, the stream whose own event time the change is late against (`okta` + `hook`: the event hook; `okta` + `poll`: the System Log poller)',
      ),
    tier: Tier.optional().describe("The target's tier as the tenant policy would classify it"),
    request: RequestState.optional().describe('A change request the workflow matched, in this state (approved, pending_approval, …)'),
  })
  .strict();
export type CaseEvent = z.infer<typeof CaseEvent>;

export const RepeatEvent = z.object({ repeat: EventName.describe('Deliver this earlier event again (a duplicate)') }).strict();

export const WantAlert = z
  .object({
    rules: z.array(RuleId).min(1).describe('Exactly the rules grouped in the alert, in any order'),
    key: z.string().optional(),
    changes: z.array(EventName).optional().describe('Exactly the events in the alert, in any order'),
    severity: Severity.optional(),
  })
  .strict();

export const RuleCase = z
  .object({
    description: z.string().min(1),
    start: IsoTime.optional(),
    events: z.array(z.union([RepeatEvent, CaseEvent])).min(1),
    after: Duration.optional().describe('After the last event, let this much event time pass (absence rules fall due)'),
    want: z.object({ alerts: z.array(WantAlert) }).strict(),
  })
  .strict();
export type RuleCase = z.infer<typeof RuleCase>;

export const RuleCaseFile = z
  .object({
    description: z.string().optional(),
    rules: z.string().optional().describe('Rule file or directory merged over the shipped pack, relative to this file'),
    start: IsoTime.optional().describe('Default start of every case'),
    allowedLateness: Duration.optional(),
    groupFor: Duration.optional(),
    identities: z
      .object({ domains: z.record(z.string(), z.string()).default({}), aliases: z.record(z.string(), z.array(z.string())).default({}) })
      .strict()
      .optional(),
    cases: z.array(RuleCase).min(1),
  })
  .strict();
export type RuleCaseFile = z.infer<typeof RuleCaseFile>;

export interface RuleCaseResult {
  description: string;
  passed: boolean;
  failures: string[];
  alerts: Alert[];
}

const DEFAULT_START = '2026-03-02T09:00:00Z';

function principal(who: z.infer<typeof Who>): Record<string, unknown> {
  return typeof who === 'string' ? { id: who, login: who } : who;
}

function eventTime(at: string, start: number): string {
  if (at.includes('T')) return new Date(at).toISOString();
  const sign = at.startsWith('-') ? -1 : 1;
  return new Date(start + sign * parseDuration(at.replace(/^[+-]/, '')) * 1000).toISOString();
}

/** The IdentityChange a case event stands for. */
export function caseChange(event: CaseEvent, tenant: string, start: number): IdentityChange {
  const occurredAt = eventTime(event.at, start);
  const input = ChangeInput.parse({
    kind: event.kind,
    channel: event.channel,
    target: principal(event.target),
    actor: principal(event.actor ?? event.target),
    ...(event.factor ? { factor: event.factor } : {}),
    ...(event.context ? { context: event.context } : {}),
    occurredAt,
    observedAt: occurredAt,
    source: { idp: event.source, eventIds: [event.id], rawType: `case.${event.kind}`, via: event.via },
  });
  return completeChange({ ...input, id: uuidv7(Date.parse(occurredAt)) }, tenant);
}

function factsOf(event: CaseEvent, change: IdentityChange): ChangeFacts {
  const facts: ChangeFacts = {};
  if (event.tier) facts.tier = event.tier;
  if (event.request)
    facts.request = RequestSnapshot.parse({
      id: `req-${event.id}`,
      tenant: change.tenant,
      state: event.request,
      kind: change.kind,
      targetId: change.target.id,
      requesterId: 'case-requester',
      executorId: change.actor.id,
    });
  return facts;
}

const sorted = (xs: readonly string[]) => [...xs].sort();
const same = (a: readonly string[], b: readonly string[]) => sorted(a).join('\n') === sorted(b).join('\n');

/** Settings a case file gives the detector. */
export interface CaseSettings {
  latenessMs: number;
  groupForMs: number;
  identities: IdentityConfig;
  start?: string;
}

/**
 * Runs one case: pushes its events through a fresh in-memory detector in
 * order, lets `after` pass, and compares the alerts with `want` (the same
 * number of alerts, each with exactly the wanted rules, key, events and
 * severity, in any order).
 */
export function runRuleCase(pack: CompiledRulePack, settings: CaseSettings, c: RuleCase): RuleCaseResult {
  const tenant = 'cases';
  const start = Date.parse(c.start ?? settings.start ?? DEFAULT_START);
  const detector = new MemoryDetector(new DetectionEngine(pack, new IdentityResolver(settings.identities)), {
    tenant,
    latenessMs: settings.latenessMs,
    groupForMs: settings.groupForMs,
  });
  const failures: string[] = [];
  const byName = new Map<string, { change: IdentityChange; facts: ChangeFacts }>();
  const nameOf = new Map<string, string>();
  for (const event of c.events) {
    if ('repeat' in event) {
      const earlier = byName.get(event.repeat);
      if (!earlier) {
        failures.push(`repeat: no earlier event "${event.repeat}"`);
        continue;
      }
      detector.push(earlier.change, earlier.facts);
      continue;
    }
    if (byName.has(event.id)) failures.push(`event id "${event.id}" is used twice (use { repeat: ${event.id} } for a duplicate)`);
    const change = caseChange(event, tenant, start);
    const facts = factsOf(event, change);
    byName.set(event.id, { change, facts });
    nameOf.set(change.id, event.id);
    detector.push(change, facts);
  }
  if (c.after) detector.advanceTo(detector.newest + parseDuration(c.after) * 1000);
  for (const e of detector.errorSamples) failures.push(`rule ${e.rule}: ${e.what} could not be evaluated: ${e.error}`);

  const got = detector.alerts.map((a) => ({
    alert: a,
    rules: [...new Set(a.matches.map((m) => m.rule))],
    changes: a.changes.map((ch) => nameOf.get(ch.id) ?? ch.id),
  }));
  const unmatched = [...got];
  for (const want of c.want.alerts) {
    const i = unmatched.findIndex(
      (g) =>
        same(g.rules, want.rules) &&
        (want.key === undefined || g.alert.key === want.key) &&
        (want.changes === undefined || same(g.changes, want.changes)) &&
        (want.severity === undefined || g.alert.severity === want.severity),
    );
    if (i >= 0) unmatched.splice(i, 1);
    else
      failures.push(
        `missing alert: rules [${want.rules.join(', ')}]${want.key ? ` on ${want.key}` : ''}${want.changes ? ` with [${want.changes.join(', ')}]` : ''}${want.severity ? ` (${want.severity})` : ''}`,
      );
  }
  for (const g of unmatched)
    failures.push(`unexpected alert: rules [${g.rules.join(', ')}] on ${g.alert.key} with [${g.changes.join(', ')}] (${g.alert.severity})`);
  return { description: c.description, passed: failures.length === 0, failures, alerts: detector.alerts };
}
